/**
 * The logit lens (nostalgebraist 2020): a language model's own readout — final LayerNorm and unembedding,
 * `model.unembed` — applied to the residual stream after every layer, read as next-token predictions. Per
 * layer and position: the top-k tokens with their probabilities, and the rank and probability of a target
 * token (by default the next input token, and at the last position the model's own prediction). The last
 * layer's lens is the model's output.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import type { TransformerModel } from "../models/model.ts";
import { type AttributionInput, repeatedBatch } from "./input.ts";

/** Options of {@linkcode logitLens}. */
export interface LogitLensOptions {
  /** Tokens listed per layer and position (default 5). */
  topK?: number;
  /** One target token id per position; default the next input token, and the model's top prediction last. */
  targets?: readonly number[];
}

/** The logit lens of one sequence: rows are the embeddings (`embed`) and each layer's output (`0` … `L−1`). */
export interface LogitLens {
  /** Row labels: `embed`, then each block's index. */
  layers: string[];
  /** The target token id per position. */
  targets: Int32Array;
  /** [layers + 1, T, k] top token ids, best first. */
  topIds: Int32Array;
  /** [layers + 1, T, k] their probabilities. */
  topProbs: Float32Array;
  /** [layers + 1, T] the rank of the target (0 = top). */
  ranks: Int32Array;
  /** [layers + 1, T] the target's probability. */
  targetProbs: Float32Array;
  /** k. */
  topK: number;
  /** The model's own next-token logits at the last position (the last layer's lens there). */
  finalLogits: Float32Array;
}

/**
 * The logit lens of a language model on one sequence.
 *
 * @param model a language model (`model.task === "lm"`)
 * @param input the tokenised sequence
 * @param opts k and the targets
 * @throws {Error} for a model without an unembedding, a bad k, or targets of the wrong length or range
 * @example Usage
 * ```ts
 * import { logitLens } from "./logit_lens.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const lens = logitLens(model, { inputIds: [27, 70, 82] }, { topK: 3 });
 * lens.layers; // ["embed", "0", "1", "2"]
 * ```
 */
export function logitLens(model: TransformerModel, input: AttributionInput, opts: LogitLensOptions = {}): LogitLens {
  const c = model.config;
  if (model.task !== "lm") {
    throw new Error(
      `The logit lens is for language models; this ${model.family.displayName} model is a ${model.task} model`,
    );
  }
  const k = opts.topK ?? 5;
  if (!Number.isInteger(k) || k < 1 || k > c.vocabSize) {
    throw new Error(`topK must be an integer in 1..${c.vocabSize}, got ${k}`);
  }
  const T = input.inputIds.length;
  if (opts.targets !== undefined && opts.targets.length !== T) {
    throw new Error(`targets has ${opts.targets.length} values for ${T} tokens`);
  }
  const names = [hookName("resid_pre", 0), ...Array.from({ length: c.layers }, (_, l) => hookName("resid_post", l))];
  const { cache } = model.run({ batch: repeatedBatch(input), names });
  const V = c.vocabSize, R = names.length;
  const lens = names.map((n) => model.unembed(cache.get(n)!).data); // each [1, T, V]
  const finalLogits = lens[R - 1]!.slice((T - 1) * V, T * V);

  const targets = Int32Array.from({ length: T }, (_, t) => {
    const v = opts.targets?.[t] ?? (t + 1 < T ? input.inputIds[t + 1]! : argmaxOf(finalLogits));
    if (!Number.isInteger(v) || v < 0 || v >= V) throw new Error(`targets[${t}] = ${v} is outside the vocabulary`);
    return v;
  });
  const topIds = new Int32Array(R * T * k), topProbs = new Float32Array(R * T * k);
  const ranks = new Int32Array(R * T), targetProbs = new Float32Array(R * T);
  lens.forEach((logits, r) => {
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, row[v]!);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(row[v]! - max);
      const target = targets[t]!, tl = row[target]!;
      let rank = 0;
      for (let v = 0; v < V; v++) if (row[v]! > tl) rank++;
      ranks[r * T + t] = rank;
      targetProbs[r * T + t] = Math.exp(tl - max) / z;
      topK(row, k).forEach((v, i) => {
        topIds[(r * T + t) * k + i] = v;
        topProbs[(r * T + t) * k + i] = Math.exp(row[v]! - max) / z;
      });
    }
  });
  return {
    layers: ["embed", ...Array.from({ length: c.layers }, (_, l) => String(l))],
    targets,
    topIds,
    topProbs,
    ranks,
    targetProbs,
    topK: k,
    finalLogits,
  };
}

/** The indices of the k largest values, largest first (lower index first on ties). */
function topK(row: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < row.length; v++) {
    if (best.length === k && row[v]! <= row[best[k - 1]!]!) continue;
    let i = best.length < k ? best.length : k - 1;
    best[i] = v;
    while (i > 0 && row[best[i - 1]!]! < row[v]!) {
      best[i] = best[i - 1]!;
      best[--i] = v;
    }
  }
  return best;
}

function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
}
