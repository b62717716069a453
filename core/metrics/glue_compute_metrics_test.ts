import { deepStrictEqual, ok, throws } from "node:assert";
import { glueComputeMetrics } from "./glue_compute_metrics.ts";

const preds = [1, 0, 1, 0, 1];
const labels = [1, 1, 0, 0, 1];

Deno.test("glueComputeMetrics() returns HF 2.x keys for each task", () => {
  deepStrictEqual(Object.keys(glueComputeMetrics("cola", preds, labels)), ["mcc"]);
  for (const task of ["mrpc", "qqp"]) {
    deepStrictEqual(glueComputeMetrics(task, preds, labels), { acc: 0.6, f1: 2 / 3, acc_and_f1: (0.6 + 2 / 3) / 2 });
  }
  for (const task of ["sst-2", "mnli", "mnli-mm", "qnli", "rte", "wnli"]) {
    deepStrictEqual(glueComputeMetrics(task, preds, labels), { acc: 0.6 }, task);
  }
  deepStrictEqual(Object.keys(glueComputeMetrics("sts-b", [0.5, 2, 4.9], [1, 2.2, 5])), [
    "pearson",
    "spearmanr",
    "corr",
  ]);
});

Deno.test("glueComputeMetrics() computes CoLA MCC and STS-B correlations", () => {
  // TP 2, FN 1, FP 1, TN 1: (2 - 1) / sqrt(3·3·2·2) = 1/6.
  ok(Math.abs(glueComputeMetrics("CoLA", preds, labels).mcc! - 1 / 6) < 1e-12);
  const m = glueComputeMetrics("STS-B", [1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
  ok(Math.abs(m.spearmanr! - 8 / Math.sqrt(95)) < 1e-12);
  // MNLI uses 3 classes.
  deepStrictEqual(glueComputeMetrics("mnli", [0, 1, 2, 2], [0, 1, 2, 1]), { acc: 0.75 });
});

Deno.test("glueComputeMetrics() throws on unknown tasks and bad inputs", () => {
  throws(() => glueComputeMetrics("squad", [1], [1]), /Unknown GLUE task "squad": expected one of "cola", /);
  throws(() => glueComputeMetrics("rte", [], []), /glueComputeMetrics\(\) got 0 values/);
  throws(() => glueComputeMetrics("rte", [1, 0], [1]), /different lengths 2 and 1/);
});
