/**
 * Iterative head masking of a dataset by the task's own metric: accuracy / F1 / MCC for a classifier,
 * Pearson / Spearman for a regressor (STS-B, custom float labels), 1/perplexity for a language model.
 *
 * @module
 */

import { maskHeadsIteratively, type MaskingOptions, type MaskingResult } from "../bertology/masking.ts";
import type { TransformerModel } from "../models/model.ts";
import type { StudyDataset } from "./dataset.ts";
import { perExampleByDefault, taskSpec } from "./dataset.ts";
import { defaultMetric, scoreTask } from "./score.ts";

/** Options of {@linkcode studyMasking}: the masking options, scored by a metric name instead of a function. */
export interface MaskingStudyOptions extends Omit<MaskingOptions, "score"> {
  /** The metric to keep above the threshold (default: the task's, see `defaultMetric`). */
  metric?: string | undefined;
}

/** What {@linkcode studyMasking} returns: the masking result and the metric its scores are. */
export interface MaskingStudy extends MaskingResult {
  /** The metric of every score in the result. */
  metric: string;
}

/**
 * Masks heads step by step (HF `mask_heads`) while the task's metric stays ≥ threshold × original.
 *
 * @param model the model
 * @param data the batches and their GLUE task
 * @param opts masking options and the metric
 * @returns the final mask, the scores and every step
 * @throws {Error} for an empty dataset, options out of range, or a metric the task does not report
 * @example Usage
 * ```ts ignore
 * const { headMask, finalScore, metric } = studyMasking(model, data, { threshold: 0.9, amount: 0.1 });
 * ```
 */
export function studyMasking(
  model: TransformerModel,
  data: Pick<StudyDataset, "batches" | "task"> & { batching?: StudyDataset["batching"] },
  opts: MaskingStudyOptions = {},
): MaskingStudy {
  const spec = taskSpec(model, data);
  const metric = opts.metric ?? defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const perExample = opts.perExample ?? perExampleByDefault(data, false);
  return { ...maskHeadsIteratively(model, data.batches, { ...opts, perExample, score }), metric };
}
