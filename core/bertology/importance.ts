/**
 * Head importance and attention entropy, as Michel, Levy & Neubig (2019) define them and as Hugging Face's
 * `run_bertology.py` normalises them:
 *
 * - importance_raw[l, h] = Σ over batches of |∂L/∂mask[l, h]| / (number of non-pad tokens), the gradient
 *   taken afresh for each batch (HF's script never zeroes it — `hfAccumulate` reproduces that on purpose);
 * - importance = importance_raw with each layer's row divided by its L2 norm (+1e-20), then min-max scaled over
 *   all heads (each step can be switched off);
 * - entropy[l, h] = Σ over batches and non-pad query tokens of −Σ_keys p ln p, / (number of non-pad tokens).
 *
 * @module
 */

import type { HeadMask } from "../models/inputs.ts";
import { type Batch, countTokens } from "../models/inputs.ts";
import type { ModelConfig } from "../models/config.ts";
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
   * Sum |∂L(x)/∂mask| per example instead of per batch (Michel et al.'s E_x|∂L(x)/∂ξ|; HF's numbers at batch
   * size 1): the result no longer depends on how examples are batched. Excludes `hfAccumulate`.
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

/** What one batch's pass gives importance: the head-mask gradient, logits and the loss (a `RunResult` does). */
export interface ImportanceBatchPass {
  /** dL/dhead_mask [layers, heads] (original numbering); needed unless importance is off. */
  headMaskGrad?: Tensor | undefined;
  /** Each row's own dL(x)/dhead_mask [batch, layers, heads], when the pass was asked for it (`perExample`). */
  headMaskGradPerExample?: Tensor | undefined;
  /** The logits, for the predictions of a classifier or regressor. */
  logits?: Tensor | undefined;
  /** The batch's mean loss. */
  loss?: number | undefined;
  /** How many predictions that mean is over. */
  lossCount?: number | undefined;
}

/**
 * One importance pass run by another engine than {@linkcode TransformerModel.run} (an exported ONNX graph on
 * ONNX Runtime …): the batch's pass and, when asked, its attention entropy summed per head over non-pad query
 * tokens, [layers × heads] in the original numbering.
 */
export type ImportanceEngine = (req: {
  /** The batch. */
  batch: Batch;
  /** Its labels. */
  labels: Labels;
  /** The head mask to run under; ones when absent. */
  headMask?: HeadMask | undefined;
  /** Whether to measure entropy. */
  entropy: boolean;
}) => Promise<ImportanceBatchPass & { entropy?: ArrayLike<number> | undefined }>;

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
  return importanceFromPartials(model.config, [computeHeadImportancePartial(model, batches, opts)], opts);
}

/**
 * {@linkcode computeHeadImportance}'s sums and counts before any division: what one shard of a study keeps
 * ({@linkcode importanceFromPartials} adds the shards' sums and finishes them exactly as a single run does).
 *
 * @param model the model
 * @param batches the labelled batches (rows name their examples in the whole dataset)
 * @param opts as {@linkcode computeHeadImportance}
 * @returns the sums
 * @throws {Error} when the model rejects a batch
 * @example Usage
 * ```ts ignore
 * const part = computeHeadImportancePartial(model, myBatches);
 * const r = importanceFromPartials(model.config, [part, otherShardsPart]);
 * ```
 */
export function computeHeadImportancePartial(
  model: TransformerModel,
  batches: Iterable<LabelledBatch>,
  opts: ImportanceOptions = {},
): ImportancePartial {
  const sums = new ImportanceSums(model.config, opts);
  const wantImportance = opts.computeImportance !== false;
  const meter = opts.computeEntropy !== false ? attentionEntropyMeter(model) : undefined;
  for (const { batch, labels, rows } of batches) {
    const r = model.run({
      batch,
      labels,
      ...(opts.headMask !== undefined ? { headMask: opts.headMask } : {}),
      names: wantImportance ? ["hook_head_mask_grad"] : [],
      ...(wantImportance && opts.perExample ? { perExampleHeadMaskGrad: true } : {}),
      ...(meter ? { observe: meter.observe } : {}),
    });
    sums.add(batch, labels, r, rows);
    sums.batchDone();
  }
  if (meter) sums.addEntropy(meter.sums().data);
  return sums.partial();
}

/**
 * {@linkcode computeHeadImportance} through another engine (an exported graph on ONNX Runtime): the same sums
 * and normalisations over the engine's gradients, logits, losses and entropies.
 *
 * @param engine runs one batch
 * @param config the model's config (sizes, task kind)
 * @param batches the labelled batches
 * @param opts as {@linkcode computeHeadImportance}
 * @returns what {@linkcode computeHeadImportance} returns
 * @throws {Error} when there is no batch, or the engine rejects a batch
 * @example Usage
 * ```ts ignore
 * const r = await computeHeadImportanceWith(ortImportanceEngine(onnx), model.config, batches);
 * ```
 */
export async function computeHeadImportanceWith(
  engine: ImportanceEngine,
  config: ModelConfig,
  batches: Iterable<LabelledBatch>,
  opts: ImportanceOptions = {},
): Promise<ImportanceResult> {
  return importanceFromPartials(config, [await computeHeadImportancePartialWith(engine, config, batches, opts)], opts);
}

/**
 * {@linkcode computeHeadImportanceWith}'s sums and counts before any division (one shard's part of a study).
 *
 * @param engine runs one batch
 * @param config the model's config (sizes, task kind)
 * @param batches the labelled batches
 * @param opts as {@linkcode computeHeadImportance}
 * @returns the sums
 * @throws {Error} when the engine rejects a batch
 * @example Usage
 * ```ts ignore
 * const part = await computeHeadImportancePartialWith(ortImportanceEngine(onnx), model.config, myBatches);
 * ```
 */
export async function computeHeadImportancePartialWith(
  engine: ImportanceEngine,
  config: ModelConfig,
  batches: Iterable<LabelledBatch>,
  opts: ImportanceOptions = {},
): Promise<ImportancePartial> {
  const sums = new ImportanceSums(config, opts);
  const wantEntropy = opts.computeEntropy !== false;
  for (const { batch, labels, rows } of batches) {
    // an engine gives one gradient per batch: per-example importance runs each row as a batch of one
    const parts = opts.perExample && opts.computeImportance !== false
      ? rowBatches(batch, labels, rows)
      : [{ batch, labels, rows }];
    for (const part of parts) {
      const r = await engine({ batch: part.batch, labels: part.labels, headMask: opts.headMask, entropy: wantEntropy });
      if (wantEntropy) {
        if (r.entropy === undefined) throw new Error("The importance engine returned no entropy");
        sums.addEntropy(r.entropy);
      }
      sums.add(part.batch, part.labels, r, part.rows);
    }
    sums.batchDone();
  }
  return sums.partial();
}

/**
 * The sums of an importance pass over some batches, nothing divided yet: float64 sums of |∂L/∂mask| and of
 * entropy per head, the token, example and prediction counts, the loss summed over predictions, and each
 * example's prediction and label by its row in the whole dataset.
 */
export interface ImportancePartial {
  /** Σ |∂L/∂mask[l, h]| (per example or per batch, as the options said), [layers × heads]. */
  raw: Float64Array;
  /** Σ attention entropy over non-pad query tokens, [layers × heads]. */
  entropy: Float64Array;
  /** Non-pad tokens seen. */
  tokens: number;
  /** Examples seen. */
  examples: number;
  /** Σ over batches of mean loss × its number of predictions. */
  lossSum: number;
  /** Predictions the loss is over. */
  predictions: number;
  /** Batches run. */
  batches: number;
  /** Per example of a classifier or regressor: its row in the dataset, prediction and label. */
  outputs: { row: number; pred: number; label: number }[];
}

/**
 * Adds the sums of one or more partial passes (shards, in order) and finishes them as a single pass does: divides
 * by the tokens, normalises per layer and globally, and puts predictions back in dataset order.
 *
 * @param config the model's config (sizes)
 * @param partials the shards' sums
 * @param opts the normalisations
 * @returns what {@linkcode computeHeadImportance} returns for all the batches together
 * @throws {Error} when no batch was run, or a partial does not fit the config
 * @example Usage
 * ```ts ignore
 * const r = importanceFromPartials(model.config, [shard0, shard1, shard2]);
 * ```
 */
export function importanceFromPartials(
  config: Pick<ModelConfig, "layers" | "heads">,
  partials: readonly ImportancePartial[],
  opts: Pick<ImportanceOptions, "normalizeByLayer" | "normalizeGlobal"> = {},
): ImportanceResult {
  const L = config.layers, H = config.heads;
  const raw = new Float64Array(L * H), entropy = new Float64Array(L * H);
  let tokens = 0, lossSum = 0, predictions = 0, batches = 0;
  const outputs: ImportancePartial["outputs"] = [];
  for (const p of partials) {
    if (p.raw.length !== L * H || p.entropy.length !== L * H) {
      throw new Error(`Importance sums of ${p.raw.length} heads do not fit a model of ${L} × ${H} heads`);
    }
    for (let i = 0; i < L * H; i++) {
      raw[i]! += p.raw[i]!;
      entropy[i]! += p.entropy[i]!;
    }
    tokens += p.tokens;
    lossSum += p.lossSum;
    predictions += p.predictions;
    batches += p.batches;
    outputs.push(...p.outputs);
  }
  if (batches === 0) throw new Error("No batches: the dataset is empty");
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
  const t = (d: Float64Array): Tensor => ({ shape: [L, H], data: Float32Array.from(d) });
  return {
    importance: t(importance),
    importanceRaw: t(raw),
    entropy: t(entropy),
    totalTokens: tokens,
    preds: outputs.map((o) => o.pred),
    labels: outputs.map((o) => o.label),
    loss: predictions > 0 ? lossSum / predictions : 0,
    batches,
  };
}

/** The running sums of one importance pass, batch by batch, and its normalisations at the end. */
class ImportanceSums {
  readonly #L: number;
  readonly #H: number;
  readonly #task: ModelConfig["task"];
  readonly #opts: ImportanceOptions;
  readonly #raw: Float64Array;
  readonly #running: Float64Array; // HF's never-zeroed .grad
  readonly #entropy: Float64Array;
  readonly #outputs: { row: number; pred: number; label: number }[] = [];
  #examples = 0;
  #tokens = 0;
  #lossSum = 0;
  #predictions = 0;
  #n = 0;

  constructor(config: ModelConfig, opts: ImportanceOptions) {
    this.#L = config.layers;
    this.#H = config.heads;
    this.#task = config.task;
    this.#opts = opts;
    this.#raw = new Float64Array(this.#L * this.#H);
    this.#running = new Float64Array(this.#L * this.#H);
    this.#entropy = new Float64Array(this.#L * this.#H);
    if (opts.perExample && opts.hfAccumulate) throw new Error("perExample and hfAccumulate exclude each other");
  }

  add(batch: Batch, y: Labels, r: ImportanceBatchPass, rows: readonly number[] | undefined): void {
    const opts = this.#opts, raw = this.#raw, running = this.#running;
    if (rows !== undefined && rows.length !== batch.batchSize) {
      throw new Error(`Batch ${this.#n} has ${batch.batchSize} rows but names ${rows.length} examples (rows)`);
    }
    if (opts.computeImportance !== false && opts.perExample) {
      // a batch of one row: its gradient is the row's own
      const perRow = r.headMaskGradPerExample ?? (batch.batchSize === 1 ? r.headMaskGrad : undefined);
      if (perRow === undefined) throw new Error("The pass returned no per-example head-mask gradient");
      const g = perRow.data;
      for (let i = 0; i < g.length; i++) raw[i % raw.length]! += Math.abs(g[i]!);
    } else if (opts.computeImportance !== false) {
      if (r.headMaskGrad === undefined) throw new Error("The pass returned no head-mask gradient");
      const g = r.headMaskGrad.data;
      for (let i = 0; i < raw.length; i++) {
        if (opts.hfAccumulate) {
          running[i]! += g[i]!;
          raw[i]! += Math.abs(running[i]!);
        } else raw[i]! += Math.abs(g[i]!);
      }
    }
    if (y !== "lm" && this.#task !== "lm") {
      const p = predictionsFromLogits(this.#task, r.logits!);
      for (let b = 0; b < batch.batchSize; b++) {
        this.#outputs.push({ row: rows?.[b] ?? this.#examples + b, pred: p[b]!, label: Number(y[b]) });
      }
    }
    this.#examples += batch.batchSize;
    this.#tokens += countTokens(batch);
    // each batch's loss is a mean over its predictions: weight it by their number
    this.#lossSum += (r.loss ?? 0) * (r.lossCount ?? 0);
    this.#predictions += r.lossCount ?? 0;
  }

  /** Ends one of the caller's batches (which an engine may have run in parts). */
  batchDone(): void {
    this.#n++;
    this.#opts.onBatch?.(this.#n);
  }

  addEntropy(sums: ArrayLike<number>): void {
    for (let i = 0; i < this.#entropy.length; i++) this.#entropy[i]! += sums[i]!;
  }

  partial(): ImportancePartial {
    return {
      raw: this.#raw,
      entropy: this.#entropy,
      tokens: this.#tokens,
      examples: this.#examples,
      lossSum: this.#lossSum,
      predictions: this.#predictions,
      batches: this.#n,
      outputs: this.#outputs,
    };
  }
}

/** Each row of a batch as a batch of one, trimmed to its own tokens (padding is at the end of a row). */
function rowBatches(batch: Batch, labels: Labels, rows: readonly number[] | undefined): LabelledBatch[] {
  const T = batch.seqLen;
  const out: LabelledBatch[] = [];
  for (let b = 0; b < batch.batchSize; b++) {
    const mask = batch.attentionMask?.subarray(b * T, (b + 1) * T);
    let len = T;
    if (mask) { while (len > 1 && mask[len - 1] === 0) len--; }
    const one: Batch = { batchSize: 1, seqLen: len, inputIds: batch.inputIds.slice(b * T, b * T + len) };
    if (mask) one.attentionMask = mask.slice(0, len);
    if (batch.tokenTypeIds) one.tokenTypeIds = batch.tokenTypeIds.slice(b * T, b * T + len);
    out.push({
      batch: one,
      labels: labels === "lm" ? "lm" : labels.slice(b, b + 1),
      rows: rows ? [rows[b]!] : undefined,
    });
  }
  return out;
}
