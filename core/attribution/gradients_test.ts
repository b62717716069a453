import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { hookName } from "../hooks.ts";
import { tokenGradients } from "./gradients.ts";
import { repeatedBatch } from "./input.ts";
import { testModel } from "./_test_models.ts";

const MODELS = ["bert-tiny-random", "gpt2-tiny-random", "models/bert-sst2"];

Deno.test("model.run({ objective }) returns the chosen logit and refuses bad objectives", async () => {
  for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
    const { model, input } = await testModel(name);
    const T = input.inputIds.length;
    const batch = repeatedBatch(input, 2);
    const full = model.run({ batch, names: ["logits"] }).cache.get(hookName("logits"))!;
    const W = full.shape[full.shape.length - 1]!;
    const lm = model.task === "lm";
    const at = (b: number, pos: number, j: number) => full.data[(lm ? b * T + pos : b) * W + j]!;
    const position = lm ? [T - 1, 1] : undefined;
    const r = model.run({ batch, objective: { logit: [1, 0], ...(position ? { position } : {}) } });
    ok(Math.abs(r.objective![0]! - at(0, T - 1, 1)) < 1e-5, `${name}: row 0`);
    ok(Math.abs(r.objective![1]! - at(1, lm ? 1 : 0, 0)) < 1e-5, `${name}: row 1`);
    throws(() => model.run({ batch, objective: { logit: [0] } }), /objective\.logit has 1 values for a batch of 2/);
    throws(() => model.run({ batch, objective: { logit: [0, W] } }), /objective\.logit\[1\] = \d+ is outside/);
    throws(() => model.run({ batch, labels: lm ? "lm" : [0, 1], objective: { logit: [0, 0] } }), /not both/);
    throws(() => model.run({ batch, names: [hookName("tok_embed", undefined, true)] }), /or an objective/);
    if (lm) {
      throws(
        () => model.run({ batch, objective: { logit: [0, 0], position: [0, T] } }),
        /position\[1\] = \d+ is outside/,
      );
    } else throws(() => model.run({ batch, objective: { logit: [0, 0], position: [0, 0] } }), /for language models/);
  }
});

for (const name of MODELS) {
  Deno.test(`tokenGradients() equals central differences of the logit in the token embeddings (${name})`, async () => {
    const { model, input } = await testModel(name);
    const g = tokenGradients(model, input);
    const T = input.inputIds.length, C = model.config.hidden;
    deepStrictEqual(g.gradient.shape, [T, C]);
    const tok = hookName("tok_embed");
    // f(x + ε·d) with d non-zero at token t only, through a patch of embed.hook_tok
    const along = (t: number, dir: Float32Array, eps: number) =>
      model.run({
        batch: repeatedBatch(input),
        objective: model.task === "lm" ? { logit: [g.target], position: [T - 1] } : { logit: [g.target] },
        patch: new Map([[tok, (v: Float32Array) => {
          for (let c = 0; c < C; c++) v[t * C + c]! += eps * dir[c]!;
        }]]),
      }).objective![0]!;
    const fd = (t: number, dir: Float32Array) => {
      const eps = 1e-2;
      return (along(t, dir, eps) - along(t, dir, -eps)) / (2 * eps);
    };
    let worstAbs = 0, worstRel = 0;
    for (let t = 0; t < T; t++) {
      // gradient × input is the derivative along the embedding itself
      const e = g.embedding.data.subarray(t * C, (t + 1) * C);
      const gx = fd(t, e);
      ok(
        Math.abs(gx - g.gradInput[t]!) <= 2e-4 + 2e-2 * Math.abs(gx),
        `${name} token ${t}: grad×input ${g.gradInput[t]} vs FD ${gx}`,
      );
      // saliency ‖g‖ is the derivative along g/‖g‖
      const s = g.saliency[t]!;
      const u = Float32Array.from(g.gradient.data.subarray(t * C, (t + 1) * C), (v) => v / s);
      const fs = fd(t, u);
      ok(Math.abs(fs - s) <= 2e-4 + 2e-2 * Math.abs(fs), `${name} token ${t}: saliency ${s} vs FD ${fs}`);
      for (const [a, b] of [[gx, g.gradInput[t]!], [fs, s]] as const) {
        worstAbs = Math.max(worstAbs, Math.abs(a - b));
        if (Math.abs(a) >= 1e-2) worstRel = Math.max(worstRel, Math.abs(a - b) / Math.abs(a));
      }
    }
    console.log(
      `${name}: FD vs backward over ${T} tokens: max |Δ| ${worstAbs.toExponential(2)}, max relative (|FD| ≥ 0.01) ${
        worstRel.toExponential(2)
      }`,
    );
    ok(g.saliency.some((v) => v > 0));
  });
}

Deno.test("tokenGradients() explains the predicted class by default and refuses a target outside the logits", async () => {
  const { model, input } = await testModel("models/bert-sst2");
  const logits = model.run({ batch: repeatedBatch(input) }).logits!.data;
  const predicted = logits[1]! > logits[0]! ? 1 : 0;
  const g = tokenGradients(model, input);
  deepStrictEqual(g.target, predicted);
  ok(Math.abs(g.value - logits[predicted]!) < 1e-5);
  throws(() => tokenGradients(model, input, { target: 2 }), /target 2 is outside the model's 2 classes/);
});
