/**
 * The statistics a reviewer asks of a head-masking study: how sure each score is (a percentile bootstrap over
 * the dataset's examples), what masking the same number of heads at random gives (Budhraja et al. 2020 found
 * random pruning nearly as good as importance-based pruning at moderate sparsity), and how stable the
 * importance ranking is across data (Spearman correlation of the importances measured on two random halves).
 *
 * @module
 */

import { computeHeadImportance, type LabelledBatch } from "../bertology/importance.ts";
import { spearman } from "../metrics/spearman.ts";
import type { TransformerModel } from "../models/model.ts";
import { mixSeed, mulberry32, permutation } from "../rng.ts";
import type { ScoreInput } from "./score.ts";

/** A confidence interval. */
export interface Interval {
  /** Lower and upper bounds. */
  low: number;
  high: number;
}

/** Options of {@linkcode bootstrapInterval}. */
export interface BootstrapOptions {
  /** Resamples of the examples (default 1000). */
  resamples?: number | undefined;
  /** Coverage of the interval (default 0.95). */
  level?: number | undefined;
  /** Resampling seed (default 0). */
  seed?: number | undefined;
}

/**
 * The percentile bootstrap interval of a score over a pass's examples: the examples are drawn with
 * replacement `resamples` times, each draw scored, and the (1 − level)/2 and (1 + level)/2 quantiles returned.
 * `null` for a pass without per-example predictions (a language model's, scored by its mean loss).
 *
 * @param pass per-example predictions and labels
 * @param score the metric (`scoreTask`)
 * @param opts resamples, level, seed
 * @returns the interval, or null
 * @throws {Error} for a level outside (0, 1) or a resample count below 1
 * @example Usage
 * ```ts
 * import { bootstrapInterval } from "./masking_statistics.ts";
 * import { scoreTask } from "./score.ts";
 * const preds = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 0 : 1));
 * const labels = new Array(200).fill(1);
 * const ci = bootstrapInterval({ preds, labels, loss: 0 }, scoreTask({ kind: "classify", glueTask: "sst-2" }))!;
 * ci.low < 0.75 && 0.75 < ci.high; // true
 * ```
 */
export function bootstrapInterval(
  pass: ScoreInput,
  score: (r: ScoreInput) => number,
  opts: BootstrapOptions = {},
): Interval | null {
  const resamples = opts.resamples ?? 1000, level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`bootstrap resamples must be a positive integer, got ${resamples}`);
  }
  const n = pass.preds.length;
  if (n === 0 || pass.labels.length !== n) return null;
  const random = mulberry32(mixSeed(opts.seed ?? 0, 0xb007));
  const preds = new Array<number>(n), labels = new Array<number>(n);
  const scores = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(random() * n);
      preds[i] = pass.preds[j]!;
      labels[i] = pass.labels[j]!;
    }
    scores[b] = score({ preds, labels, loss: pass.loss });
  }
  scores.sort();
  const at = (q: number) => scores[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { low: at((1 - level) / 2), high: at((1 + level) / 2) };
}

/**
 * `count` head masks that each keep `kept` heads drawn uniformly at random (heads pruned from the checkpoint
 * are never drawn: they stay masked), seeded.
 *
 * @param layers layers of the model
 * @param heads heads per layer
 * @param kept heads each mask keeps
 * @param count how many masks
 * @param opts seed, and the heads already pruned per layer
 * @returns the masks, [layers][heads] of 0/1
 * @throws {Error} when `kept` exceeds the heads available
 * @example Usage
 * ```ts
 * import { randomHeadMasks } from "./masking_statistics.ts";
 * const [mask] = randomHeadMasks(2, 3, 4, 1);
 * mask!.flat().reduce((a, b) => a + b, 0); // 4
 * ```
 */
export function randomHeadMasks(
  layers: number,
  heads: number,
  kept: number,
  count: number,
  opts: { seed?: number | undefined; prunedHeads?: readonly (readonly number[])[] | undefined } = {},
): number[][][] {
  const available = [...Array(layers * heads).keys()].filter((i) =>
    !(opts.prunedHeads?.[Math.floor(i / heads)]?.includes(i % heads) ?? false)
  );
  if (!Number.isInteger(kept) || kept < 0 || kept > available.length) {
    throw new Error(`a random mask cannot keep ${kept} of ${available.length} heads`);
  }
  return Array.from({ length: count }, (_, k) => {
    const order = permutation(available.length, mixSeed(opts.seed ?? 0, kept, k));
    const mask = Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
    for (let i = 0; i < kept; i++) {
      const head = available[order[i]!]!;
      mask[Math.floor(head / heads)]![head % heads] = 1;
    }
    return mask;
  });
}

/** The random-masking baseline at one number of heads kept. */
export interface RandomBaseline {
  /** Heads each random mask keeps. */
  headsKept: number;
  /** The score of each random mask. */
  scores: number[];
  /** Their mean, lowest and highest. */
  mean: number;
  min: number;
  max: number;
}

/**
 * Scores `count` random masks that keep `headsKept` heads (forward passes only): the baseline an importance
 * ranking has to beat (Budhraja et al. 2020).
 *
 * @param model the model
 * @param batches the labelled batches
 * @param score the metric
 * @param headsKept heads each mask keeps
 * @param opts how many masks (default 3) and the seed
 * @returns the scores and their summary
 * @throws {Error} as `computeHeadImportance`, or for more heads than the model has
 * @example Usage
 * ```ts ignore
 * randomMaskingBaseline(model, data.batches, scoreTask(spec), 20, { count: 3 }).mean;
 * ```
 */
export function randomMaskingBaseline(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  score: (r: ScoreInput) => number,
  headsKept: number,
  opts: { count?: number | undefined; seed?: number | undefined } = {},
): RandomBaseline {
  const { layers, heads, prunedHeads } = model.config;
  const masks = randomHeadMasks(layers, heads, headsKept, opts.count ?? 3, { seed: opts.seed, prunedHeads });
  const scores = masks.map((headMask) =>
    score(computeHeadImportance(model, batches, { headMask, computeImportance: false, computeEntropy: false }))
  );
  return {
    headsKept,
    scores,
    mean: scores.reduce((a, b) => a + b, 0) / scores.length,
    min: Math.min(...scores),
    max: Math.max(...scores),
  };
}

/** How stable a head-importance ranking is over data: Spearman ρ between the importances of two halves. */
export interface RankStability {
  /** ρ of each random split into halves. */
  spearman: number[];
  /** Their mean, lowest and highest. */
  mean: number;
  min: number;
  max: number;
  /** Examples in each half of each split ([a, b]). */
  halves: Array<[number, number]>;
}

/**
 * Splits the batches into two random halves `splits` times, measures head importance on each half and
 * correlates the two rankings (Spearman ρ over all heads). Batches, not examples, are split, so each half keeps
 * the length buckets it was batched in; a ρ near 1 means the ranking is a property of the model, near 0 that
 * it is noise of this dataset.
 *
 * @param model the model
 * @param batches the labelled batches (at least 2)
 * @param opts splits (default 5), seed, and the importance options of the study (normalisation, per example)
 * @returns ρ per split and its summary
 * @throws {Error} for fewer than 2 batches, or as `computeHeadImportance`
 * @example Usage
 * ```ts ignore
 * importanceRankStability(model, data.batches, { splits: 5 }).mean; // e.g. 0.83
 * ```
 */
export function importanceRankStability(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  opts: {
    splits?: number | undefined;
    seed?: number | undefined;
    normalizeByLayer?: boolean | undefined;
    normalizeGlobal?: boolean | undefined;
    perExample?: boolean | undefined;
  } = {},
): RankStability {
  if (batches.length < 2) throw new Error(`rank stability needs at least 2 batches to split, got ${batches.length}`);
  const splits = opts.splits ?? 5;
  const importance = (part: LabelledBatch[]) =>
    computeHeadImportance(model, part, {
      normalizeByLayer: opts.normalizeByLayer,
      normalizeGlobal: opts.normalizeGlobal,
      perExample: opts.perExample,
      computeEntropy: false,
    }).importance.data;
  const rho: number[] = [], halves: Array<[number, number]> = [];
  for (let s = 0; s < splits; s++) {
    const order = permutation(batches.length, mixSeed(opts.seed ?? 0, 0x5b1, s));
    const a: LabelledBatch[] = [], b: LabelledBatch[] = [];
    order.forEach((i, k) => (k % 2 === 0 ? a : b).push(batches[i]!));
    rho.push(spearman(importance(a), importance(b)));
    const size = (part: LabelledBatch[]) => part.reduce((n, x) => n + x.batch.batchSize, 0);
    halves.push([size(a), size(b)]);
  }
  return {
    spearman: rho,
    mean: rho.reduce((x, y) => x + y, 0) / rho.length,
    min: Math.min(...rho),
    max: Math.max(...rho),
    halves,
  };
}
