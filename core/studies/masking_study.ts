/**
 * Iterative head masking of a dataset by the task's own metric: accuracy / F1 / MCC for a classifier,
 * Pearson / Spearman for a regressor (STS-B, custom float labels), 1/perplexity for a language model.
 *
 * @module
 */

import type { ImportanceEngine } from "../bertology/importance.ts";
import {
  maskHeadsIteratively,
  maskHeadsIterativelyWith,
  type MaskingOptions,
  type MaskingResult,
} from "../bertology/masking.ts";
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

/**
 * {@linkcode studyMasking} with the passes run by another engine (an exported graph on ONNX Runtime, see
 * `ortImportanceEngine` in `@bertology/core/export`): the same steps, masks and scores.
 *
 * @param model the model the engine runs (its task and config)
 * @param data the batches and their GLUE task
 * @param engine runs one batch
 * @param opts masking options and the metric
 * @returns the final mask, the scores and every step
 * @throws {Error} for an empty dataset, options out of range, or a metric the task does not report
 * @example Usage
 * ```ts ignore
 * const { headMask } = await studyMaskingWith(model, data, ortImportanceEngine(onnx), { threshold: 0.9 });
 * ```
 */
export async function studyMaskingWith(
  model: TransformerModel,
  data: Pick<StudyDataset, "batches" | "task"> & { batching?: StudyDataset["batching"] },
  engine: ImportanceEngine,
  opts: MaskingStudyOptions = {},
): Promise<MaskingStudy> {
  const spec = taskSpec(model, data);
  const metric = opts.metric ?? defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const perExample = opts.perExample ?? perExampleByDefault(data, false);
  const masking = await maskHeadsIterativelyWith(engine, model.config, data.batches, { ...opts, perExample, score });
  return { ...masking, metric };
}
