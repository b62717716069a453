import { ok } from "node:assert/strict";
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
