import { ok, throws } from "node:assert/strict";
import { hookName } from "../hooks.ts";
import { pathPatching } from "./path_patching.ts";
import { gpt2Pair } from "./_test_pair.ts";
import { splitPass } from "./split_run.ts";

Deno.test("pathPatching() from the input node to every receiver gives m(corrupted)", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const g = splitPass(model, clean, metric).graph;
  const all = [...new Set(g.receivers.map((r) => r.node))];
  const p = pathPatching(model, clean, corrupted, { ...metric, senders: ["input"], receivers: all });
  ok(Math.abs(p.effects[0]!.m_patched - p.m_corrupted) < 1e-5, `${p.effects[0]!.m_patched} vs ${p.m_corrupted}`);
  ok(Math.abs(p.effects[0]!.fraction - 1) < 1e-4);
});

Deno.test("pathPatching() of one head's direct path to the logits equals its corrupted output added by hand", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const p = pathPatching(model, clean, corrupted, { ...metric, receivers: ["logits"] });
  const c = model.config;
  ok(p.effects.length === c.layers * c.heads);
  const clean0 = splitPass(model, clean, metric, { senders: true });
  const corr0 = splitPass(model, corrupted, metric, { senders: true });
  // the direct path only: the last residual shifted by the head's corrupted − clean output, nothing recomputed
  for (const i of [0, 5, 11]) {
    const s = clean0.graph.nodes.indexOf(p.effects[i]!.senders[0]!);
    const shift = corr0.senders[s]!.map((v, j) => v - clean0.senders[s]![j]!);
    const last = hookName("resid_post", c.layers - 1);
    const m = model.run({
      batch: clean,
      objective: { logit: [metric.target], minus: [metric.distractor] },
      patch: new Map([[last, (x: Float32Array) => x.forEach((v, j) => (x[j] = v + shift[j]!))]]),
    }).objective![0]!;
    ok(Math.abs(m - p.effects[i]!.m_patched) < 1e-5, `${p.effects[i]!.senders}: ${p.effects[i]!.m_patched} vs ${m}`);
  }
  throws(() => pathPatching(model, clean, corrupted, { ...metric, receivers: ["a9.h0"] }), /names no receiver/);
});
