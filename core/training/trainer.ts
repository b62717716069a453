/**
 * The training loop: seeded shuffling and dropout, AdamW with HF's weight-decay exclusions, a linear
 * warm-up/decay schedule, gradient-norm clipping, evaluation after every epoch with the task's metric, and the
 * best and last checkpoints. The same seed on the same kernel backend gives bit-identical weights.
 *
 * @module
 */

import { type EncodedInput, makeBatches } from "../data/batches.ts";
import { accuracy } from "../metrics/accuracy.ts";
import { predictionsFromLogits } from "../studies/predictions.ts";
import { taskMetrics } from "../studies/score.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Act, Run } from "../models/run.ts";
import { mixSeed, permutation } from "../rng.ts";
import { saveModel, type SaveOptions } from "./checkpoint.ts";
import { type MaskingOptions, maskRows, maskTokens } from "./mlm_masking.ts";
import { AdamW, clipGradNorm, linearSchedule } from "./optimizer.ts";

/** One tokenized example with its label (class id or regression target; absent for language modelling). */
export interface TrainExample extends EncodedInput {
  label?: number | undefined;
}

/**
 * What is learned: a classification/regression task scored by a GLUE task's metric (or accuracy for custom
 * data), causal language modelling (GPT models), scored by perplexity, or masked-language modelling (a BERT
 * with the `BertForMaskedLM` head), each batch corrupted afresh by {@linkcode maskTokens} and scored by
 * masked-token accuracy and perplexity on a fixed masking of the dev set.
 */
export type Objective =
  | { kind: "classification"; glueTask?: string | undefined }
  | { kind: "regression"; glueTask?: string | undefined }
  | { kind: "lm" }
  | { kind: "mlm"; masking: MaskingOptions; devSeed?: number | undefined };

/** Options for {@linkcode evaluate}. */
export interface EvaluateOptions {
  objective: Objective;
  /** Rows per batch (default 64). */
  batchSize?: number | undefined;
  /** Id padding `input_ids` (default 0). */
  padId?: number | undefined;
}

/** Scores on a data set. */
export interface Evaluation {
  /** The task's metrics (`acc`, `mcc`, …), or `perplexity` for language modelling. */
  metrics: Record<string, number>;
  /** Mean loss: per example (classification), per predicted token (LM). */
  loss: number;
  /** Examples scored. */
  examples: number;
}

/**
 * The metric that picks the best epoch: the task's headline metric (HF's: `acc`, `mcc`, `acc_and_f1`, `corr`),
 * or `perplexity` for language modelling.
 *
 * @param objective The objective.
 * @returns Its key and whether larger is better.
 *
 * @example Usage
 * ```ts
 * import { mainMetric } from "./trainer.ts";
 * mainMetric({ kind: "classification", glueTask: "cola" }); // { key: "mcc", higherIsBetter: true }
 * ```
 */
export function mainMetric(objective: Objective): { key: string; higherIsBetter: boolean } {
  if (objective.kind === "lm" || objective.kind === "mlm") return { key: "perplexity", higherIsBetter: false };
  if (objective.kind === "regression") return { key: objective.glueTask ? "corr" : "pearson", higherIsBetter: true };
  if (objective.glueTask === undefined) return { key: "acc", higherIsBetter: true };
  const keys: Record<string, string> = { cola: "mcc", mrpc: "acc_and_f1", qqp: "acc_and_f1", "sts-b": "corr" };
  return { key: keys[objective.glueTask.toLowerCase()] ?? "acc", higherIsBetter: true };
}

function toModelBatch(b: ReturnType<typeof makeBatches>[number]): Batch {
  return {
    batchSize: b.batchSize,
    seqLen: b.seqLen,
    inputIds: b.inputIds,
    attentionMask: b.attentionMask,
    tokenTypeIds: b.tokenTypeIds,
  };
}

function labelsOf(examples: readonly TrainExample[], objective: Objective): number[] | undefined {
  if (objective.kind === "lm" || objective.kind === "mlm") return undefined;
  return examples.map((e, i) => {
    if (e.label === undefined) throw new Error(`Example ${i} has no label: ${objective.kind} needs one per example`);
    return e.label;
  });
}

/**
 * Scores a model on examples without dropout.
 *
 * @param model The model.
 * @param examples Tokenized, labelled examples.
 * @param opts The objective, batch size and pad id.
 * @returns The metrics and mean loss.
 * @throws {Error} For an empty set, or labels missing for a classification/regression objective.
 *
 * @example Usage
 * ```ts ignore
 * const { metrics } = evaluate(model, dev, { objective: { kind: "classification", glueTask: "sst-2" } });
 * ```
 */
export function evaluate(
  model: TransformerModel,
  examples: readonly TrainExample[],
  opts: EvaluateOptions,
): Evaluation {
  if (examples.length === 0) throw new Error("evaluate: no examples");
  const { objective } = opts;
  const labels = labelsOf(examples, objective);
  const batches = makeBatches(examples, {
    batchSize: opts.batchSize ?? 64,
    padId: opts.padId ?? 0,
    labels,
    outputMode: objective.kind === "regression" ? "regression" : "classification",
    bucket: true, // each batch padded only to its own longest row; predictions go back in input order
  });
  if (objective.kind === "lm") {
    let nll = 0, tokens = 0;
    for (const b of batches) {
      let counted = 0;
      for (let r = 0; r < b.batchSize; r++) {
        let len = 0;
        for (let t = 0; t < b.seqLen; t++) len += b.attentionMask[r * b.seqLen + t]!;
        counted += Math.max(0, len - 1);
      }
      const { loss } = model.run({ batch: toModelBatch(b), labels: "lm" });
      nll += loss! * counted;
      tokens += counted;
    }
    const loss = nll / Math.max(1, tokens);
    return { metrics: { perplexity: Math.exp(loss), loss, tokens }, loss, examples: examples.length };
  }
  if (objective.kind === "mlm") return evaluateMasked(model, batches, objective, examples.length);
  const preds = new Array<number>(examples.length);
  let lossSum = 0;
  for (const b of batches) {
    const { logits, loss } = model.run({ batch: toModelBatch(b), labels: b.labels });
    lossSum += loss! * b.batchSize;
    const p = predictionsFromLogits(objective.kind === "regression" ? "regress" : "classify", logits!);
    b.rows.forEach((row, r) => (preds[row] = p[r]!));
  }
  // the studies' metrics (core/studies/score.ts); custom classification data reports accuracy only
  const metrics = objective.kind === "classification" && objective.glueTask === undefined
    ? { acc: accuracy(preds, labels!) }
    : taskMetrics({ kind: objective.kind === "regression" ? "regress" : "classify", glueTask: objective.glueTask }, {
      preds,
      labels: labels!,
      loss: 0,
    });
  return { metrics, loss: lossSum / examples.length, examples: examples.length };
}

/**
 * Masked-LM scores: every example masked with a seed fixed by `devSeed` and its index (the same corruption every
 * epoch, whatever the batching), mean cross-entropy over the chosen tokens, accuracy of the argmax at them, and
 * perplexity.
 */
function evaluateMasked(
  model: TransformerModel,
  batches: ReturnType<typeof makeBatches>,
  objective: Extract<Objective, { kind: "mlm" }>,
  examples: number,
): Evaluation {
  let nll = 0, tokens = 0, correct = 0;
  for (const b of batches) {
    const masked = maskRows(b, objective.masking, (r) => mixSeed(objective.devSeed ?? 1234, 4, b.rows[r]!));
    const targets = masked.labels.filter((t) => t !== -100);
    // the logits exist only at the chosen rows ([chosen, vocab]), in position order: argmax each
    const countCorrect = (value: Act, run: Run) => {
      const V = value.shape[value.shape.length - 1]!;
      const logits = run.k.mem.f32(value.ptr, value.size);
      targets.forEach((t, r) => {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[r * V + v]! > logits[r * V + best]!) best = v;
        if (best === t) correct++;
      });
    };
    const { loss } = model.run({
      batch: { ...toModelBatch(b), inputIds: masked.inputIds },
      labels: masked.labels,
      observe: new Map([["hook_logits", countCorrect]]),
    });
    nll += loss! * targets.length;
    tokens += targets.length;
  }
  const loss = nll / Math.max(1, tokens);
  return {
    metrics: { perplexity: Math.exp(loss), accuracy: correct / Math.max(1, tokens), loss, tokens },
    loss,
    examples,
  };
}

/** Sorts each run of `mega` indices by example length, longest first (stable, so deterministic). */
function groupByLength(order: Int32Array, examples: readonly TrainExample[], mega: number): Int32Array {
  const out = new Int32Array(order.length);
  for (let start = 0; start < order.length; start += mega) {
    const chunk = Array.from(order.subarray(start, start + mega));
    chunk.sort((a, b) => examples[b]!.ids.length - examples[a]!.ids.length);
    out.set(chunk, start);
  }
  return out;
}

/** Progress after each update. */
export interface StepProgress {
  epoch: number;
  /** Updates done (1-based). */
  step: number;
  totalSteps: number;
  /** This batch's loss. */
  loss: number;
  /** Learning rate used for this update. */
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Seconds since training started. */
  elapsed: number;
}

/** One epoch's outcome. */
export interface EpochResult {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  trainLoss: number;
  /** Dev scores (absent without dev examples). */
  dev?: Evaluation;
  /** Whether this epoch's model is the best so far (and was saved as `best`). */
  best: boolean;
  seconds: number;
}

/** Options for {@linkcode train}. */
export interface TrainOptions {
  objective: Objective;
  train: readonly TrainExample[];
  /** Scored after every epoch; the best epoch is kept. */
  dev?: readonly TrainExample[];
  epochs: number;
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Warm-up: a fraction of all updates when < 1, else a number of updates. Default 0. */
  warmup?: number;
  /** AdamW decoupled weight decay (not on biases and LayerNorm weights). Default 0. */
  weightDecay?: number;
  /** Adam epsilon (default 1e-8). */
  adamEps?: number;
  /** Global gradient-norm bound (default 1.0; 0 = no clipping). */
  maxGradNorm?: number;
  /** Dropout probability at HF's sites (default 0). */
  dropout?: number;
  /** Seeds shuffling and dropout (default 42). */
  seed?: number;
  /** Id padding `input_ids` (default 0). */
  padId?: number;
  /**
   * HF's `group_by_length`: within each shuffled run of 50 batches, order examples by length (longest first) so
   * that batches hold similar lengths and padding is small. Same seed, same batches. Default false.
   */
  groupByLength?: boolean;
  /** Dev batch size (default 64). */
  evalBatchSize?: number;
  /** When set, saves `<dir>/best` and `<dir>/last` after every epoch. */
  checkpoint?: SaveOptions & { dir: string };
  /**
   * With `checkpoint`: also saves `<dir>/last` every this many updates (HF's `save_steps`), so that a run stopped
   * mid-epoch leaves its latest weights. Default: only after each epoch.
   */
  saveEvery?: number;
  /** Called after every update. */
  onStep?: (p: StepProgress) => void;
  /** Called after every epoch (after saving). */
  onEpoch?: (r: EpochResult) => void;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  epochs: EpochResult[];
  totalSteps: number;
  /** The best epoch (1-based) by the main metric, or the last without dev data. */
  bestEpoch: number;
  /** The main metric's name and best value (absent without dev data). */
  bestMetric?: { key: string; value: number };
  seconds: number;
}

/**
 * Trains `model` in place.
 *
 * @param model The model (new or loaded; pruned shapes are kept).
 * @param opts Data, objective and hyper-parameters.
 * @returns Per-epoch results and the best epoch.
 * @throws {Error} For bad hyper-parameters, empty data, missing labels, or an objective the model cannot learn.
 *
 * @example Usage
 * ```ts ignore
 * const result = await train(model, { objective: { kind: "lm" }, train, dev, epochs: 1, batchSize: 16, lr: 1e-3 });
 * ```
 */
export async function train(model: TransformerModel, opts: TrainOptions): Promise<TrainResult> {
  const { objective } = opts;
  const check = (name: string, v: number, ok: boolean, want: string) => {
    if (!ok) throw new Error(`train: ${name} must be ${want}, got ${v}`);
  };
  check("epochs", opts.epochs, Number.isInteger(opts.epochs) && opts.epochs >= 1, "a positive integer");
  check("batchSize", opts.batchSize, Number.isInteger(opts.batchSize) && opts.batchSize >= 1, "a positive integer");
  check("lr", opts.lr, opts.lr > 0 && Number.isFinite(opts.lr), "a positive number");
  const dropout = opts.dropout ?? 0;
  check("dropout", dropout, dropout >= 0 && dropout < 1, "in [0, 1)");
  const warmupArg = opts.warmup ?? 0;
  check("warmup", warmupArg, warmupArg >= 0 && Number.isFinite(warmupArg), "≥ 0");
  const saveEvery = opts.saveEvery ?? 0;
  check("saveEvery", saveEvery, Number.isInteger(saveEvery) && saveEvery >= 0, "a non-negative integer");
  if (opts.train.length === 0) throw new Error("train: no training examples");
  const family = model.config.family;
  if (objective.kind === "lm" && model.task !== "lm") {
    throw new Error(`train: ${family.toUpperCase()} cannot be trained as a causal LM (it is a ${model.task} model)`);
  }
  if (objective.kind !== "lm" && model.task === "lm") {
    throw new Error(`train: ${family} models train as causal language models (objective "lm")`);
  }
  if ((objective.kind === "mlm") !== (model.task === "mlm")) {
    throw new Error(
      objective.kind === "mlm"
        ? `train: masked-LM training needs a masked-LM head (BertForMaskedLM); this is a ${model.task} model`
        : `train: a masked LM trains with objective "mlm", not "${objective.kind}"`,
    );
  }
  if (objective.kind !== "lm" && !model.hasHead) {
    throw new Error(`train: the model has no ${objective.kind === "mlm" ? "masked-LM" : "classifier"} head`);
  }
  const trainLabels = labelsOf(opts.train, objective);
  if (opts.dev?.length) labelsOf(opts.dev, objective);

  const seed = opts.seed ?? 42;
  const stepsPerEpoch = Math.ceil(opts.train.length / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmup = warmupArg < 1 ? Math.round(warmupArg * totalSteps) : Math.round(warmupArg);
  const optimizer = new AdamW(model.params, { weightDecay: opts.weightDecay ?? 0, eps: opts.adamEps ?? 1e-8 });
  const maxGradNorm = opts.maxGradNorm ?? 1;
  const { key, higherIsBetter } = mainMetric(objective);
  const started = performance.now();
  const epochs: EpochResult[] = [];
  let best: number | undefined, bestEpoch = opts.epochs;
  let step = 0;

  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const epochStart = performance.now();
    let order = permutation(opts.train.length, mixSeed(seed, 1, epoch));
    if (opts.groupByLength) order = groupByLength(order, opts.train, opts.batchSize * 50);
    const examples = Array.from(order, (i) => opts.train[i]!);
    const batches = makeBatches(examples, {
      batchSize: opts.batchSize,
      padId: opts.padId ?? 0,
      labels: trainLabels ? Array.from(order, (i) => trainLabels[i]!) : undefined,
      outputMode: objective.kind === "regression" ? "regression" : "classification",
    });
    let lossSum = 0;
    for (const b of batches) {
      const lr = opts.lr * linearSchedule(step, totalSteps, warmup);
      model.params.zeroGrads();
      const masked = objective.kind === "mlm" ? maskTokens(b, objective.masking, mixSeed(seed, 3, step)) : undefined;
      const { loss } = model.run({
        batch: masked ? { ...toModelBatch(b), inputIds: masked.inputIds } : toModelBatch(b),
        labels: masked ? masked.labels : objective.kind === "lm" ? "lm" : b.labels,
        paramGrads: true,
        dropout: dropout > 0 ? { p: dropout, seed: mixSeed(seed, 2, step) } : undefined,
      });
      if (!Number.isFinite(loss)) {
        throw new Error(`train: the loss became ${loss} at update ${step + 1} (epoch ${epoch})`);
      }
      const gradNorm = clipGradNorm(model.params, maxGradNorm);
      optimizer.step(lr);
      step++;
      lossSum += loss!;
      if (opts.checkpoint && saveEvery > 0 && step % saveEvery === 0) {
        const { dir, ...save } = opts.checkpoint;
        await saveModel(model, `${dir}/last`, save);
      }
      opts.onStep?.({
        epoch,
        step,
        totalSteps,
        loss: loss!,
        lr,
        gradNorm,
        elapsed: (performance.now() - started) / 1000,
      });
    }
    const result: EpochResult = { epoch, trainLoss: lossSum / batches.length, best: false, seconds: 0 };
    if (opts.dev?.length) {
      result.dev = evaluate(model, opts.dev, { objective, batchSize: opts.evalBatchSize, padId: opts.padId });
      const value = result.dev.metrics[key];
      if (value === undefined) throw new Error(`train: evaluation gave no "${key}" metric`);
      if (best === undefined || (higherIsBetter ? value > best : value < best)) {
        best = value;
        bestEpoch = epoch;
        result.best = true;
      }
    } else {
      bestEpoch = epoch;
      result.best = true;
    }
    if (opts.checkpoint) {
      const { dir, ...save } = opts.checkpoint;
      if (result.best) await saveModel(model, `${dir}/best`, save);
      await saveModel(model, `${dir}/last`, save);
    }
    result.seconds = (performance.now() - epochStart) / 1000;
    epochs.push(result);
    opts.onEpoch?.(result);
  }
  const out: TrainResult = { epochs, totalSteps, bestEpoch, seconds: (performance.now() - started) / 1000 };
  if (best !== undefined) out.bestMetric = { key, value: best };
  return out;
}
