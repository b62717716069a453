/**
 * Faithfulness of a circuit (a set of edges), measured by really running the model with every edge outside the
 * circuit fed its sender's corrupted output (edge-level patching, `split_run.ts`); an edge inside carries its
 * sender's output from that same patched pass. faithfulness = (m(circuit) − m(empty)) / (m(clean) − m(empty)),
 * m(empty) = m(corrupted): every edge gives 1, none gives m(corrupted).
 *
 * @module
 */

import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import { rankEdges } from "./graph.ts";
import type { MetricSpec } from "./metric.ts";
import { type PassRecord, splitPass } from "./split_run.ts";

/** One measured circuit. */
export interface Faithfulness {
  /** How many edges it has. */
  k: number;
  /** m with every other edge patched. */
  m_circuit: number;
  /** (m(circuit) − m(corrupted)) / (m(clean) − m(corrupted)). */
  value: number;
}

/**
 * m of the clean input with the edges outside `circuit` fed their corrupted value.
 *
 * @param corrupted the corrupted input's pass, recorded with sender outputs
 * @param circuit edge numbers in the circuit
 */
export function circuitMetric(
  model: TransformerModel,
  clean: Batch,
  metric: MetricSpec,
  corrupted: PassRecord,
  circuit: Iterable<number>,
): number {
  const patched = new Uint8Array(corrupted.graph.edgeCount).fill(1);
  for (const e of circuit) patched[e] = 0;
  return splitPass(model, clean, metric, { patch: { corrupted, patched } }).metric;
}

/**
 * Faithfulness of one edge set.
 *
 * @param mClean m of the clean input
 */
export function faithfulness(
  model: TransformerModel,
  clean: Batch,
  metric: MetricSpec,
  corrupted: PassRecord,
  mClean: number,
  circuit: readonly number[],
): Faithfulness {
  const m = circuitMetric(model, clean, metric, corrupted, circuit);
  return { k: circuit.length, m_circuit: m, value: (m - corrupted.metric) / (mClean - corrupted.metric) };
}

/**
 * Faithfulness of the top-k edges by |score| for each k (ties to the earlier edge in forward order).
 *
 * @throws {Error} for a k that is not a non-negative integer
 */
export function faithfulnessAtK(
  model: TransformerModel,
  clean: Batch,
  metric: MetricSpec,
  corrupted: PassRecord,
  mClean: number,
  scores: ArrayLike<number>,
  ks: readonly number[],
): Faithfulness[] {
  const order = rankEdges(scores);
  return ks.map((k) => {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
    return faithfulness(
      model,
      clean,
      metric,
      corrupted,
      mClean,
      Array.from(order.subarray(0, Math.min(k, order.length))),
    );
  });
}
