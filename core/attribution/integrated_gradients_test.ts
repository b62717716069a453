import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { resolveBaseline } from "./baseline.ts";
import { integratedGradients } from "./integrated_gradients.ts";
import { testModel } from "./_test_models.ts";

for (const name of ["bert-tiny-random", "gpt2-tiny-random", "models/bert-sst2"]) {
  Deno.test(`integratedGradients() is complete within 1 % at 50 steps, for every baseline (${name})`, async () => {
    const { model, tokenizer, input } = await testModel(name);
    const kinds = model.task === "lm" ? (["pad", "zero"] as const) : (["pad", "zero", "mask"] as const);
    for (const kind of kinds) {
      const ig = integratedGradients(model, input, { baseline: resolveBaseline(model, tokenizer, kind) });
      strictEqual(ig.steps, 50);
      deepStrictEqual(ig.attributions.shape, [input.inputIds.length, model.config.hidden]);
      const sum = ig.scores.reduce((a, b) => a + b, 0);
      ok(Math.abs(sum - ig.gap - (ig.value - ig.baselineValue)) < 1e-4, "gap = Σ − Δf");
      console.log(
        `${name} baseline ${kind}: f(x) ${ig.value.toFixed(4)}, f(x') ${ig.baselineValue.toFixed(4)}, Σ ${
          sum.toFixed(4)
        }, relative gap ${(100 * ig.relativeGap).toFixed(3)} %`,
      );
      ok(ig.relativeGap < 0.01, `${name} baseline ${kind}: relative gap ${ig.relativeGap}`);
      ok(Math.abs(ig.value - ig.baselineValue) > 1e-3, "the baseline changes the logit");
    }
  });
}

Deno.test("integratedGradients(): batching does not change the result; kept positions get 0; bad options are named", async () => {
  const { model, input } = await testModel("bert-tiny-random");
  const T = input.inputIds.length;
  const a = integratedGradients(model, input, { steps: 10, batchSize: 3 });
  const b = integratedGradients(model, input, { steps: 10, batchSize: 10 });
  ok(a.scores.every((v, i) => Math.abs(v - b.scores[i]!) < 1e-5));
  const keep = input.inputIds.map((_, t) => t === 0 || t === T - 1);
  const k = integratedGradients(model, input, { steps: 10, keep });
  strictEqual(k.scores[0], 0);
  strictEqual(k.scores[T - 1], 0);
  throws(() => integratedGradients(model, input, { steps: 0 }), /steps must be a positive integer, got 0/);
  throws(() => integratedGradients(model, input, { keep: [true] }), /keep has 1 values for \d+ tokens/);
  throws(
    () => integratedGradients(model, input, { baseline: { kind: "token", tokenId: -1 } }),
    /baseline tokenId -1 is outside the vocabulary/,
  );
});

Deno.test("resolveBaseline(): pad is pad_token_id, else eos; mask needs a [MASK] token", async () => {
  const bert = await testModel("bert-tiny-random");
  deepStrictEqual(resolveBaseline(bert.model, bert.tokenizer, "pad"), { kind: "token", tokenId: 0 });
  deepStrictEqual(resolveBaseline(bert.model, bert.tokenizer, "mask"), {
    kind: "token",
    tokenId: bert.tokenizer.tokenToId("[MASK]")!,
  });
  const gpt2 = await testModel("gpt2-tiny-random");
  deepStrictEqual(resolveBaseline(gpt2.model, gpt2.tokenizer, "zero"), { kind: "zero" });
  strictEqual(resolveBaseline(gpt2.model, gpt2.tokenizer, "pad").kind, "token");
  throws(() => resolveBaseline(gpt2.model, gpt2.tokenizer, "mask"), /no \[MASK\] token/);
});
