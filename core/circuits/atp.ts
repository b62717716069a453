/**
 * Attribution patching (Nanda 2023; Kramár et al. 2024's AtP): the first-order estimate of what patching an
 * activation from the clean run into the corrupted run does to m = logit[target] − logit[distractor],
 *
 *     AtP(a) = Σ_positions (a_clean − a_corrupted) · ∂m/∂a   (the gradient on the corrupted run),
 *
 * for every head's context vector `z` (its slice of `blocks.{l}.attn.hook_z`) and every MLP output
 * (`blocks.{l}.hook_mlp_out`) — one clean forward and one forward and backward of the corrupted input for all
 * of them, per position on request. Beside it, exact activation patching (`patchHeads`, one re-run per
 * component) as m(patched) − m(corrupted), and the Pearson correlation of the two over every head and MLP. Where
 * m is linear in an activation the two agree exactly.
 *
 * @example Usage
 * ```ts
 * import { attributionPatching } from "./atp.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const atp = attributionPatching(model, { inputIds: [27, 70, 82] }, { inputIds: [27, 71, 82] }, {
 *   target: 5,
 *   distractor: 9,
 * });
 * atp.heads.shape; // [3, 4]
 * atp.pearson; // how well the estimate ranks like exact patching
 * ```
 *
 * @module
 */

import { type AttributionInput, outputLogits, repeatedBatch } from "../attribution/input.ts";
import { patchHeads } from "../attribution/patching.ts";
import { hookName } from "../hooks.ts";
import { pearson } from "../metrics/pearson.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { type LogitDiffMetric, metricGradients, metricOf, type MetricOptions, resolveMetric } from "./metric.ts";

/** Options of {@linkcode attributionPatching}. */
export interface AttributionPatchingOptions extends MetricOptions {
  /** Also give each head's and MLP's estimate per position (`headsByPosition`, `mlpsByPosition`). */
  positions?: boolean;
  /** Run exact activation patching beside the estimate (default true). */
  exact?: boolean;
  /** Patched variants per forward pass of exact patching (default 32). */
  batchSize?: number;
}

/** The result of {@linkcode attributionPatching}. */
export interface AttributionPatching extends LogitDiffMetric {
  /** m on the clean input. */
  metricClean: number;
  /** m on the corrupted input. */
  metricCorrupted: number;
  /** [L, H] AtP of each head's z (original numbering; NaN for a pruned head). */
  heads: Tensor;
  /** [L] AtP of each MLP output. */
  mlps: Float64Array;
  /** [L, H, T] per position, when asked for. */
  headsByPosition?: Tensor;
  /** [L, T] per position, when asked for. */
  mlpsByPosition?: Tensor;
  /** Exact patching: m(corrupted with the component from the clean run) − m(corrupted). */
  exact?: { heads: Tensor; mlps: Float64Array };
  /** Pearson correlation of AtP and exact patching over every head and MLP. */
  pearson?: number;
}

/**
 * AtP of every head and MLP, beside exact activation patching (see the module doc).
 *
 * @param model a language model or a classifier
 * @param clean the clean input
 * @param corrupted the corrupted input (same length)
 * @param opts target, distractor, positions, exact, batch size
 * @throws {Error} for inputs of different lengths, a model m is not defined on, or bad target/distractor
 * @example Usage
 * ```ts
 * import { attributionPatching } from "./atp.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const atp = attributionPatching(model, { inputIds: [27, 70, 82] }, { inputIds: [27, 71, 82] }, { exact: false });
 * atp.mlps.length; // 3
 * ```
 */
export function attributionPatching(
  model: TransformerModel,
  clean: AttributionInput,
  corrupted: AttributionInput,
  opts: AttributionPatchingOptions = {},
): AttributionPatching {
  const c = model.config, L = c.layers, H = c.heads, D = c.headDim, T = clean.inputIds.length;
  if (corrupted.inputIds.length !== T) {
    throw new Error(
      `clean and corrupted inputs must have the same number of tokens (${T} vs ${corrupted.inputIds.length})`,
    );
  }
  const metric = resolveMetric(model, clean, corrupted, opts);
  const names: string[] = [];
  for (let l = 0; l < L; l++) names.push(hookName("z", l), hookName("mlp_out", l));
  const { cache: cleanCache } = model.run({ batch: repeatedBatch(clean), names });
  const cleanLogits = outputLogits(model, repeatedBatch(clean));
  const corruptRun = metricGradients(model, corrupted, metric, names);

  const heads = new Float32Array(L * H).fill(NaN);
  const headsByPosition = new Float32Array(L * H * T).fill(NaN);
  const mlps = new Float64Array(L);
  const mlpsByPosition = new Float32Array(L * T);
  for (let l = 0; l < L; l++) {
    const kept = keptHeads(c, l), HD = kept.length * D;
    const zName = hookName("z", l);
    const zClean = cleanCache.get(zName)!.data, zCorrupt = corruptRun.values.get(zName)!.data;
    const zGrad = corruptRun.grads.get(zName)!.data;
    kept.forEach((h, i) => {
      let total = 0;
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let d = 0; d < D; d++) {
          const j = t * HD + i * D + d;
          s += (zClean[j]! - zCorrupt[j]!) * zGrad[j]!;
        }
        headsByPosition[(l * H + h) * T + t] = s;
        total += s;
      }
      heads[l * H + h] = total;
    });
    const mName = hookName("mlp_out", l);
    const mClean = cleanCache.get(mName)!.data, mCorrupt = corruptRun.values.get(mName)!.data;
    const mGrad = corruptRun.grads.get(mName)!.data;
    const C = mClean.length / T;
    let total = 0;
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let j = t * C; j < (t + 1) * C; j++) s += (mClean[j]! - mCorrupt[j]!) * mGrad[j]!;
      mlpsByPosition[l * T + t] = s;
      total += s;
    }
    mlps[l] = total;
  }

  const result: AttributionPatching = {
    ...metric,
    metricClean: metricOf(cleanLogits.data, cleanLogits.width, metric),
    metricCorrupted: corruptRun.m,
    heads: { shape: [L, H], data: heads },
    mlps,
  };
  if (opts.positions) {
    result.headsByPosition = { shape: [L, H, T], data: headsByPosition };
    result.mlpsByPosition = { shape: [L, T], data: mlpsByPosition };
  }
  if (opts.exact !== false) {
    const p = patchHeads(model, clean, corrupted, {
      target: metric.target,
      other: metric.distractor,
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    });
    // patchHeads gives the restored fraction of d_clean − d_corrupted: back to a change of m
    const span = p.logitDiffClean - p.logitDiffCorrupted;
    const exactHeads = p.heads.data.map((v) => v * span);
    const exactMlps = Float64Array.from(p.mlp, (v) => v * span);
    result.exact = { heads: { shape: [L, H], data: exactHeads }, mlps: exactMlps };
    const a: number[] = [], b: number[] = [];
    for (let i = 0; i < L * H; i++) {
      if (!Number.isNaN(heads[i]!)) {
        a.push(heads[i]!);
        b.push(exactHeads[i]!);
      }
    }
    a.push(...mlps);
    b.push(...exactMlps);
    result.pearson = pearson(a, b);
  }
  return result;
}
