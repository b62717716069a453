/**
 * Head importance and attention entropy, as Michel, Levy & Neubig (2019) define them and as Hugging Face's
 * `run_bertology.py` normalises them:
 *
 * - importance_raw[l, h] = Σ over batches of |∂L/∂mask[l, h]| / (number of non-pad tokens), the gradient
 *   taken afresh for each batch (HF's script never zeroes it — `hfAccumulate` reproduces that on purpose);
 *   with `perExample`, Σ over examples of |∂L(x)/∂mask[l, h]| (Michel et al.'s E_x, what batches of one give):
 *   then how the examples are batched (batch size, length bucketing) does not change the result;
 * - importance = importance_raw with each layer's row divided by its L2 norm (+1e-20), then min-max scaled over
 *   all heads (each step can be switched off);
 * - entropy[l, h] = Σ over batches and non-pad query tokens of −Σ_keys p ln p, / (number of non-pad tokens).
 *
 * @module
 */

import type { HeadMask } from "../models/inputs.ts";
import { type Batch, countTokens } from "../models/inputs.ts";
import type { Labels, TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { attentionEntropyMeter } from "./entropy.ts";
import { predictionsFromLogits } from "../studies/predictions.ts";

/** A batch with the labels its loss needs ("lm" for GPT language models). */
export interface LabelledBatch {
  /** The padded batch. */
  batch: Batch;
  /** Row b is example `rows[b]` of the dataset (outputs are put back in this order); absent: batches in order. */
  rows?: readonly number[] | undefined;
  /** Class indices / regression targets, one per row, or "lm" for next-token prediction. */
  labels: Labels;
}

/** Options of {@linkcode computeHeadImportance}. */
export interface ImportanceOptions {
  /** Head mask to run under (original numbering); all ones when absent. */
  headMask?: HeadMask | undefined;
  /** Divide each layer's importances by their L2 norm (HF default: true). */
  normalizeByLayer?: boolean | undefined;
  /** Min-max scale importances over all heads (HF default: true). */
  normalizeGlobal?: boolean | undefined;
  /** Measure attention entropy too (default true). */
  computeEntropy?: boolean | undefined;
  /** Measure importance (default true; false runs forward passes only). */
  computeImportance?: boolean | undefined;
  /** Reproduce HF's script: the mask gradient is never zeroed, so batch i adds |g_1 + … + g_i|. */
  hfAccumulate?: boolean | undefined;
  /**
   * Sum |∂L(x)/∂mask| per example instead of per batch (needs labels per row, not "lm" batches mixed with
   * classifiers): the result no longer depends on how examples are batched. Excludes `hfAccumulate`.
   */
  perExample?: boolean | undefined;
  /** Called after each batch. */
  onBatch?: ((done: number) => void) | undefined;
}

/** What {@linkcode computeHeadImportance} measures. */
export interface ImportanceResult {
  /** Normalised importance [layers, heads]. */
  importance: Tensor;
  /** Importance before the per-layer and global normalisations (already divided by the token count). */
  importanceRaw: Tensor;
  /** Mean attention entropy per non-pad token [layers, heads]. */
  entropy: Tensor;
  /** Number of non-pad tokens seen. */
  totalTokens: number;
  /** Per example, in dataset order (see `LabelledBatch.rows`): argmax class (classification), the value (regression); empty for "lm". */
  preds: number[];
  /** Per example, in dataset order: the label; empty for "lm". */
  labels: number[];
  /**
   * Mean loss per prediction over the whole dataset: per example (classification, regression) or per
   * predicted next token (LM), so `Math.exp(loss)` is the dataset's perplexity for a language model.
   */
  loss: number;
  /** Number of batches. */
  batches: number;
}

/**
 * Runs the model over labelled batches and measures head importance (the mask gradient) and entropy.
 *
 * @throws {Error} when there is no batch, or the model rejects a batch (see `TransformerModel.run`)
 * @example Usage
 * ```ts
 * import { computeHeadImportance } from "./importance.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const batch = { batchSize: 2, seqLen: 3, inputIds: Int32Array.from([2, 45, 3, 2, 46, 3]) };
 * const result = computeHeadImportance(model, [{ batch, labels: new Int32Array([1, 0]) }]);
 * result.importance.shape; // [layers, heads]
 * ```
 */
export function computeHeadImportance(
  model: TransformerModel,
  batches: Iterable<LabelledBatch>,
  opts: ImportanceOptions = {},
): ImportanceResult {
  const { layers: L, heads: H } = model.config;
  const task = model.task;
  const wantImportance = opts.computeImportance !== false;
  const wantEntropy = opts.computeEntropy !== false;
  const raw = new Float64Array(L * H);
  const running = new Float64Array(L * H); // HF's never-zeroed .grad
  const entropy = new Float64Array(L * H);
  const outputs: { row: number; pred: number; label: number }[] = [];
  let tokens = 0, lossSum = 0, predictions = 0, n = 0, examples = 0;
  const perExample = opts.perExample === true;
  if (perExample && opts.hfAccumulate) throw new Error("perExample and hfAccumulate exclude each other");

  const meter = wantEntropy ? attentionEntropyMeter(model) : undefined;
  for (const { batch, labels: y, rows } of batches) {
    const r = model.run({
      batch,
      labels: y,
      ...(opts.headMask !== undefined ? { headMask: opts.headMask } : {}),
      names: wantImportance ? ["hook_head_mask_grad"] : [],
      ...(wantImportance && perExample ? { perExampleHeadMaskGrad: true } : {}),
      ...(meter ? { observe: meter.observe } : {}),
    });
    if (wantImportance && perExample) {
      const g = r.headMaskGradPerExample!.data;
      for (let i = 0; i < g.length; i++) raw[i % (L * H)]! += Math.abs(g[i]!);
    } else if (wantImportance) {
      const g = r.headMaskGrad!.data;
      for (let i = 0; i < L * H; i++) {
        if (opts.hfAccumulate) {
          running[i]! += g[i]!;
          raw[i]! += Math.abs(running[i]!);
        } else raw[i]! += Math.abs(g[i]!);
      }
    }
    if (rows !== undefined && rows.length !== batch.batchSize) {
      throw new Error(`Batch ${n} has ${batch.batchSize} rows but names ${rows.length} examples (rows)`);
    }
    if (y !== "lm" && task !== "lm") {
      const p = predictionsFromLogits(task, r.logits!);
      for (let b = 0; b < batch.batchSize; b++) {
        outputs.push({ row: rows?.[b] ?? examples + b, pred: p[b]!, label: Number(y[b]) });
      }
    }
    examples += batch.batchSize;
    tokens += countTokens(batch);
    // each batch's loss is a mean over its predictions: weight it by their number
    lossSum += (r.loss ?? 0) * (r.lossCount ?? 0);
    predictions += r.lossCount ?? 0;
    n++;
    opts.onBatch?.(n);
  }
  if (n === 0) throw new Error("No batches: the dataset is empty");
  if (meter) entropy.set(meter.sums().data);

  for (let i = 0; i < L * H; i++) {
    raw[i]! /= tokens;
    entropy[i]! /= tokens;
  }
  const importance = Float64Array.from(raw);
  if (opts.normalizeByLayer !== false) {
    for (let l = 0; l < L; l++) {
      let sq = 0;
      for (let h = 0; h < H; h++) sq += importance[l * H + h]! ** 2;
      const norm = Math.sqrt(sq) + 1e-20;
      for (let h = 0; h < H; h++) importance[l * H + h]! /= norm;
    }
  }
  if (opts.normalizeGlobal !== false) {
    let min = Infinity, max = -Infinity;
    for (const v of importance) (min = Math.min(min, v)), (max = Math.max(max, v));
    const span = max - min;
    for (let i = 0; i < importance.length; i++) importance[i] = span > 0 ? (importance[i]! - min) / span : 0;
  }
  outputs.sort((a, b) => a.row - b.row);
  const preds = outputs.map((o) => o.pred), labels = outputs.map((o) => o.label);
  const t = (d: Float64Array): Tensor => ({ shape: [L, H], data: Float32Array.from(d) });
  return {
    importance: t(importance),
    importanceRaw: t(raw),
    entropy: t(entropy),
    totalTokens: tokens,
    preds,
    labels,
    loss: predictions > 0 ? lossSum / predictions : 0,
    batches: n,
  };
}
