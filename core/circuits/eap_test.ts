import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { edgeNames, rankEdges } from "./graph.ts";
import { edgeAttribution } from "./eap.ts";
import { faithfulness, faithfulnessAtK } from "./faithfulness.ts";
import { gpt2Pair, oneRow, PAIR } from "./_test_pair.ts";

interface Reference {
  clean: number[];
  corrupted: number[];
  target: number;
  distractor: number;
  ig_steps: number;
  m_clean: number;
  m_corrupted: number;
  edges: Array<{ from: string; to: string; path: string }>;
  eap: number[];
  eap_ig: number[];
  faithfulness: Array<{ k: number; m_circuit: number; value: number; edges: number[] }>;
}

const REFERENCE: Reference = JSON.parse(
  Deno.readTextFileSync(new URL("../../tests/fixtures/hf/circuits_eap_reference.out.json", import.meta.url)),
);

/** Gradient-borne values: 1e-3 relative to the largest score, plus 1e-5 absolute. */
function checkScores(ours: ArrayLike<number>, ref: readonly number[], label: string) {
  const scale = Math.max(...ref.map(Math.abs));
  let worst = 0;
  ref.forEach((r, e) => (worst = Math.max(worst, Math.abs(ours[e]! - r) / (1e-5 + 1e-3 * scale))));
  ok(worst <= 1, `${label}: the worst edge is ${worst.toFixed(3)} × the tolerance`);
}

Deno.test("edgeAttribution() equals the Hugging Face reference: EAP and EAP-IG edge scores, in forward order", async () => {
  const { model, clean, corrupted } = await gpt2Pair();
  deepStrictEqual([REFERENCE.clean, REFERENCE.corrupted], [[...PAIR.clean], [...PAIR.corrupted]]);
  const metric = { target: REFERENCE.target, distractor: REFERENCE.distractor };
  const eap = edgeAttribution(model, clean, corrupted, metric);
  deepStrictEqual(edgeNames(eap.graph), REFERENCE.edges);
  ok(
    Math.abs(eap.clean.metric - REFERENCE.m_clean) < 1e-4 &&
      Math.abs(eap.corrupted.metric - REFERENCE.m_corrupted) < 1e-4,
  );
  checkScores(eap.scores, REFERENCE.eap, "EAP");
  const ig = edgeAttribution(model, clean, corrupted, { ...metric, igSteps: REFERENCE.ig_steps });
  checkScores(ig.scores, REFERENCE.eap_ig, "EAP-IG");
  ok(ig.scores.some((s, e) => Math.abs(s - eap.scores[e]!) > 1e-3), "EAP-IG differs from EAP here");
});

Deno.test("faithfulness at k = 5, 10, 20, 50 equals the Hugging Face reference (edge-level patching)", async () => {
  const { model, clean, corrupted } = await gpt2Pair();
  const metric = { target: REFERENCE.target, distractor: REFERENCE.distractor };
  const eap = edgeAttribution(model, clean, corrupted, metric);
  const ks = REFERENCE.faithfulness.map((f) => f.k);
  const ours = faithfulnessAtK(model, clean, metric, eap.corrupted, eap.clean.metric, eap.scores, ks);
  const order = rankEdges(eap.scores);
  REFERENCE.faithfulness.forEach((ref, i) => {
    // the same circuit (ranked by our scores), and the same m when it runs
    deepStrictEqual([...order.subarray(0, ref.k)].sort((a, b) => a - b), ref.edges, `top ${ref.k}`);
    const given = faithfulness(model, clean, metric, eap.corrupted, eap.clean.metric, ref.edges);
    for (const f of [ours[i]!, given]) {
      ok(Math.abs(f.m_circuit - ref.m_circuit) < 1e-4, `k = ${ref.k}: m ${f.m_circuit} vs ${ref.m_circuit}`);
      ok(Math.abs(f.value - ref.value) < 1e-4, `k = ${ref.k}: faithfulness ${f.value} vs ${ref.value}`);
    }
  });
});

Deno.test("edgeAttribution() with one IG step equals plain EAP", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  const eap = edgeAttribution(model, clean, corrupted, metric);
  const one = edgeAttribution(model, clean, corrupted, { ...metric, igSteps: 1 });
  checkScores(one.scores, Array.from(eap.scores), "IG with K = 1");
  ok(eap.scores.some((s) => Math.abs(s) > 1e-3), "the scores are not all zero");
});

Deno.test("edgeAttribution() refuses pairs of different lengths, batches and bad step counts", async () => {
  const { model, clean, corrupted, metric } = await gpt2Pair();
  throws(() => edgeAttribution(model, clean, oneRow([1, 2, 3]), metric), /same number of tokens \(8 vs 3\)/);
  throws(
    () => edgeAttribution(model, clean, corrupted, { ...metric, igSteps: 0 }),
    /igSteps must be a positive integer/,
  );
  throws(
    () => edgeAttribution(model, clean, corrupted, { target: 5, distractor: 5 }),
    /distractor \(5\) must differ from target/,
  );
});
