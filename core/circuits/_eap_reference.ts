/**
 * Test helpers: a Hugging Face EAP reference (`tests/fixtures/hf/circuits_eap*_reference.out.json`) and the checks
 * every model's reference test makes against it — edge names in forward order, m clean and corrupted, EAP and EAP-IG
 * edge scores, and the faithfulness of the top-k circuits.
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import { edgeNames, rankEdges } from "./graph.ts";
import { type EapResult, edgeAttribution } from "./eap.ts";
import { faithfulness, faithfulnessAtK } from "./faithfulness.ts";
import type { MetricSpec } from "./metric.ts";

/** What a reference script wrote. */
export interface EapReference {
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

/** Reads `tests/fixtures/hf/<name>`. */
export function readEapReference(name: string): EapReference {
  return JSON.parse(Deno.readTextFileSync(new URL(`../../tests/fixtures/hf/${name}`, import.meta.url)));
}

/** Gradient-borne values: 1e-3 relative to the largest score, plus 1e-5 absolute. */
export function checkScores(ours: ArrayLike<number>, ref: readonly number[], label: string): void {
  const scale = Math.max(...ref.map(Math.abs));
  let worst = 0;
  ref.forEach((r, e) => (worst = Math.max(worst, Math.abs(ours[e]! - r) / (1e-5 + 1e-3 * scale))));
  ok(worst <= 1, `${label}: the worst edge is ${worst.toFixed(3)} × the tolerance`);
}

/**
 * EAP and EAP-IG of the reference's pair equal the reference: the prompts, the edges in forward order, m clean and
 * corrupted (1e-4), the edge scores ({@linkcode checkScores}); EAP-IG differs from EAP there.
 *
 * @returns the EAP result (for the faithfulness checks)
 */
export function checkEdgeAttribution(
  model: TransformerModel,
  clean: Batch,
  corrupted: Batch,
  ref: EapReference,
  pair: { clean: readonly number[]; corrupted: readonly number[] },
): EapResult {
  deepStrictEqual([ref.clean, ref.corrupted], [[...pair.clean], [...pair.corrupted]]);
  const metric = { target: ref.target, distractor: ref.distractor };
  const eap = edgeAttribution(model, clean, corrupted, metric);
  deepStrictEqual(edgeNames(eap.graph), ref.edges);
  ok(Math.abs(eap.clean.metric - ref.m_clean) < 1e-4 && Math.abs(eap.corrupted.metric - ref.m_corrupted) < 1e-4);
  checkScores(eap.scores, ref.eap, "EAP");
  const ig = edgeAttribution(model, clean, corrupted, { ...metric, igSteps: ref.ig_steps });
  checkScores(ig.scores, ref.eap_ig, "EAP-IG");
  ok(ig.scores.some((s, e) => Math.abs(s - eap.scores[e]!) > 1e-3), "EAP-IG differs from EAP here");
  return eap;
}

/**
 * The faithfulness of EAP's top-k circuits equals the reference's at each k: the same circuit (ranked by our scores)
 * and the same m and faithfulness when it runs (1e-4), through `faithfulnessAtK` and `faithfulness` of the given edges.
 */
export function checkFaithfulness(
  model: TransformerModel,
  clean: Batch,
  metric: MetricSpec,
  eap: EapResult,
  ref: EapReference,
): void {
  const ks = ref.faithfulness.map((f) => f.k);
  const ours = faithfulnessAtK(model, clean, metric, eap.corrupted, eap.clean.metric, eap.scores, ks);
  const order = rankEdges(eap.scores);
  ref.faithfulness.forEach((want, i) => {
    deepStrictEqual([...order.subarray(0, want.k)].sort((a, b) => a - b), want.edges, `top ${want.k}`);
    const given = faithfulness(model, clean, metric, eap.corrupted, eap.clean.metric, want.edges);
    for (const f of [ours[i]!, given]) {
      ok(Math.abs(f.m_circuit - want.m_circuit) < 1e-4, `k = ${want.k}: m ${f.m_circuit} vs ${want.m_circuit}`);
      ok(Math.abs(f.value - want.value) < 1e-4, `k = ${want.k}: faithfulness ${f.value} vs ${want.value}`);
    }
  });
}
