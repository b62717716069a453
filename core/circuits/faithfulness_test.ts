import { ok } from "node:assert/strict";
import { pruneModel } from "../bertology/prune.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { edgeAttribution } from "./eap.ts";
import { circuitMetric, faithfulness } from "./faithfulness.ts";
import { gpt2Pair } from "./_test_pair.ts";
import { splitPass } from "./split_run.ts";

Deno.test("faithfulness(): every edge gives 1 and m(clean); no edge gives m(corrupted)", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const corr = splitPass(model, corrupted, metric, { senders: true });
  const mClean = splitPass(model, clean, metric).metric;
  const all = Array.from({ length: corr.graph.edgeCount }, (_, e) => e);
  const full = faithfulness(model, clean, metric, corr, mClean, all);
  ok(Math.abs(full.value - 1) < 1e-4 && Math.abs(full.m_circuit - mClean) < 1e-5, `all edges: ${full.value}`);
  const empty = circuitMetric(model, clean, metric, corr, []);
  ok(Math.abs(empty - corr.metric) < 1e-5, `no edge: ${empty} vs m(corrupted) ${corr.metric}`);
  ok(Math.abs(mClean - corr.metric) > 0.1, "the pair differs");
});

Deno.test("edge-level patching on a pruned GPT-2: heads keep their original names, a layer with no head has no receivers there", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const pruned = pruneModel(model, { 0: [1], 1: [0, 1, 2, 3] }, createWasmKernels());
  const corr = splitPass(pruned, corrupted, metric, { senders: true });
  const g = corr.graph;
  ok(g.nodes.includes("a0.h2") && !g.nodes.includes("a0.h1") && !g.nodes.some((n) => n.startsWith("a1.")));
  ok(!g.receivers.some((r) => r.node.startsWith("a1.")) && g.receivers.some((r) => r.node === "m1"));
  const mClean = splitPass(pruned, clean, metric).metric;
  const all = Array.from({ length: g.edgeCount }, (_, e) => e);
  ok(Math.abs(circuitMetric(pruned, clean, metric, corr, all) - mClean) < 1e-5);
  ok(Math.abs(circuitMetric(pruned, clean, metric, corr, []) - corr.metric) < 1e-5);
  const half = all.filter((e) => e % 2 === 0);
  const eap = edgeAttribution(pruned, clean, corrupted, { ...metric, igSteps: 2 });
  ok(eap.scores.length === g.edgeCount && Number.isFinite(circuitMetric(pruned, clean, metric, corr, half)));
});
