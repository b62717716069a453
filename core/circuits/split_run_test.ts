import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { hookName } from "../hooks.ts";
import { loadModel } from "../models/load.ts";
import { mulberry32 } from "../rng.ts";
import { edgeIndex, edgeNames } from "./graph.ts";
import { gpt2Pair } from "./_test_pair.ts";
import { handPatched } from "./_hand_patched.ts";
import { splitPass } from "./split_run.ts";

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * (1 + Math.abs(b));

Deno.test("splitPass() records GPT-2's residual graph in forward order, and its m is the plain run's", async () => {
  const { model, clean, metric } = await gpt2Pair();
  const pass = splitPass(model, clean, metric, { senders: true });
  const g = pass.graph;
  deepStrictEqual(g.nodes.slice(0, 7), ["input", "a0.h0", "a0.h1", "a0.h2", "a0.h3", "m0", "a1.h0"]);
  deepStrictEqual(g.nodes.length, 1 + 3 * 5);
  deepStrictEqual(g.receivers.slice(0, 4).map((r) => `${r.node}:${r.path}:${r.senders}`), [
    "a0.h0:q:1",
    "a0.h0:k:1",
    "a0.h0:v:1",
    "a0.h1:q:1",
  ]);
  // layer 1's heads read input + 4 heads + m0; its MLP reads its own heads too; the logits read every node
  deepStrictEqual(g.receivers[12]!.node === "m0" && g.receivers[12]!.senders, 5);
  deepStrictEqual(g.receivers[13]!.senders, 6);
  deepStrictEqual(g.receivers.at(-1), { node: "logits", path: "logits", senders: 16 });
  // 12·1 + 5 + 12·6 + 10 + 12·11 + 15 + 16
  deepStrictEqual(g.edgeCount, 262);
  deepStrictEqual(edgeNames(g)[edgeIndex(g, 13, 5)], { from: "m0", to: "a1.h0", path: "q" });
  const T = clean.seqLen;
  const full = model.run({ batch: clean, names: ["hook_logits"] }).logits!;
  const V = full.shape[2]!, last = (T - 1) * V;
  const m = full.data[last + metric.target]! - full.data[last + metric.distractor]!;
  ok(close(pass.metric, m, 1e-5), `${pass.metric} vs ${m}`);
  // the senders sum to the residual the logits read, up to the attention-output biases (constant)
  const resid = pass.residuals.at(-1)!;
  const sum = new Float32Array(resid.length);
  for (const s of pass.senders) s.forEach((v, i) => (sum[i]! += v));
  const bias = resid.map((v, i) => v - sum[i]!);
  const C = model.config.hidden;
  for (let t = 1; t < T; t++) {
    for (let c = 0; c < C; c++) {
      ok(close(bias[t * C + c]!, bias[c]!, 1e-4), "the remainder is the same at every position");
    }
  }
});

Deno.test("splitPass() with an edge patch equals the receivers run by hand with ordinary hooks", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const corr = splitPass(model, corrupted, metric, { senders: true });
  const E = corr.graph.edgeCount, random = mulberry32(7);
  // sparse, half and dense patches: each receiver's input is built from the fewer of its patched and kept edges
  for (const share of [0.1, 0.5, 0.9]) {
    const patched = Uint8Array.from({ length: E }, () => (random() < share ? 1 : 0));
    const fast = splitPass(model, clean, metric, { patch: { corrupted: corr, patched } }).metric;
    const slow = handPatched(model, clean, metric, corr, patched);
    ok(close(fast, slow, 1e-5), `${share} of the edges patched: split ${fast}, by hand ${slow}`);
  }
  const none = splitPass(model, clean, metric).metric;
  const plain = splitPass(model, clean, metric, { patch: { corrupted: corr, patched: new Uint8Array(E) } }).metric;
  ok(close(plain, none, 1e-6));
  ok(!close(handPatched(model, clean, metric, corr, new Uint8Array(E).fill(1)), none, 1e-3), "patching changes m");
});

Deno.test("splitPass() refuses a post-norm encoder in one sentence that offers the node-level methods", async () => {
  const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
  const batch = { batchSize: 1, seqLen: 4, inputIds: Int32Array.from([2, 45, 46, 3]) };
  throws(() => splitPass(model, batch, { target: 0, distractor: 1 }), /post-norm.*node-level methods/);
});

Deno.test("TransformerModel.run() objective with minus is the logit difference, and its gradient that of both", async () => {
  const { model, clean, metric } = await gpt2Pair();
  const diff = model.run({ batch: clean, objective: { logit: [metric.target], minus: [metric.distractor] } });
  const a = model.run({ batch: clean, objective: { logit: [metric.target] } }).objective![0]!;
  const b = model.run({ batch: clean, objective: { logit: [metric.distractor] } }).objective![0]!;
  ok(close(diff.objective![0]!, a - b, 1e-6));
  const grad = (objective: { logit: number[]; minus?: number[] }) =>
    model.run({ batch: clean, objective, names: [hookName("embed", undefined, true)] }).cache.get(
      hookName("embed", undefined, true),
    )!.data;
  const gd = grad({ logit: [metric.target], minus: [metric.distractor] });
  const ga = grad({ logit: [metric.target] }), gb = grad({ logit: [metric.distractor] });
  gd.forEach((v, i) => ok(close(v, ga[i]! - gb[i]!, 1e-5)));
  throws(() => model.run({ batch: clean, objective: { logit: [1], minus: [1e9] } }), /objective.minus\[0\]/);
});
