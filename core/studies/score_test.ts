import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { pearsonAndSpearman } from "../metrics/pearson_and_spearman.ts";
import { defaultMetric, scoreTask, taskMetricNames, taskMetrics } from "./score.ts";

const pass = (preds: number[], labels: number[], loss = 0.5) => ({ preds, labels, loss });

Deno.test("defaultMetric() follows HF's run_bertology defaults per task kind and GLUE task", () => {
  strictEqual(defaultMetric({ kind: "classify", glueTask: "sst-2" }), "acc");
  strictEqual(defaultMetric({ kind: "classify", glueTask: "cola" }), "mcc");
  strictEqual(defaultMetric({ kind: "regress", glueTask: "sts-b" }), "corr");
  strictEqual(defaultMetric({ kind: "regress" }), "corr");
  strictEqual(defaultMetric({ kind: "classify" }), "acc");
  strictEqual(defaultMetric({ kind: "lm", glueTask: "sst-2" }), "inv_ppl");
});

Deno.test("taskMetricNames() lists what each task reports, the default first", () => {
  deepStrictEqual(taskMetricNames({ kind: "classify", glueTask: "mrpc" }), ["acc", "f1", "acc_and_f1"]);
  deepStrictEqual(taskMetricNames({ kind: "classify" }), ["acc", "f1", "mcc"]);
  deepStrictEqual(taskMetricNames({ kind: "regress", glueTask: "sts-b" }), ["corr", "pearson", "spearmanr"]);
  deepStrictEqual(taskMetricNames({ kind: "lm" }), ["inv_ppl"]);
});

Deno.test("scoreTask() scores a regressor by correlation, not by exact equality", () => {
  const r = pass([0.1, 0.9, 2.2, 2.9], [0, 1, 2, 3]);
  const want = pearsonAndSpearman(r.preds, r.labels);
  strictEqual(scoreTask({ kind: "regress" })(r), want.corr);
  strictEqual(scoreTask({ kind: "regress", metric: "pearson" })(r), want.pearson);
  strictEqual(scoreTask({ kind: "regress", glueTask: "sts-b", metric: "spearmanr" })(r), want.spearmanr);
  ok(scoreTask({ kind: "regress" })(r) > 0.9);
});

Deno.test("scoreTask() scores custom classification by acc, f1 or mcc and a language model by 1/perplexity", () => {
  const r = pass([1, 0, 1, 1], [1, 0, 0, 1], Math.log(4));
  strictEqual(scoreTask({ kind: "classify" })(r), 0.75);
  strictEqual(scoreTask({ kind: "classify", metric: "f1" })(r), 0.8);
  ok(Math.abs(scoreTask({ kind: "lm" })(r) - 0.25) < 1e-12);
  strictEqual(scoreTask({ kind: "classify", glueTask: "cola" })(r), taskMetrics({ kind: "classify" }, r).mcc);
});

Deno.test("scoreTask() refuses a metric the task does not report, naming the choices", () => {
  throws(
    () => scoreTask({ kind: "lm", metric: "acc" }),
    /"acc" is not reported for a language model \(choose from inv_ppl\)/,
  );
  throws(() => scoreTask({ kind: "classify", glueTask: "sst-2", metric: "mcc" }), /not reported for sst-2/);
  throws(() => scoreTask({ kind: "regress", metric: "acc" }), /custom regression data/);
});

Deno.test("taskMetrics() gives NaN correlations for a single regression example and skips f1 beyond two classes", () => {
  const one = taskMetrics({ kind: "regress" }, pass([1], [2]));
  ok(Number.isNaN(one.corr) && Number.isNaN(one.pearson));
  deepStrictEqual(Object.keys(taskMetrics({ kind: "classify" }, pass([0, 2], [0, 1]))), ["acc", "mcc"]);
});
