/**
 * The tables of an `/api/analyze` answer built from one forward pass's raw outputs — attention maps, entropy,
 * hidden-state norms, the model's output — whoever ran it: our engine or ONNX Runtime on the server
 * (`../analyze.ts`), or onnxruntime-web in the page (`browser_compute.ts`). Plain arrays in, plain JSON out,
 * so that the page bundles it without the engine and draws an in-browser result with the same numbers (it
 * lives in `page/` so that `assets_test.ts` sees when the bundle needs rebuilding).
 *
 * @module
 */

import { attentionEntropyOfProbs } from "@bertology/core/bertology";

/** What the tables need to know of the model (the page has it from `/api/model`). */
export interface AnalysisShape {
  /** Number of blocks. */
  layers: number;
  /** Heads per layer before pruning. */
  heads: number;
  /** Pruned heads per layer, original numbering. */
  prunedHeads: readonly (readonly number[])[];
  /** d_model. */
  hidden: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** The output's kind: `classify`, `regress`, `lm` (next-token) … (`TaskKind`). */
  task: string;
  /** Class names (classifiers). */
  labels: readonly string[];
}

/** One row's forward outputs, as the graph or the engine gives them. */
export interface AnalysisForward {
  /** Layer `l`'s attention probabilities, [kept heads, T, T] (heads in original order, pruned ones absent). */
  pattern(layer: number): Float32Array;
  /** Hidden state `i` (0 = embeddings … layers), [T, hidden]. */
  hidden(index: number): Float32Array;
  /** The output head's logits ([labels], [1] for a regressor, [T, vocab] for a language model), if any. */
  logits?: Float32Array | undefined;
  /** Summed attention entropy over the T query tokens, [layers × heads] (pruned heads 0). */
  entropySums: ArrayLike<number>;
}

/** A label and its probability. */
export interface LabelProbability {
  /** The class name. */
  label: string;
  /** Its softmax probability, 4 decimals. */
  probability: number;
}

/** A next-token candidate (GPT language models). */
export interface TokenProbability {
  /** Vocabulary id. */
  id: number;
  /** The token's text. */
  token: string;
  /** Its probability, 4 decimals. */
  probability: number;
}

/** The tables {@linkcode analysisTables} builds. */
export interface AnalysisTables {
  /** [layers.length][heads.length][query][key], 4 decimals; `null` for a pruned head. */
  attention: (number[][] | null)[][];
  /** Mean attention entropy (nats) per query token, [all layers][all heads]; `null` for a pruned head. */
  entropy: (number | null)[][];
  /** L2 norm of each token's hidden state, [layers + 1][tokens]. */
  hidden_norms: number[][];
  /** Classifier logits, or a regressor's value, else `null`. */
  logits: number[] | null;
  /** Classifiers: softmax of `logits` with label names, else `null`. */
  probabilities: LabelProbability[] | null;
  /** Language models: the 10 likeliest tokens after the last one, else `null`. */
  next_token: TokenProbability[] | null;
}

/**
 * Rounds to 4 decimals (the precision of the answer's maps).
 *
 * @param x the value
 * @returns it, rounded
 * @example Usage
 * ```ts
 * import { round4 } from "./analysis_tables.ts";
 * round4(0.123456); // 0.1235
 * ```
 */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/**
 * The heads a layer keeps, in original numbering (what the pattern's head axis holds).
 *
 * @param shape the model
 * @param layer the layer
 * @returns the kept heads, ascending
 * @example Usage
 * ```ts
 * import { keptHeadsOf } from "./analysis_tables.ts";
 * keptHeadsOf({ heads: 4, prunedHeads: [[1, 2]] }, 0); // [0, 3]
 * ```
 */
export function keptHeadsOf(shape: Pick<AnalysisShape, "heads" | "prunedHeads">, layer: number): number[] {
  const pruned = new Set(shape.prunedHeads[layer] ?? []);
  return Array.from({ length: shape.heads }, (_, h) => h).filter((h) => !pruned.has(h));
}

/**
 * Summed attention entropy per head over a row's query tokens, from each layer's attention probabilities
 * (what our engine's entropy observer sums during the pass).
 *
 * @param shape the model
 * @param tokens T
 * @param pattern layer → [kept heads, T, T]
 * @returns [layers × heads], pruned heads 0
 * @example Usage
 * ```ts
 * import { entropySumsOfPatterns } from "./analysis_tables.ts";
 * const uniform = new Float32Array(4).fill(0.5); // one head, T = 2
 * entropySumsOfPatterns({ layers: 1, heads: 1, prunedHeads: [[]] }, 2, () => uniform)[0]!.toFixed(4); // "1.3863"
 * ```
 */
export function entropySumsOfPatterns(
  shape: Pick<AnalysisShape, "layers" | "heads" | "prunedHeads">,
  tokens: number,
  pattern: (layer: number) => Float32Array,
): Float64Array {
  const sums = new Float64Array(shape.layers * shape.heads);
  for (let l = 0; l < shape.layers; l++) {
    const kept = keptHeadsOf(shape, l);
    const perHead = attentionEntropyOfProbs({ shape: [1, kept.length, tokens, tokens], data: pattern(l) });
    kept.forEach((h, i) => (sums[l * shape.heads + h] = Math.fround(perHead[i]!)));
  }
  return sums;
}

/**
 * Builds the attention, entropy, hidden-norm and output tables of one row.
 *
 * @param shape the model
 * @param tokens T
 * @param layers the layers whose maps to return
 * @param heads the heads (original numbering) whose maps to return
 * @param forward the pass's outputs
 * @param idToToken a vocabulary id's text (for a language model's next tokens)
 * @returns the tables
 * @example Usage
 * ```ts ignore
 * const t = analysisTables(shape, T, [0], [0, 1], forward, (id) => tokenizer.idToToken(id));
 * ```
 */
export function analysisTables(
  shape: AnalysisShape,
  tokens: number,
  layers: readonly number[],
  heads: readonly number[],
  forward: AnalysisForward,
  idToToken: (id: number) => string,
): AnalysisTables {
  const T = tokens;
  const attention = layers.map((l) => {
    const p = forward.pattern(l);
    const kept = keptHeadsOf(shape, l);
    return heads.map((h) => {
      const k = kept.indexOf(h);
      if (k < 0) return null;
      const rows: number[][] = [];
      for (let q = 0; q < T; q++) {
        const at = (k * T + q) * T;
        rows.push(Array.from(p.subarray(at, at + T), round4));
      }
      return rows;
    });
  });
  const entropy = Array.from({ length: shape.layers }, (_, l) => {
    const pruned = new Set(shape.prunedHeads[l]);
    return Array.from(
      { length: shape.heads },
      (_, h) => pruned.has(h) ? null : round4(forward.entropySums[l * shape.heads + h]! / T),
    );
  });
  const d = shape.hidden;
  const hiddenNorms = Array.from({ length: shape.layers + 1 }, (_, i) => {
    const t = forward.hidden(i);
    return Array.from({ length: T }, (_, q) => {
      let s = 0;
      for (const v of t.subarray(q * d, (q + 1) * d)) s += v * v;
      return round4(Math.sqrt(s));
    });
  });
  let logits: number[] | null = null;
  let probabilities: LabelProbability[] | null = null;
  let nextToken: TokenProbability[] | null = null;
  const out = forward.logits;
  if (out && shape.task !== "lm") {
    logits = Array.from(out, round4);
    if (shape.task === "classify") {
      const probs = softmax(out);
      probabilities = shape.labels.map((label, i) => ({ label, probability: round4(probs[i]!) }));
    }
  } else if (out) {
    const V = shape.vocabSize;
    const probs = softmax(out.subarray((T - 1) * V, T * V));
    const top = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, 10);
    nextToken = top.map((id) => ({ id, token: idToToken(id), probability: round4(probs[id]!) }));
  }
  return { attention, entropy, hidden_norms: hiddenNorms, logits, probabilities, next_token: nextToken };
}

/** Softmax in float64. */
function softmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += out[i] = Math.exp(x[i]! - max);
  for (let i = 0; i < x.length; i++) out[i]! /= sum;
  return out;
}
