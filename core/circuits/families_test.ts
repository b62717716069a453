/**
 * The circuit identities of the GPT-2 tests on the other pre-norm families: grouped-query Llama (the tiny random
 * fixture and stories260K), GPT-NeoX (parallel residual, rotary) and GPT-Neo (local attention).
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { pruneModel } from "../bertology/prune.ts";
import { hookName } from "../hooks.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { mulberry32 } from "../rng.ts";
import { edgeAttribution } from "./eap.ts";
import { circuitMetric, faithfulness } from "./faithfulness.ts";
import { checkEdgeAttribution, checkFaithfulness, readEapReference } from "./_eap_reference.ts";
import { metricObjective } from "./metric.ts";
import { handPatched } from "./_hand_patched.ts";
import { FAMILY_PAIRS, familyPair } from "./_test_pair.ts";
import { ReceiverSplitOps, splitPass } from "./split_run.ts";

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * (1 + Math.abs(b));

for (const name of Object.keys(FAMILY_PAIRS)) {
  Deno.test(`${name}: every edge gives faithfulness 1 and m(clean); no edge gives m(corrupted)`, async () => {
    const { model, clean, corrupted, metric } = await familyPair(name);
    const corr = splitPass(model, corrupted, metric, { senders: true });
    const mClean = splitPass(model, clean, metric).metric;
    const plain = model.run({ batch: clean, objective: { logit: [metric.target], minus: [metric.distractor] } });
    ok(close(mClean, plain.objective![0]!, 1e-5), `split ${mClean} vs plain ${plain.objective![0]}`);
    const all = Array.from({ length: corr.graph.edgeCount }, (_, e) => e);
    const full = faithfulness(model, clean, metric, corr, mClean, all);
    ok(Math.abs(full.value - 1) < 1e-4 && Math.abs(full.m_circuit - mClean) < 1e-5, `all edges: ${full.value}`);
    const empty = circuitMetric(model, clean, metric, corr, []);
    ok(Math.abs(empty - corr.metric) < 1e-5, `no edge: ${empty} vs m(corrupted) ${corr.metric}`);
    ok(Math.abs(mClean - corr.metric) > 1e-3, `the pair differs: ${mClean} vs ${corr.metric}`);
  });

  Deno.test(`${name}: EAP with one IG step equals plain EAP`, async () => {
    const { model, clean, corrupted, metric } = await familyPair(name);
    const eap = edgeAttribution(model, clean, corrupted, metric);
    const one = edgeAttribution(model, clean, corrupted, { ...metric, igSteps: 1 });
    const scale = Math.max(...eap.scores.map(Math.abs));
    ok(scale > 1e-4, "the scores are not all zero");
    eap.scores.forEach((s, e) => ok(Math.abs(one.scores[e]! - s) <= 1e-5 + 1e-3 * scale, `edge ${e}`));
  });

  Deno.test(`${name}: a split run with an edge patch equals the receivers run by hand`, async () => {
    const { model, clean, corrupted, metric } = await familyPair(name);
    const corr = splitPass(model, corrupted, metric, { senders: true });
    const E = corr.graph.edgeCount, random = mulberry32(11);
    for (const share of [0.1, 0.5, 0.9]) {
      const patched = Uint8Array.from({ length: E }, () => (random() < share ? 1 : 0));
      const fast = splitPass(model, clean, metric, { patch: { corrupted: corr, patched } }).metric;
      const slow = handPatched(model, clean, metric, corr, patched);
      ok(close(fast, slow, 1e-4), `${share} of the edges patched: split ${fast}, by hand ${slow}`);
    }
    const none = splitPass(model, clean, metric).metric;
    ok(!close(handPatched(model, clean, metric, corr, new Uint8Array(E).fill(1)), none, 1e-3), "patching changes m");
  });
}

for (const name of ["llama-tiny-random", "stories260k"]) {
  Deno.test(`${name} (grouped-query attention): per-query-head k and v gradients sum over a group to the shared kv head's`, async () => {
    const { model, clean, metric } = await familyPair(name);
    const c = model.config, H = c.heads, Hkv = c.kvHeads, D = c.headDim, T = clean.seqLen;
    ok(Hkv < H, "the model shares kv heads");
    const objective = { ...metricObjective(metric), position: [T - 1] };
    const names = Array.from(
      { length: c.layers },
      (_, l) => (["k", "v", "resid_pre", "resid_mid"] as const).map((kind) => hookName(kind, l, true)),
    ).flat();
    const unsplit = model.run({ batch: clean, objective, names }).cache;
    let split: ReceiverSplitOps | undefined;
    const run = model.run({
      batch: clean,
      objective,
      names,
      wrapOps: (ops) => (split = new ReceiverSplitOps(ops, c, { grads: true })),
    });
    ok(close(run.objective![0]!, splitPass(model, clean, metric).metric, 1e-6), "the split run's m is the plain one");
    const s = split!, group = H / Hkv, C = c.hidden;
    for (let l = 0; l < c.layers; l++) {
      for (const path of ["k", "v"] as const) {
        // the split run's k (v) is laid out by query head; a group's heads sum to their kv head's gradient
        const perQuery = run.cache.get(hookName(path, l, true))!.data;
        const shared = unsplit.get(hookName(path, l, true))!.data;
        deepStrictEqual([perQuery.length, shared.length], [T * H * D, T * Hkv * D]);
        const scale = Math.max(...shared.map(Math.abs));
        ok(scale > 0, `layer ${l} ${path}: a gradient reaches it`);
        for (let t = 0; t < T; t++) {
          for (let kv = 0; kv < Hkv; kv++) {
            for (let d = 0; d < D; d++) {
              let sum = 0;
              for (let j = 0; j < group; j++) sum += perQuery[t * H * D + (kv * group + j) * D + d]!;
              const want = shared[t * Hkv * D + kv * D + d]!;
              ok(Math.abs(sum - want) <= 1e-4 * scale, `layer ${l} ${path} kv head ${kv}: ${sum} vs ${want}`);
            }
          }
        }
      }
      // every receiver of the layer's attention together: the gradient the residual gets through the attention
      const first = s.receivers.findIndex((r) => r.node === `a${l}.h0` && r.path === "q");
      const through = unsplit.get(hookName("resid_pre", l, true))!.data.map((g, i) =>
        g - unsplit.get(hookName("resid_mid", l, true))!.data[i]!
      );
      const scale = Math.max(...through.map(Math.abs));
      for (let i = 0; i < T * C; i++) {
        let sum = 0;
        for (let r = first; r < first + 3 * H; r++) sum += s.grads[r]![i]!;
        ok(Math.abs(sum - through[i]!) <= 1e-4 * scale, `layer ${l}: receivers sum ${sum} vs ${through[i]}`);
      }
    }
  });
}

const LLAMA_REFERENCE = readEapReference("circuits_eap_llama_reference.out.json");

Deno.test("llama-tiny-random (grouped-query attention): EAP, EAP-IG and faithfulness at k = 5, 10, 20, 50 equal the Hugging Face reference", async () => {
  const { model, clean, corrupted } = await familyPair("llama-tiny-random");
  const eap = checkEdgeAttribution(model, clean, corrupted, LLAMA_REFERENCE, FAMILY_PAIRS["llama-tiny-random"]!);
  checkFaithfulness(
    model,
    clean,
    { target: LLAMA_REFERENCE.target, distractor: LLAMA_REFERENCE.distractor },
    eap,
    LLAMA_REFERENCE,
  );
});

Deno.test("llama-tiny-random pruned (grouped-query attention, a kv head kept for one query head): the faithfulness extremes hold", async () => {
  const { model, clean, corrupted, metric } = await familyPair("llama-tiny-random");
  // layer 0 keeps query heads 1 and 3 (kv heads 0 and 1), layer 1 query heads 2 and 3 (kv head 1 alone)
  const pruned = pruneModel(model, { 0: [0, 2], 1: [0, 1] }, createWasmKernels());
  const corr = splitPass(pruned, corrupted, metric, { senders: true });
  const g = corr.graph;
  ok(g.nodes.includes("a0.h3") && !g.nodes.includes("a0.h0") && g.nodes.includes("a1.h2"));
  const mClean = splitPass(pruned, clean, metric).metric;
  const all = Array.from({ length: g.edgeCount }, (_, e) => e);
  ok(Math.abs(circuitMetric(pruned, clean, metric, corr, all) - mClean) < 1e-5);
  ok(Math.abs(circuitMetric(pruned, clean, metric, corr, []) - corr.metric) < 1e-5);
  const eap = edgeAttribution(pruned, clean, corrupted, metric);
  const one = edgeAttribution(pruned, clean, corrupted, { ...metric, igSteps: 1 });
  const scale = Math.max(...eap.scores.map(Math.abs));
  eap.scores.forEach((s, e) => ok(Math.abs(one.scores[e]! - s) <= 1e-5 + 1e-3 * scale, `edge ${e}`));
});
