/**
 * HF 2.x `glue_compute_metrics`: the metric dict reported for each GLUE task.
 *
 * @module
 */

import { accAndF1 } from "./acc_and_f1.ts";
import { accuracy } from "./accuracy.ts";
import { checkPair } from "./_check.ts";
import { matthewsCorrcoef } from "./matthews_corrcoef.ts";
import { pearsonAndSpearman } from "./pearson_and_spearman.ts";

/**
 * Computes the metrics HF transformers 2.x `glue_compute_metrics(task_name, preds, labels)` reports, with
 * the same keys:
 *
 * | task | keys |
 * |---|---|
 * | `cola` | `mcc` |
 * | `mrpc`, `qqp` | `acc`, `f1`, `acc_and_f1` |
 * | `sts-b` | `pearson`, `spearmanr`, `corr` |
 * | `sst-2`, `mnli`, `mnli-mm`, `qnli`, `rte`, `wnli` | `acc` |
 *
 * MNLI matched (`mnli`) and mismatched (`mnli-mm`) both report plain `acc`, as in HF 2.x (the version
 * `run_bertology.py` was written for; transformers 3+ renamed them `mnli/acc` and `mnli-mm/acc`).
 * Task names are HF's, matched case-insensitively (`"SST-2"` works).
 *
 * @param task HF task name, e.g. `"cola"` or `"sts-b"`.
 * @param preds Predicted class ids (classification) or scores (STS-B).
 * @param labels True class ids or scores.
 * @returns The metric dict.
 * @throws {Error} When the task is unknown, or the inputs are empty or differ in length.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * deepStrictEqual(glueComputeMetrics("sst-2", [1, 0, 1, 1], [1, 0, 0, 1]), { acc: 0.75 });
 * ```
 */
export function glueComputeMetrics(
  task: string,
  preds: ArrayLike<number>,
  labels: ArrayLike<number>,
): Record<string, number> {
  const name = task.trim().toLowerCase();
  const known = ["cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli"];
  if (!known.includes(name)) {
    throw new Error(`Unknown GLUE task "${task}": expected one of ${known.map((k) => `"${k}"`).join(", ")}`);
  }
  checkPair("glueComputeMetrics", preds, labels);
  switch (name) {
    case "cola":
      return { mcc: matthewsCorrcoef(preds, labels) };
    case "mrpc":
    case "qqp":
      return { ...accAndF1(preds, labels) };
    case "sts-b":
      return { ...pearsonAndSpearman(preds, labels) };
    default:
      return { acc: accuracy(preds, labels) };
  }
}
