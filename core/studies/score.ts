/**
 * The score of a study pass, per task kind, written once: a classifier by accuracy, F1 or Matthews
 * correlation (as its GLUE task reports them), a regressor by Pearson / Spearman correlation, a language
 * model by `inv_ppl` = 1/perplexity = exp(−mean loss). Higher is better for every one, so masking can
 * compare any of them to `threshold × original`.
 *
 * @module
 */

import { accuracy } from "../metrics/accuracy.ts";
import { f1 } from "../metrics/f1.ts";
import { glueComputeMetrics } from "../metrics/glue_compute_metrics.ts";
import { matthewsCorrcoef } from "../metrics/matthews_corrcoef.ts";
import { pearsonAndSpearman } from "../metrics/pearson_and_spearman.ts";
import type { TaskKind } from "../models/config.ts";

/** What is scored: the model's task kind and, for GLUE data, the GLUE task whose metrics it reports. */
export interface TaskSpec {
  /** The model's task kind (`model.task`). */
  kind: TaskKind;
  /** HF GLUE task name (`"sst-2"`, `"sts-b"` …); absent for custom data. */
  glueTask?: string | undefined;
}

/** What a pass measured that a score is computed from (an `ImportanceResult` fits). */
export interface ScoreInput {
  /** Per example: predicted class or value (empty for a language model). */
  readonly preds: readonly number[];
  /** Per example: the label (empty for a language model). */
  readonly labels: readonly number[];
  /** Mean loss per prediction (per next token for a language model). */
  readonly loss: number;
}

const CUSTOM_CLASSIFY = ["acc", "f1", "mcc"] as const;
const REGRESS = ["pearson", "spearmanr", "corr"] as const;

/**
 * The metric names a task reports: a GLUE task's `glueComputeMetrics` keys; `acc`, `f1` (binary), `mcc`
 * for custom classification; `pearson`, `spearmanr`, `corr` (their mean) for custom regression; `inv_ppl`
 * for a language model.
 *
 * @param spec the task kind and optional GLUE task
 * @returns the metric names, the default first
 * @throws {Error} for an unknown GLUE task name
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { taskMetricNames } from "./score.ts";
 *
 * deepStrictEqual(taskMetricNames({ kind: "regress" }), ["corr", "pearson", "spearmanr"]);
 * ```
 */
export function taskMetricNames(spec: TaskSpec): string[] {
  const names = spec.kind === "lm"
    ? ["inv_ppl"]
    : spec.glueTask !== undefined
    ? Object.keys(glueComputeMetrics(spec.glueTask, [0, 1], [0, 1]))
    : spec.kind === "regress"
    ? [...REGRESS]
    : [...CUSTOM_CLASSIFY];
  const first = defaultMetric(spec);
  return [first, ...names.filter((n) => n !== first)];
}

/**
 * The metric a study scores by unless told otherwise (HF `run_bertology.py`'s `--metric_name` default,
 * per task): `mcc` for CoLA, `corr` for STS-B and custom regression, `inv_ppl` for a language model,
 * `acc` otherwise.
 *
 * @param spec the task kind and optional GLUE task
 * @returns the metric name
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { defaultMetric } from "./score.ts";
 *
 * strictEqual(defaultMetric({ kind: "classify", glueTask: "cola" }), "mcc");
 * ```
 */
export function defaultMetric(spec: TaskSpec): string {
  if (spec.kind === "lm") return "inv_ppl";
  const task = spec.glueTask?.trim().toLowerCase();
  if (task === "cola") return "mcc";
  if (task === "sts-b" || spec.kind === "regress") return "corr";
  return "acc";
}

/**
 * Every metric the task reports for one pass (see {@linkcode taskMetricNames}).
 *
 * @param spec the task kind and optional GLUE task
 * @param r the pass's predictions, labels and mean loss
 * @returns metric name → value
 * A regressor's correlations over a single example are `NaN`, as for a constant prediction.
 *
 * @throws {Error} when predictions and labels differ in length or are empty (classify, regress)
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { taskMetrics } from "./score.ts";
 *
 * deepStrictEqual(taskMetrics({ kind: "lm" }, { preds: [], labels: [], loss: 0 }), { inv_ppl: 1 });
 * ```
 */
export function taskMetrics(spec: TaskSpec, r: ScoreInput): Record<string, number> {
  if (spec.kind === "lm") return { inv_ppl: Math.exp(-r.loss) };
  // a correlation needs two points: one example has none (NaN, like a constant prediction)
  if (spec.kind === "regress" && r.preds.length < 2 && r.preds.length === r.labels.length && r.preds.length > 0) {
    return { pearson: NaN, spearmanr: NaN, corr: NaN };
  }
  if (spec.glueTask !== undefined) return glueComputeMetrics(spec.glueTask, r.preds, r.labels);
  if (spec.kind === "regress") return { ...pearsonAndSpearman(r.preds, r.labels) };
  const binary = [...r.preds, ...r.labels].every((v) => v === 0 || v === 1);
  return {
    acc: accuracy(r.preds, r.labels),
    ...(binary ? { f1: f1(r.preds, r.labels) } : {}),
    mcc: matthewsCorrcoef(r.preds, r.labels),
  };
}

/**
 * A scorer for one metric of a task: the function masking and the pruning comparison call on each pass.
 *
 * @param spec the task kind, optional GLUE task, and the metric (default {@linkcode defaultMetric})
 * @returns `(pass) => score`, higher is better
 * @throws {Error} naming the metric and the choices when the task does not report it
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { scoreTask } from "./score.ts";
 *
 * const score = scoreTask({ kind: "classify", glueTask: "sst-2" });
 * strictEqual(score({ preds: [1, 0, 1, 1], labels: [1, 0, 0, 1], loss: 0.5 }), 0.75);
 * ```
 */
export function scoreTask(spec: TaskSpec & { metric?: string | undefined }): (r: ScoreInput) => number {
  const metric = spec.metric ?? defaultMetric(spec);
  const names = taskMetricNames(spec);
  if (!names.includes(metric)) {
    const what = spec.kind === "lm"
      ? "a language model"
      : spec.glueTask !== undefined
      ? spec.glueTask
      : `custom ${spec.kind === "regress" ? "regression" : "classification"} data`;
    throw new Error(`Metric "${metric}" is not reported for ${what} (choose from ${names.join(", ")})`);
  }
  if (spec.kind === "lm") return (r) => Math.exp(-r.loss);
  if (spec.glueTask === undefined && spec.kind === "classify") {
    const one: Record<string, (p: readonly number[], l: readonly number[]) => number> = {
      acc: accuracy,
      f1,
      mcc: matthewsCorrcoef,
    };
    const f = one[metric]!;
    return (r) => f(r.preds, r.labels);
  }
  return (r) => taskMetrics(spec, r)[metric] ?? NaN;
}
