/**
 * Head importance over a dataset, scored by the task's own metric: one gradient pass of
 * {@linkcode computeHeadImportance} plus every metric the task reports. The CLI, the web API and the demo
 * all measure importance through here, so they give the same numbers for the same model and batches.
 *
 * @module
 */

import {
  computeHeadImportance,
  computeHeadImportanceWith,
  type ImportanceEngine,
  type ImportanceOptions,
  type ImportanceResult,
  type LabelledBatch,
} from "../bertology/importance.ts";
import type { TransformerModel } from "../models/model.ts";
import type { StudyDataset } from "./dataset.ts";
import { perExampleByDefault, taskSpec } from "./dataset.ts";
import { defaultMetric, scoreTask, taskMetrics } from "./score.ts";

/** Options of {@linkcode studyHeadImportance}. */
export interface ImportanceStudyOptions extends ImportanceOptions {
  /** The metric to score by (default: the task's, see `defaultMetric`). */
  metric?: string | undefined;
}

/** What {@linkcode studyHeadImportance} measures. */
export interface ImportanceStudy extends ImportanceResult {
  /** The metric `score` is. */
  metric: string;
  /** The pass's score by `metric` (higher is better). */
  score: number;
  /** Every metric the task reports for this pass. */
  metrics: Record<string, number>;
}

/**
 * Measures head importance and attention entropy over a dataset and scores the pass.
 *
 * @param model the model
 * @param data the batches (any iterable: a generator can check a deadline between them), their GLUE task and
 *   how they were batched: per-example gradients unless HF's batching (or `hfAccumulate`) is asked for, so that
 *   bucketing and batch size do not change the result
 * @param opts importance options and the metric
 * @returns the importance result with its score and metrics
 * @throws {Error} for an empty dataset, a metric the task does not report, or a batch the model rejects
 * @example Usage
 * ```ts ignore
 * const r = studyHeadImportance(model, data);
 * r.metric; r.score; r.importance.shape; // "acc", 0.81, [layers, heads]
 * ```
 */
export function studyHeadImportance(
  model: TransformerModel,
  data: { batches: Iterable<LabelledBatch>; task?: StudyDataset["task"]; batching?: StudyDataset["batching"] },
  opts: ImportanceStudyOptions = {},
): ImportanceStudy {
  const spec = taskSpec(model, data);
  const metric = opts.metric ?? defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const perExample = opts.perExample ?? perExampleByDefault(data, opts.hfAccumulate === true);
  const r = computeHeadImportance(model, data.batches, { ...opts, perExample });
  return { ...r, metric, score: score(r), metrics: taskMetrics(spec, r) };
}

/**
 * {@linkcode studyHeadImportance} with the passes run by another engine (an exported graph on ONNX Runtime,
 * see `ortImportanceEngine` in `@bertology/core/export`): the same scores and metrics.
 *
 * @param model the model the engine runs (its task and config)
 * @param data the batches and their GLUE task
 * @param engine runs one batch
 * @param opts importance options and the metric
 * @returns the importance result with its score and metrics
 * @throws {Error} for an empty dataset, a metric the task does not report, or a batch the engine rejects
 * @example Usage
 * ```ts ignore
 * const r = await studyHeadImportanceWith(model, data, ortImportanceEngine(onnx));
 * ```
 */
export async function studyHeadImportanceWith(
  model: TransformerModel,
  data: { batches: Iterable<LabelledBatch>; task?: StudyDataset["task"]; batching?: StudyDataset["batching"] },
  engine: ImportanceEngine,
  opts: ImportanceStudyOptions = {},
): Promise<ImportanceStudy> {
  const spec = taskSpec(model, data);
  const metric = opts.metric ?? defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const perExample = opts.perExample ?? perExampleByDefault(data, opts.hfAccumulate === true);
  const r = await computeHeadImportanceWith(engine, model.config, data.batches, { ...opts, perExample });
  return { ...r, metric, score: score(r), metrics: taskMetrics(spec, r) };
}
