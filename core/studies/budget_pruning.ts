/**
 * Kwon et al. 2022's retraining-free pruning to a budget, end to end on a sample of labelled batches:
 * Fisher importance from the mask gradients, the mask search under a FLOPs or latency budget, the mask
 * rearrangement, and layer-wise least-squares mask tuning (see `../bertology/kwon/`), each stage timed; and
 * the scoring of a model under head and neuron masks.
 *
 * @module
 */

import type { LabelledBatch } from "../bertology/importance.ts";
import {
  encoderFlops,
  encoderLatency,
  fitPiecewiseLatency,
  type LatencyTable,
  type PiecewiseLatency,
  unitFlops,
} from "../bertology/kwon/cost.ts";
import {
  collectMaskGradients,
  type FisherImportance,
  fisherImportance,
  type MaskGradients,
} from "../bertology/kwon/fisher.ts";
import { rearrangeLayer } from "../bertology/kwon/rearrange.ts";
import { searchFlops, searchLatency, type UnitMasks } from "../bertology/kwon/search.ts";
import { tuneMasks } from "../bertology/kwon/tune.ts";
import { keptHeads } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import { traceModel } from "../models/trace_ops.ts";
import { permutation } from "../rng.ts";
import { predictionsFromLogits } from "./predictions.ts";
import type { ScoreInput } from "./score.ts";

/** A budget: a fraction of the unpruned encoder's FLOPs, or of its latency measured on this engine. */
export interface Budget {
  /** What is constrained. */
  kind: "flops" | "latency";
  /** The fraction of the unpruned encoder's, in (0, 1]. */
  fraction: number;
}

/**
 * Parses `flops=0.6` or `latency=0.7`.
 *
 * @throws {Error} naming the text, for another kind or a fraction outside (0, 1]
 * @example Usage
 * ```ts
 * import { parseBudget } from "./budget_pruning.ts";
 * parseBudget("flops=0.6"); // { kind: "flops", fraction: 0.6 }
 * ```
 */
export function parseBudget(text: string): Budget {
  const m = /^(flops|latency)=([0-9.eE+-]+)$/.exec(text.trim());
  const fraction = m ? Number(m[2]) : NaN;
  if (!m || !(fraction > 0 && fraction <= 1)) {
    throw new Error(`budget "${text}": expected flops=F or latency=F with F in (0, 1], e.g. flops=0.6`);
  }
  return { kind: m[1] as Budget["kind"], fraction };
}

/** Options of {@linkcode pruneToBudget}. */
export interface BudgetPruningOptions {
  /** Which units the search may prune (default both). */
  units?: "heads" | "heads+neurons" | undefined;
  /** Run the rearrangement (default true). */
  rearrange?: boolean | undefined;
  /** Run the least-squares mask tuning (default true). */
  tune?: boolean | undefined;
  /** The latency table (required for a latency budget; see `latency_table.ts`). */
  latencyTable?: LatencyTable | undefined;
  /**
   * Examples of the sample the least-squares tuning fits on (default 512): evenly spaced batches of the
   * sample. The fit has at most one unknown per unit and a row per token and feature, so a quarter of the
   * sample determines it well and saves three quarters of the stage's passes.
   */
  tuneSample?: number | undefined;
  /** Sequence length FLOPs are counted at (default: the sample's mean real tokens per example). */
  seqLen?: number | undefined;
  /** Mask gradients already collected on this sample (several budgets share one Fisher pass). */
  gradients?: MaskGradients | undefined;
  /** Called when a stage starts. */
  onStage?: ((stage: "fisher" | "search" | "rearrange" | "tune") => void) | undefined;
}

/** What {@linkcode pruneToBudget} returns. */
export interface BudgetPruning {
  /** The budget. */
  budget: Budget;
  /** Which units were searched. */
  units: "heads" | "heads+neurons";
  /** The 0/1 masks after search (and rearrangement). */
  binary: UnitMasks;
  /** The final masks: 0 pruned, the tuned value kept. */
  masks: UnitMasks;
  /** Kept heads per layer. */
  headsPerLayer: number[];
  /** Kept neurons per layer. */
  neuronsPerLayer: number[];
  /** Encoder FLOPs per example at `seqLen` (matrix products; see `cost.ts`). */
  flops: { seqLen: number; full: number; pruned: number; fraction: number };
  /** The latency the table predicts (latency budgets). */
  latency?: { fits: { mha: PiecewiseLatency; ffn: PiecewiseLatency }; full: number; pruned: number; fraction: number };
  /** The Fisher importance. */
  fisher: FisherImportance;
  /** The per-batch mask gradients it came from (pass them back as `gradients` for another budget). */
  gradients: MaskGradients;
  /** Sub-layers the tuning fitted, and why it stopped early if it did. */
  tuned: string[];
  tuneStopped?: string;
  /** Sample size. */
  sample: { examples: number; batches: number; tokens: number };
  /** Seconds per stage. */
  seconds: { fisher: number; search: number; rearrange: number; tune: number };
}

/**
 * Prunes heads and neurons to a budget without retraining (Kwon et al. 2022; see the module doc).
 *
 * @param model the unpruned (or head-pruned) model
 * @param sample labelled batches from the training data
 * @param budget the FLOPs or latency fraction
 * @param opts units, stages, the latency table
 * @returns the masks, costs and stage times
 * @throws {Error} for an empty sample, a latency budget without a table, or a budget a heads-only search
 *   cannot meet
 */
export function pruneToBudget(
  model: TransformerModel,
  sample: readonly LabelledBatch[],
  budget: Budget,
  opts: BudgetPruningOptions = {},
): BudgetPruning {
  const c = model.config;
  const units = opts.units ?? "heads+neurons";
  const countKept = (m: number[][]) => m.map((r) => r.filter((v) => v !== 0).length);
  const clock = () => performance.now() / 1000;
  const seconds = { fisher: 0, search: 0, rearrange: 0, tune: 0 };

  opts.onStage?.("fisher");
  let t = clock();
  const grads = opts.gradients ?? collectMaskGradients(model, sample);
  const fisher = fisherImportance(grads);
  seconds.fisher = clock() - t;

  opts.onStage?.("search");
  t = clock();
  const available = {
    heads: c.prunedHeads.map((_, l) => {
      const kept = new Set(keptHeads(c, l));
      return Array.from({ length: c.heads }, (_, h) => kept.has(h));
    }),
  };
  const seqLen = opts.seqLen ?? grads.tokens / grads.examples;
  const heads0 = c.prunedHeads.map((p) => c.heads - p.length), neurons0 = c.intermediateSizes;
  const fullFlops = encoderFlops(c, heads0, neurons0, seqLen);
  let binary: UnitMasks;
  let latency: BudgetPruning["latency"];
  if (budget.kind === "flops") {
    // each unit's FLOPs from the family's own trace; a block stack's units cost alike in every layer that
    // still has some (a layer pruned to nothing reads 0)
    const unit = unitFlops(traceModel(model.family, c), model.family, c, seqLen);
    const cost = {
      headFlops: Math.max(...unit.head),
      neuronFlops: Math.max(...unit.neuron),
      budget: budget.fraction * fullFlops,
    };
    binary = searchFlops(fisher, cost, available, units === "heads");
  } else {
    const table = opts.latencyTable;
    if (table === undefined) throw new Error("A latency budget needs a latency table (measureLatencyTable)");
    const fits = {
      mha: fitPiecewiseLatency(table.mha.map((_, h) => h), table.mha),
      ffn: fitPiecewiseLatency(table.ffnCounts, table.ffn),
    };
    const full = encoderLatency(table, heads0, neurons0);
    const search = (limit: number): UnitMasks => {
      if (units === "heads+neurons") return searchLatency(fisher, fits, limit, available);
      // neurons all kept: the heads get what the MLPs leave
      const ffnFit = { ...fits.ffn, base: 0, slope: 0 };
      const mlp = neurons0.reduce((a, n) => a + encoderLatency(table, [0], [n]), 0);
      const m = searchLatency(fisher, { mha: fits.mha, ffn: ffnFit }, limit - mlp, available);
      return { heads: m.heads, neurons: c.intermediateSizes.map((I) => new Array<number>(I).fill(1)) };
    };
    // the search prices units by the piecewise-linear fit; the measured table decides: tighten the fit's
    // budget until the table's latency of the chosen counts meets the real one
    const target = budget.fraction * full;
    const tableLatency = (m: UnitMasks) => encoderLatency(table, countKept(m.heads), countKept(m.neurons));
    let limit = target;
    binary = search(limit);
    for (let k = 0; k < 100 && tableLatency(binary) > target; k++) binary = search(limit *= 0.98);
    latency = { fits, full, pruned: 0, fraction: 0 };
  }
  seconds.search = clock() - t;

  opts.onStage?.("rearrange");
  t = clock();
  if (opts.rearrange !== false) {
    binary = {
      heads: binary.heads.map((row, l) => rearrangeLayer(row, grads.heads.map((b) => b[l]!), available.heads[l])),
      neurons: binary.neurons.map((row, l) => rearrangeLayer(row, grads.neurons.map((b) => b[l]!))),
    };
  }
  seconds.rearrange = clock() - t;

  opts.onStage?.("tune");
  t = clock();
  let masks: UnitMasks = binary, tuned: string[] = [], tuneStopped: string | undefined;
  if (opts.tune !== false) {
    const rowsPerBatch = sample.length > 0 ? grads.examples / sample.length : 1;
    const wanted = Math.max(1, Math.round((opts.tuneSample ?? 512) / rowsPerBatch));
    const stride = Math.max(1, Math.floor(sample.length / wanted));
    const tuneBatches = sample.filter((_, i) => i % stride === 0).slice(0, wanted);
    const r = tuneMasks(model, tuneBatches, binary);
    masks = { heads: r.heads, neurons: r.neurons };
    tuned = r.tuned;
    tuneStopped = r.stopped;
  }
  seconds.tune = clock() - t;

  const headsPerLayer = binary.heads.map((r) => r.filter((v) => v !== 0).length);
  const neuronsPerLayer = binary.neurons.map((r) => r.filter((v) => v !== 0).length);
  const prunedFlops = encoderFlops(c, headsPerLayer, neuronsPerLayer, seqLen);
  if (latency && opts.latencyTable) {
    latency.pruned = encoderLatency(opts.latencyTable, headsPerLayer, neuronsPerLayer);
    latency.fraction = latency.full > 0 ? latency.pruned / latency.full : 0;
  }
  return {
    budget,
    units,
    binary,
    masks,
    headsPerLayer,
    neuronsPerLayer,
    flops: { seqLen, full: fullFlops, pruned: prunedFlops, fraction: prunedFlops / fullFlops },
    ...(latency ? { latency } : {}),
    fisher,
    gradients: grads,
    tuned,
    ...(tuneStopped !== undefined ? { tuneStopped } : {}),
    sample: { examples: grads.examples, batches: sample.length, tokens: grads.tokens },
    seconds,
  };
}

/**
 * A forward pass over batches under head and neuron masks, as a scorer reads it: per-example predictions and
 * labels (classifiers, regressors) and the mean loss.
 *
 * @param model the model
 * @param batches the labelled batches
 * @param masks optional head and neuron masks
 * @returns what `scoreTask` scores
 * @throws {Error} for no batch
 */
export function maskedPass(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  masks: { heads?: number[][] | undefined; neurons?: number[][] | undefined } = {},
): ScoreInput {
  if (batches.length === 0) throw new Error("maskedPass: no batches");
  const preds: number[] = [], labels: number[] = [];
  let lossSum = 0, count = 0;
  for (const { batch, labels: y } of batches) {
    const r = model.run({
      batch,
      labels: y,
      ...(masks.heads ? { headMask: masks.heads } : {}),
      ...(masks.neurons ? { neuronMask: masks.neurons } : {}),
    });
    if (y !== "lm" && model.task !== "lm") {
      preds.push(...predictionsFromLogits(model.task, r.logits!));
      for (let b = 0; b < batch.batchSize; b++) labels.push(Number(y[b]));
    }
    lossSum += (r.loss ?? 0) * (r.lossCount ?? 0);
    count += r.lossCount ?? 0;
  }
  return { preds, labels, loss: count > 0 ? lossSum / count : 0 };
}

/**
 * A reproducible random sample of `n` examples (all when there are fewer), ordered by length so that each
 * batch pads little (Kwon et al. use a random sample of the training set; the order only changes which
 * examples share a mini-batch).
 *
 * @param examples the training examples
 * @param n sample size
 * @param seed RNG seed
 * @example Usage
 * ```ts
 * import { trainingSample } from "./budget_pruning.ts";
 * trainingSample([{ textA: "a b c" }, { textA: "a" }, { textA: "ab" }], 2, 0).length; // 2
 * ```
 */
export function trainingSample<E extends { textA: string; textB?: string | undefined }>(
  examples: readonly E[],
  n: number,
  seed: number,
): E[] {
  const order = permutation(examples.length, seed);
  const picked = Array.from(order.slice(0, Math.min(n, examples.length)), (i) => examples[i]!);
  const len = (e: E) => e.textA.length + (e.textB?.length ?? 0);
  return picked.sort((a, b) => len(a) - len(b));
}
