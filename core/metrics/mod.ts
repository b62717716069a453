/**
 * Evaluation metrics for GLUE, matching HF transformers 2.x (`glue_compute_metrics`) and the sklearn/scipy
 * functions it calls: accuracy, binary F1, Matthews correlation, Pearson and Spearman correlation.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { glueComputeMetrics } from "./mod.ts";
 *
 * deepStrictEqual(glueComputeMetrics("mrpc", [1, 1, 0, 0], [1, 0, 0, 0]), {
 *   acc: 0.75,
 *   f1: 2 / 3,
 *   acc_and_f1: (0.75 + 2 / 3) / 2,
 * });
 * ```
 *
 * @module
 */

export * from "./acc_and_f1.ts";
export * from "./accuracy.ts";
export * from "./f1.ts";
export * from "./glue_compute_metrics.ts";
export * from "./matthews_corrcoef.ts";
export * from "./pearson.ts";
export * from "./pearson_and_spearman.ts";
export * from "./spearman.ts";
