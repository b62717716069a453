import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { hookName } from "../hooks.ts";
import { logitLens } from "./logit_lens.ts";
import { repeatedBatch } from "./input.ts";
import { testModel } from "./_test_models.ts";

for (const name of ["gpt2-tiny-random", "models/gpt2-sst2"]) {
  Deno.test(`logitLens(): the last layer's lens is the model's own logits; top-k and ranks agree (${name})`, async () => {
    const { model, input } = await testModel(name);
    const T = input.inputIds.length, V = model.config.vocabSize, L = model.config.layers, k = 4;
    const lens = logitLens(model, { inputIds: input.inputIds }, { topK: k });
    deepStrictEqual(lens.layers, ["embed", ...Array.from({ length: L }, (_, l) => String(l))]);
    const logits = model.run({ batch: repeatedBatch(input), names: ["logits"] }).cache.get(hookName("logits"))!.data;
    // the model's own logits at the last position, and its top-k and ranks at every position
    const last = logits.subarray((T - 1) * V, T * V);
    ok(lens.finalLogits.every((v, i) => Math.abs(v - last[i]!) < 1e-4));
    for (let t = 0; t < T; t++) {
      const row = Array.from(logits.subarray(t * V, (t + 1) * V));
      const order = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((p) => p[1]);
      const got = Array.from(lens.topIds.subarray((L * T + t) * k, (L * T + t + 1) * k));
      deepStrictEqual(got, order.slice(0, k), `position ${t}: top-${k}`);
      const target = lens.targets[t]!;
      strictEqual(target, t + 1 < T ? input.inputIds[t + 1] : order[0]);
      strictEqual(lens.ranks[L * T + t], row.filter((v) => v > row[target]!).length);
      // probabilities are a softmax: best first, at most 1
      const p = lens.topProbs.subarray((L * T + t) * k, (L * T + t + 1) * k);
      ok(p.every((v, i) => v <= 1 && (i === 0 || v <= p[i - 1]!)));
    }
    strictEqual(lens.ranks[L * T + T - 1], 0, "the last position's target is the model's prediction");
  });
}

Deno.test("logitLens() refuses classifiers, bad k and targets, naming them", async () => {
  const bert = await testModel("bert-tiny-random");
  throws(() => logitLens(bert.model, bert.input), /logit lens is for language models/);
  const { model, input } = await testModel("gpt2-tiny-random");
  throws(() => logitLens(model, input, { topK: 0 }), /topK must be an integer in 1\.\./);
  throws(() => logitLens(model, input, { targets: [1] }), /targets has 1 values for \d+ tokens/);
  const targets = input.inputIds.map(() => 3);
  const lens = logitLens(model, input, { targets, topK: 1 });
  ok(lens.targets.every((v) => v === 3));
});
