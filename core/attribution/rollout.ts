/**
 * Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): each layer's
 * attention averaged over a set of heads, Ā, mixed with the residual connection and row-normalised,
 * Â = norm(0.5·Ā + 0.5·I), and multiplied through the layers, R = Â_L ··· Â_1. Row i of R says how much
 * of position i's output representation comes from each input token. `attentionFlow` (`flow.ts`) takes the
 * same per-layer graphs.
 *
 * @module
 */

import { hookName } from "../hooks.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { type AttributionInput, outputPosition, repeatedBatch } from "./input.ts";

/** Options of {@linkcode attentionRollout} and `attentionFlow`. */
export interface AttentionGraphOptions {
  /**
   * The heads averaged in each layer, original numbering (e.g. the unmasked ones); default every head the
   * layer has. A layer with none contributes the identity (only the residual connection).
   */
  heads?: readonly (readonly number[])[];
}

/**
 * Each layer's residual-augmented attention Â_l = norm(0.5·Ā_l + 0.5·I) [T, T] (row = query, column = key) of
 * one sequence, Ā_l the mean of `hook_pattern` over the chosen heads.
 *
 * @param model the model
 * @param input the tokenised sequence
 * @param opts the heads averaged
 * @throws {Error} naming the layer, for a head set of the wrong length or a head the layer does not have
 * @example Usage
 * ```ts
 * import { residualAttention } from "./rollout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * residualAttention(model, { inputIds: [2, 45, 3] }).length; // one [3, 3] matrix per layer
 * ```
 */
export function residualAttention(
  model: TransformerModel,
  input: AttributionInput,
  opts: AttentionGraphOptions = {},
): Float32Array[] {
  const c = model.config, T = input.inputIds.length;
  if (opts.heads !== undefined && opts.heads.length !== c.layers) {
    throw new Error(`heads has ${opts.heads.length} layers; the model has ${c.layers}`);
  }
  const names = Array.from({ length: c.layers }, (_, l) => hookName("pattern", l));
  const { cache } = model.run({ batch: repeatedBatch(input), names });
  return names.map((name, l) => {
    const kept = keptHeads(c, l);
    const chosen = opts.heads?.[l] ?? kept;
    const index = chosen.map((h) => {
      const i = kept.indexOf(h);
      if (i < 0) {
        throw new Error(`heads[${l}] names head ${h}, which layer ${l} does not have (kept: ${kept.join(", ")})`);
      }
      return i;
    });
    const p = cache.get(name)!.data; // [1, H_l, T, T]
    const mean = new Float32Array(T * T);
    for (const i of index) for (let j = 0; j < T * T; j++) mean[j]! += p[i * T * T + j]! / index.length;
    return mixResidual(mean, T);
  });
}

/**
 * norm(0.5·A + 0.5·I): the attention of a layer mixed with its residual connection, each row scaled to sum 1.
 *
 * @param attention [T, T] row-major, rows = queries
 * @param T sequence length
 * @example Usage
 * ```ts
 * import { mixResidual } from "./rollout.ts";
 * mixResidual(Float32Array.from([0, 1, 0, 1]), 2); // [0.5, 0.5, 0, 1]
 * ```
 */
export function mixResidual(attention: Float32Array, T: number): Float32Array {
  const out = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    let sum = 0;
    for (let j = 0; j < T; j++) {
      const v = 0.5 * attention[i * T + j]! + (i === j ? 0.5 : 0);
      out[i * T + j] = v;
      sum += v;
    }
    for (let j = 0; j < T; j++) out[i * T + j]! /= sum;
  }
  return out;
}

/**
 * The product Â_L ··· Â_1 of per-layer [T, T] matrices (first layer first in `layers`).
 *
 * @param layers per-layer matrices, row-major
 * @param T sequence length
 * @throws {Error} for a matrix that is not [T, T]
 * @example Usage
 * ```ts
 * import { rollout } from "./rollout.ts";
 * rollout([Float32Array.from([1, 0, 0, 1])], 2); // the identity
 * ```
 */
export function rollout(layers: readonly Float32Array[], T: number): Float32Array {
  let r = new Float64Array(T * T);
  for (let i = 0; i < T; i++) r[i * T + i] = 1;
  layers.forEach((a, l) => {
    if (a.length !== T * T) throw new Error(`layer ${l}: expected a [${T}, ${T}] matrix, got ${a.length} values`);
    const next = new Float64Array(T * T);
    for (let i = 0; i < T; i++) {
      for (let k = 0; k < T; k++) {
        const aik = a[i * T + k]!;
        if (aik === 0) continue;
        for (let j = 0; j < T; j++) next[i * T + j]! += aik * r[k * T + j]!;
      }
    }
    r = next;
  });
  return Float32Array.from(r);
}

/** The result of {@linkcode attentionRollout}. */
export interface AttentionRollout {
  /** R [T, T]: row i = the share of each input token in position i's last-layer representation. */
  rollout: Tensor;
  /** The output position (the classifier's `[CLS]`, a language model's last token). */
  position: number;
  /** Row `position` of R: one score per input token. */
  scores: Float32Array;
}

/**
 * Attention rollout of one sequence.
 *
 * @param model the model
 * @param input the tokenised sequence
 * @param opts the heads averaged
 * @throws {Error} as {@linkcode residualAttention}
 * @example Usage
 * ```ts
 * import { attentionRollout } from "./rollout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * attentionRollout(model, { inputIds: [2, 45, 3] }).scores.length; // 3
 * ```
 */
export function attentionRollout(
  model: TransformerModel,
  input: AttributionInput,
  opts: AttentionGraphOptions = {},
): AttentionRollout {
  const T = input.inputIds.length;
  const r = rollout(residualAttention(model, input, opts), T);
  const position = outputPosition(model, T);
  return { rollout: { shape: [T, T], data: r }, position, scores: r.slice(position * T, (position + 1) * T) };
}
