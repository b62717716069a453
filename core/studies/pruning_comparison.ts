/**
 * HF `run_bertology.py`'s `prune_heads`: the same data scored and timed under a head mask and on the model
 * with those heads really removed (optionally also on the original model), by the task's own metric.
 *
 * @module
 */

import { computeHeadImportance } from "../bertology/importance.ts";
import { headsFromMask, pruneModel } from "../bertology/prune.ts";
import type { HeadMask } from "../models/inputs.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import type { TransformerModel } from "../models/model.ts";
import type { StudyDataset } from "./dataset.ts";
import { taskSpec } from "./dataset.ts";
import { defaultMetric, type ScoreInput, scoreTask } from "./score.ts";
import { median } from "./latency_table.ts";

/** Progress of one forward pass: called after each batch, then once when the pass ends. */
export interface PassProgress {
  /** After each batch. */
  tick(): void;
  /** When the pass is done. */
  end(): void;
}

/** Score and time of one forward-only pass. */
export interface ScoredPass {
  /** The score by the comparison's metric. */
  score: number;
  /** Wall-clock seconds of the pass: the median of `runs` when it was timed several times. */
  seconds: number;
  /** Seconds of each timed pass, in the order they ran (one entry unless timed several times). */
  runs: number[];
}

/** Options of {@linkcode comparePrunedToMasked}. */
export interface PruningComparisonOptions {
  /** The metric (default: the task's, see `defaultMetric`). */
  metric?: string | undefined;
  /** Kernels of the pruned model (default: fresh WASM kernels). */
  kernels?: Kernels | undefined;
  /** Also score and time the original, unmasked model first (default false). */
  includeOriginal?: boolean | undefined;
  /**
   * Time each pass this many times (default 1), the passes interleaved round by round so background load
   * hits them alike; `seconds` is then the median. Scores come from the first round.
   */
  repeats?: number | undefined;
  /** Progress of each pass, by its name ("original", "masked", "pruned") and batch count. */
  progress?: ((pass: "original" | "masked" | "pruned", batches: number) => PassProgress) | undefined;
}

/** What {@linkcode comparePrunedToMasked} measures. */
export interface PruningComparison {
  /** The metric of every score. */
  metric: string;
  /** The heads removed, by layer (`headsFromMask`). */
  headsPruned: Record<string, number[]>;
  /** Parameters before and after pruning. */
  parametersBefore: number;
  parametersAfter: number;
  /** The original model (with `includeOriginal`). */
  original?: ScoredPass;
  /** The model under the head mask. */
  masked: ScoredPass;
  /** The pruned model. */
  pruned: ScoredPass;
  /** How much faster the pruned model ran than the masked one: masked seconds / pruned seconds (medians). */
  speedup: number;
  /** The pruned model itself (to save it). */
  prunedModel: TransformerModel;
}

/**
 * A forward-only pass over batches (no gradient, no entropy), scored and timed.
 *
 * @param model the model
 * @param data the batches
 * @param score the scorer (`scoreTask`)
 * @param opts an optional head mask and progress
 * @returns the score and seconds
 * @throws {Error} for an empty dataset or a batch the model rejects
 * @example Usage
 * ```ts ignore
 * scoredPass(model, data, scoreTask({ kind: model.task, glueTask: "sst-2" })).score;
 * ```
 */
export function scoredPass(
  model: TransformerModel,
  data: Pick<StudyDataset, "batches">,
  score: (r: ScoreInput) => number,
  opts: { headMask?: HeadMask | undefined; progress?: PassProgress | undefined } = {},
): ScoredPass {
  const t0 = performance.now();
  const r = computeHeadImportance(model, data.batches, {
    ...(opts.headMask !== undefined ? { headMask: opts.headMask } : {}),
    computeImportance: false,
    computeEntropy: false,
    ...(opts.progress ? { onBatch: () => opts.progress!.tick() } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  opts.progress?.end();
  return { score: score(r), seconds, runs: [seconds] };
}

/**
 * Scores and times the data under `headMask`, then prunes those heads and scores and times the pruned
 * model (the scores agree up to float rounding; the pruned model is faster and smaller), each pass timed
 * `repeats` times, interleaved.
 *
 * @param model the model
 * @param data the batches and their GLUE task
 * @param headMask [layers][heads] of 0 (prune) / 1 (keep)
 * @param opts metric, kernels, whether to include the original, repeats, progress
 * @returns the scores, times (and the speed-up), parameter counts and the pruned model
 * @throws {Error} for an empty dataset, a metric the task does not report, a mask the model rejects, or
 *   `repeats` not a positive integer
 * @example Usage
 * ```ts ignore
 * const cmp = comparePrunedToMasked(model, data, masking.headMask);
 * cmp.speedup; // masked seconds / pruned seconds
 * ```
 */
export function comparePrunedToMasked(
  model: TransformerModel,
  data: Pick<StudyDataset, "batches" | "task">,
  headMask: number[][],
  opts: PruningComparisonOptions = {},
): PruningComparison {
  const spec = taskSpec(model, data);
  const metric = opts.metric ?? defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const repeats = opts.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats must be a positive integer, got ${repeats}`);
  const headsPruned = headsFromMask(headMask);
  const prunedModel = pruneModel(model, headsPruned, opts.kernels ?? createWasmKernels());
  type Pass = ["original" | "masked" | "pruned", TransformerModel, HeadMask | undefined];
  const passes: Pass[] = [["masked", model, headMask], ["pruned", prunedModel, undefined]];
  if (opts.includeOriginal) passes.unshift(["original", model, undefined]);
  const results = new Map<string, ScoredPass>();
  for (let round = 0; round < repeats; round++) {
    for (const [name, m, mask] of passes) {
      const p = scoredPass(m, data, score, {
        headMask: mask,
        progress: round === 0 ? opts.progress?.(name, data.batches.length) : undefined,
      });
      const seen = results.get(name);
      if (seen === undefined) results.set(name, p);
      else seen.runs.push(p.seconds);
    }
  }
  for (const r of results.values()) r.seconds = median(r.runs);
  const original = results.get("original"), masked = results.get("masked")!, pruned = results.get("pruned")!;
  return {
    metric,
    headsPruned,
    parametersBefore: model.params.count(),
    parametersAfter: prunedModel.params.count(),
    ...(original !== undefined ? { original } : {}),
    masked,
    pruned,
    speedup: masked.seconds / pruned.seconds,
    prunedModel,
  };
}
