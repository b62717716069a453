import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { outputLogits, repeatedBatch } from "../attribution/input.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { hookName } from "../hooks.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { metricGradients, metricOf, resolveMetric } from "./metric.ts";
import { circuitsReference, referenceModel } from "./_test_reference.ts";

Deno.test("resolveMetric() defaults to the clean prediction against the corrupted run's best other token", async () => {
  const ref = circuitsReference("gpt2");
  const model = await referenceModel(ref);
  const clean = { inputIds: ref.clean }, corrupted = { inputIds: ref.corrupted };
  const m = resolveMetric(model, clean, corrupted);
  const cl = outputLogits(model, repeatedBatch(clean)).data, co = outputLogits(model, repeatedBatch(corrupted)).data;
  ok(cl.every((v) => v <= cl[m.target]!), "target is the clean prediction");
  ok(co.every((v, i) => i === m.target || v <= co[m.distractor]!), "distractor is the corrupted run's best other");
  deepStrictEqual(resolveMetric(model, clean, corrupted, { target: 5, distractor: 9 }), { target: 5, distractor: 9 });
});

Deno.test("resolveMetric() on a classifier takes the clean run's best other class", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const m = resolveMetric(model, { inputIds: [2, 45, 67, 3] }, undefined);
  strictEqual(m.target + m.distractor, 1, "two classes: the other one");
});

Deno.test("resolveMetric() names what is wrong with a target or distractor", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const input = { inputIds: [1, 2, 3] };
  throws(() => resolveMetric(model, input, undefined, { target: -1 }), /target -1 is outside the model's 50257/);
  throws(() => resolveMetric(model, input, undefined, { distractor: 1.5 }), /distractor 1.5 is outside/);
  throws(() => resolveMetric(model, input, undefined, { target: 4, distractor: 4 }), /distractor \(4\) must differ/);
  const { model: bare } = await loadModel(localFiles(fixtureModel("bert-mlm-tiny-random")), { tokenizer: false });
  throws(() => resolveMetric(bare, { inputIds: [2, 45, 3] }, undefined), /Masked language models are not supported/);
});

Deno.test("metricGradients() gives m and a gradient that predicts a small step of the activation", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const input = { inputIds: [464, 3290, 318, 257] }, metric = { target: 5, distractor: 9 };
  const name = hookName("mlp_out", 1);
  const { m, values, grads } = metricGradients(model, input, metric, [name]);
  const logits = outputLogits(model, repeatedBatch(input));
  ok(Math.abs(m - metricOf(logits.data, logits.width, metric)) < 1e-5);
  const g = grads.get(name)!.data, v = values.get(name)!.data;
  // move the activation along its gradient by ε: m grows by ε·‖g‖² to first order
  const eps = 1e-2 / Math.sqrt(g.reduce((s, x) => s + x * x, 0));
  const step = v.map((x, i) => x + eps * g[i]!);
  const moved = outputLogits(model, repeatedBatch(input), new Map([[name, (vals: Float32Array) => vals.set(step)]]));
  const predicted = eps * g.reduce((s, x) => s + x * x, 0);
  const actual = metricOf(moved.data, moved.width, metric) - m;
  ok(Math.abs(actual - predicted) < 0.05 * Math.abs(predicted), `${actual} vs ${predicted}`);
});

Deno.test("metricOf() reads logit[target] − logit[distractor] of a row", () => {
  strictEqual(metricOf([1, 4, 2, 0, 0, 7], 3, { target: 2, distractor: 0 }, 1), 7);
});
