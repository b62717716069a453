import { ok } from "node:assert/strict";
import { acdc } from "./acdc.ts";
import { circuitMetric } from "./faithfulness.ts";
import { gpt2Pair } from "./_test_pair.ts";
import { splitPass } from "./split_run.ts";

Deno.test("acdc() on the fixture GPT-2 reports a circuit whose faithfulness it measured", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const r = acdc(model, clean, corrupted, { ...metric, tau: 1e-3 });
  ok(r.edges.length > 0 && r.edges.length < r.graph.edgeCount, `${r.edges.length} edges`);
  ok(r.kl >= 0 && r.passes > 0);
  // its m is the m of that edge set run again
  const m = circuitMetric(model, clean, metric, splitPass(model, corrupted, metric, { senders: true }), r.edges);
  ok(Math.abs(m - r.m_circuit) < 1e-6, `${m} vs ${r.m_circuit}`);
  ok(Math.abs(r.faithfulness - (m - r.m_corrupted) / (r.m_clean - r.m_corrupted)) < 1e-6);
  // τ = 0 removes only edges that change nothing: nothing it keeps out of the circuit changes the output
  const strict = acdc(model, clean, corrupted, { ...metric, tau: 0 });
  ok(strict.kl < 1e-6 && strict.edges.length >= r.edges.length, `τ = 0: KL ${strict.kl}, ${strict.edges.length} edges`);
});
