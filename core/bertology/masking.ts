/**
 * Iterative head masking (Michel et al. 2019, §4; HF `run_bertology.py` `mask_heads`): repeatedly mask the
 * least important remaining heads, re-measure importance under the new mask, and stop before the score falls
 * below `threshold × original score`.
 *
 * @module
 */

import type { ModelConfig } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import { scoreTask } from "../studies/score.ts";
import {
  computeHeadImportance,
  computeHeadImportanceWith,
  type ImportanceEngine,
  type ImportanceOptions,
  type ImportanceResult,
  type LabelledBatch,
} from "./importance.ts";

/** Options of {@linkcode maskHeadsIteratively}. */
export interface MaskingOptions {
  /** Keep masking while the score stays ≥ threshold × original (HF `--masking_threshold`, default 0.9). */
  threshold?: number | undefined;
  /** Fraction of all heads masked per step: max(1, int(L·H·amount)) (HF `--masking_amount`, default 0.1). */
  amount?: number | undefined;
  /**
   * The score of a pass (higher is better), from its predictions. Default: the model's task kind's default
   * metric (`scoreTask({ kind: model.task })`): accuracy for a classifier, the mean of Pearson and Spearman
   * for a regressor, 1/perplexity = exp(−loss) for a language model.
   */
  score?: ((r: ImportanceResult) => number) | undefined;
  /** Never leave a layer with fewer than this many heads (the paper authors' option; default 0). */
  atLeastHeadsPerLayer?: number | undefined;
  /** Re-measure importance under each new mask (HF behaviour, default true); false ranks once. */
  rerank?: boolean | undefined;
  /** Passed to each importance pass: divide each layer by its L2 norm (default true). */
  normalizeByLayer?: boolean | undefined;
  /** Passed to each importance pass: min-max over all heads (default true). */
  normalizeGlobal?: boolean | undefined;
  /** Passed to each importance pass: per-example gradients (see `ImportanceOptions.perExample`; default false). */
  perExample?: boolean | undefined;
  /** Called after each step, with the pass it was scored from (its predictions, e.g. for a bootstrap). */
  onStep?: ((step: MaskingStep, pass: ImportanceResult) => void) | undefined;
}

/** One step of the masking loop. */
export interface MaskingStep {
  /** 0 for the unmasked model. */
  step: number;
  /** The score under this step's mask. */
  score: number;
  /** Heads still unmasked. */
  headsKept: number;
  /** Their fraction of all heads. */
  fractionKept: number;
  /** [layer, head] pairs masked at this step. */
  newlyMasked: Array<[number, number]>;
  /** Seconds this step's passes took. */
  seconds: number;
}

/** The outcome of {@linkcode maskHeadsIteratively}. */
export interface MaskingResult {
  /** The last mask whose score stayed above the threshold, [layers][heads] of 0/1. */
  headMask: number[][];
  /** Score of the unmasked model. */
  originalScore: number;
  /** Score of the returned mask. */
  finalScore: number;
  /** Every step, including the one that fell below the threshold (when it happened). */
  steps: MaskingStep[];
}

/**
 * Masks heads step by step as HF's script does, with the options above.
 *
 * @throws {Error} for an empty dataset or options out of range
 * @example Usage
 * ```ts ignore
 * const { headMask, steps } = maskHeadsIteratively(model, batches, { threshold: 0.9, amount: 0.1 });
 * ```
 */
export function maskHeadsIteratively(
  model: TransformerModel,
  batches: readonly LabelledBatch[],
  opts: MaskingOptions = {},
): MaskingResult {
  const loop = maskingLoop(model.config, opts);
  let next = loop.next();
  while (!next.done) {
    const t0 = performance.now();
    const r = computeHeadImportance(model, batches, { ...next.value, computeEntropy: false });
    next = loop.next({ r, seconds: (performance.now() - t0) / 1000 });
  }
  return next.value;
}

/**
 * {@linkcode maskHeadsIteratively} with each importance pass run by another engine (an exported graph on ONNX
 * Runtime): the same steps, masks and scores.
 *
 * @param engine runs one batch (see `computeHeadImportanceWith`)
 * @param config the model's config
 * @param batches the labelled batches
 * @param opts as {@linkcode maskHeadsIteratively}
 * @returns what {@linkcode maskHeadsIteratively} returns
 * @throws {Error} for an empty dataset, options out of range, or a batch the engine rejects
 * @example Usage
 * ```ts ignore
 * const { headMask } = await maskHeadsIterativelyWith(ortImportanceEngine(onnx), model.config, batches);
 * ```
 */
export async function maskHeadsIterativelyWith(
  engine: ImportanceEngine,
  config: ModelConfig,
  batches: readonly LabelledBatch[],
  opts: MaskingOptions = {},
): Promise<MaskingResult> {
  const loop = maskingLoop(config, opts);
  let next = loop.next();
  while (!next.done) {
    const t0 = performance.now();
    const r = await computeHeadImportanceWith(engine, config, batches, { ...next.value, computeEntropy: false });
    next = loop.next({ r, seconds: (performance.now() - t0) / 1000 });
  }
  return next.value;
}

/** A pass the masking loop asks for: the mask to run under and the importance options. */
export type PassRequest = Pick<ImportanceOptions, "headMask" | "normalizeByLayer" | "normalizeGlobal" | "perExample">;

/**
 * The masking loop, independent of the engine: yields each importance pass it needs and is resumed with its
 * result and duration, so the synchronous and asynchronous drivers above — and a study sharded over machines,
 * which runs each pass as a round of shards and replays the loop over the merged rounds — share every decision.
 *
 * @param config the model's config (sizes, pruned heads)
 * @param opts as {@linkcode maskHeadsIteratively}
 * @returns a generator: yields pass requests, is resumed with each pass's result, returns the masking result
 * @throws {Error} for options out of range
 * @example Usage
 * ```ts ignore
 * const loop = maskingLoop(model.config, { threshold: 0.9 });
 * let next = loop.next();
 * while (!next.done) next = loop.next({ r: computeHeadImportance(model, batches, next.value), seconds: 0 });
 * ```
 */
export function* maskingLoop(
  config: ModelConfig,
  opts: MaskingOptions,
): Generator<PassRequest, MaskingResult, { r: ImportanceResult; seconds: number }> {
  const { layers: L, heads: H } = config;
  const threshold = opts.threshold ?? 0.9, amount = opts.amount ?? 0.1;
  if (!(amount > 0 && amount <= 1)) throw new Error(`masking amount must be in (0, 1], got ${amount}`);
  if (!(threshold > 0)) throw new Error(`masking threshold must be > 0, got ${threshold}`);
  const atLeast = opts.atLeastHeadsPerLayer ?? 0;
  const score = opts.score ?? scoreTask({ kind: config.task });
  const numToMask = Math.max(1, Math.floor(L * H * amount));
  const norm = {
    normalizeByLayer: opts.normalizeByLayer,
    normalizeGlobal: opts.normalizeGlobal,
    perExample: opts.perExample,
  };

  // already-pruned heads count as masked from the start
  let mask: number[][] = Array.from(
    { length: L },
    (_, l) => Array.from({ length: H }, (_, h) => (config.prunedHeads[l]?.includes(h) ? 0 : 1)),
  );
  let { r, seconds } = yield { ...norm, headMask: mask };
  const originalScore = score(r);
  const kept = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0);
  const steps: MaskingStep[] = [{
    step: 0,
    score: originalScore,
    headsKept: kept(mask),
    fractionKept: kept(mask) / (L * H),
    newlyMasked: [],
    seconds,
  }];
  opts.onStep?.(steps[0]!, r);
  let importance = r.importance.data;
  let current = originalScore, accepted = mask, acceptedScore = originalScore;

  while (current >= originalScore * threshold) {
    accepted = mask;
    acceptedScore = current;
    // rank unmasked heads from least to most important
    const order = [...Array(L * H).keys()]
      .filter((i) => mask[Math.floor(i / H)]![i % H] !== 0)
      .sort((a, b) => importance[a]! - importance[b]! || a - b);
    const perLayer = mask.map((row) => row.reduce((a, b) => a + b, 0));
    const chosen: Array<[number, number]> = [];
    for (const i of order) {
      if (chosen.length === numToMask) break;
      const l = Math.floor(i / H);
      if (perLayer[l]! - 1 < atLeast) continue;
      perLayer[l]!--;
      chosen.push([l, i % H]);
    }
    if (chosen.length < numToMask || order.length <= numToMask) break;
    mask = mask.map((row) => [...row]);
    for (const [l, h] of chosen) mask[l]![h] = 0;
    ({ r, seconds } = yield { ...norm, headMask: mask });
    current = score(r);
    if (opts.rerank !== false) importance = r.importance.data;
    const step: MaskingStep = {
      step: steps.length,
      score: current,
      headsKept: kept(mask),
      fractionKept: kept(mask) / (L * H),
      newlyMasked: chosen,
      seconds,
    };
    steps.push(step);
    opts.onStep?.(step, r);
  }
  return { headMask: accepted, originalScore, finalScore: acceptedScore, steps };
}
