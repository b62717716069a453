import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { keptHeads } from "../models/config.ts";
import { attentionFlow, flowScores } from "./flow.ts";
import { attentionRollout, mixResidual, residualAttention, rollout } from "./rollout.ts";
import { testModel } from "./_test_models.ts";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) < tol);
const identity = (T: number) => Float32Array.from({ length: T * T }, (_, i) => (i % (T + 1) === 0 ? 1 : 0));

Deno.test("rollout() of identity attention is the identity; mixResidual() of identity is the identity", () => {
  const T = 5;
  const layers = [0, 1, 2].map(() => mixResidual(identity(T), T));
  layers.forEach((a) => ok(close(a, identity(T))));
  ok(close(rollout(layers, T), identity(T)));
});

Deno.test("rollout() multiplies the residual-mixed layers, last layer on the left", () => {
  // layer 1: position 1 attends to 0 only; layer 2: position 0 attends to 1 only
  const a1 = mixResidual(Float32Array.from([1, 0, 1, 0]), 2); // [[1, 0], [0.5, 0.5]]
  const a2 = mixResidual(Float32Array.from([0, 1, 0, 1]), 2); // [[0.5, 0.5], [0, 1]]
  ok(close(a1, [1, 0, 0.5, 0.5]) && close(a2, [0.5, 0.5, 0, 1]));
  // A2 · A1 = [[0.75, 0.25], [0.5, 0.5]]
  ok(close(rollout([a1, a2], 2), [0.75, 0.25, 0.5, 0.5]));
  throws(() => rollout([new Float32Array(3)], 2), /layer 0: expected a \[2, 2\] matrix, got 3 values/);
});

Deno.test("flowScores() on a hand-computed graph: three tokens, two layers", () => {
  // layer 1 (rows = queries): 0 ← {0: .5, 1: .5}; 1 ← {1: 1}; 2 ← {0: .2, 2: .8}
  // layer 2: output position 2 ← {0: .1, 1: .3, 2: .6}
  const a1 = Float32Array.from([0.5, 0.5, 0, 0, 1, 0, 0.2, 0, 0.8]);
  const a2 = Float32Array.from([1, 0, 0, 0, 1, 0, 0.1, 0.3, 0.6]);
  // token 0 reaches (2,2) via (1,0) [min(.5, .1)] and via (1,2) [min(.2, .6)]: 0.1 + 0.2 = 0.3
  // token 1 via (1,0) [min(.5, .1)] and (1,1) [min(1, .3)]: 0.1 + 0.3 = 0.4 — (1,0)→(2,2) is shared
  // capacity only per source, so each token's flow is computed alone
  // token 2 via (1,2) only: min(.8, .6) = 0.6
  ok(close(flowScores([a1, a2], 3, 2), [0.3, 0.4, 0.6]));
  // output position 0: only (1,0) feeds (2,0) with capacity 1: token 0 → .5, token 1 → .5, token 2 → 0
  ok(close(flowScores([a1, a2], 3, 0), [0.5, 0.5, 0]));
  throws(() => flowScores([a1], 3, 3), /output position 3 is outside the sequence/);
});

Deno.test("flowScores() of identity attention: each token flows only to itself", () => {
  const T = 4;
  const layers = [0, 1].map(() => identity(T));
  ok(close(flowScores(layers, T, 2), [0, 0, 1, 0]));
});

for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`attentionRollout() and attentionFlow() on ${name}: rows sum to 1, the output row is read, head sets are checked`, async () => {
    const { model, input } = await testModel(name);
    const T = input.inputIds.length, L = model.config.layers;
    const layers = residualAttention(model, input);
    strictEqual(layers.length, L);
    for (const a of layers) {
      for (let i = 0; i < T; i++) ok(Math.abs(a.subarray(i * T, (i + 1) * T).reduce((s, v) => s + v, 0) - 1) < 1e-5);
    }
    const r = attentionRollout(model, input);
    const out = model.task === "lm" ? T - 1 : 0;
    strictEqual(r.position, out);
    deepStrictEqual(r.rollout.shape, [T, T]);
    ok(close(r.scores, r.rollout.data.subarray(out * T, (out + 1) * T)));
    ok(Math.abs(r.scores.reduce((s, v) => s + v, 0) - 1) < 1e-5);
    if (model.task === "lm") ok(r.rollout.data[0 * T + 1] === 0, "causal: token 0 never sees token 1");
    // no heads at all: every layer is the residual connection only, rollout = identity
    const none = attentionRollout(model, input, { heads: Array.from({ length: L }, () => []) });
    ok(close(none.rollout.data, identity(T)));
    // one head per layer equals that head's own pattern, mixed with the residual
    const one = residualAttention(model, input, {
      heads: Array.from({ length: L }, (_, l) => [keptHeads(model.config, l)[0]!]),
    });
    ok(one.every((a) => a.length === T * T));
    throws(() => residualAttention(model, input, { heads: [[0]] }), /heads has 1 layers; the model has \d+/);
    throws(
      () => residualAttention(model, input, { heads: Array.from({ length: L }, () => [99]) }),
      /heads\[0\] names head 99, which layer 0 does not have/,
    );
    const f = attentionFlow(model, input);
    strictEqual(f.position, out);
    strictEqual(f.scores.length, T);
    // a token's flow is at most what the output position takes in (1) and at least its rollout share's path
    ok(f.scores.every((v) => v >= 0 && v <= 1 + 1e-6));
  });
}

Deno.test("attentionFlow() at the page's token limit (128 tokens, bundled BERT) is exact and fast", async () => {
  const { model, tokenizer } = await testModel("models/bert-sst2");
  const ids = tokenizer.encode("a gripping , beautifully made film . ".repeat(20), undefined, { maxLength: 128 }).ids;
  strictEqual(ids.length, 128);
  const t0 = performance.now();
  const f = attentionFlow(model, { inputIds: ids });
  const ms = performance.now() - t0;
  console.log(`attention flow, 128 tokens × ${model.config.layers} layers: ${ms.toFixed(0)} ms`);
  ok(f.scores.every((v) => v >= 0 && v <= 1 + 1e-6));
  ok(ms < 20_000);
});
