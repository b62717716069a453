/**
 * ACDC (Conmy et al. 2023) on the residual graph (`graph.ts`): starting from every edge, visit the receivers
 * from the logits backwards and, for each, its incoming edges from the latest sender back; remove an edge
 * (feed it its sender's corrupted output, by edge-level patching) when that raises the KL divergence of the
 * last position's output distribution from the clean one by less than τ, else keep it. A node none of whose
 * outputs is left in the circuit affects nothing, so its incoming edges go without a run. It is the exact
 * reference EAP approximates, one forward per edge visited, so it suits small models.
 *
 * @module
 */

import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import { edgeIndex, type ResidualGraph } from "./graph.ts";
import { checkPair } from "./eap.ts";
import { type MetricSpec, resolvePairMetric } from "./metric.ts";
import { splitPass } from "./split_run.ts";

/** Options of {@linkcode acdc}. */
export interface AcdcOptions {
  /** The KL threshold τ (nats). */
  tau: number;
  /** m's target logit, for the faithfulness reported (default: the clean prediction). */
  target?: number;
  /** m's distractor logit (default: the corrupted run's largest other logit; a classifier's: the clean run's). */
  distractor?: number;
}

/** The circuit ACDC found. */
export interface AcdcResult {
  /** The residual graph. */
  graph: ResidualGraph;
  /** The logit difference measured. */
  metric: MetricSpec;
  /** The edges kept, in forward order. */
  edges: number[];
  /** KL(clean ‖ circuit) at the last position. */
  kl: number;
  /** m of the clean input, the corrupted input and the circuit. */
  m_clean: number;
  m_corrupted: number;
  m_circuit: number;
  /** (m(circuit) − m(corrupted)) / (m(clean) − m(corrupted)). */
  faithfulness: number;
  /** How many edge-patched passes it ran. */
  passes: number;
}

/** log-softmax of a logit vector (float64). */
function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
}

/** KL(p ‖ q) from log-probabilities. */
function kl(logP: Float64Array, logQ: Float64Array): number {
  let s = 0;
  for (let i = 0; i < logP.length; i++) s += Math.exp(logP[i]!) * (logP[i]! - logQ[i]!);
  return s;
}

/**
 * Runs ACDC.
 *
 * @throws {Error} for a post-norm model, a bad pair, or τ not a non-negative number
 */
export function acdc(model: TransformerModel, clean: Batch, corrupted: Batch, opts: AcdcOptions): AcdcResult {
  checkPair(clean, corrupted);
  if (!(opts.tau >= 0)) throw new Error(`tau must be a non-negative number, got ${opts.tau}`);
  const metric = resolvePairMetric(model, clean, corrupted, { target: opts.target, distractor: opts.distractor });
  const cleanPass = splitPass(model, clean, metric, { lastLogits: true });
  const corr = splitPass(model, corrupted, metric, { senders: true });
  const graph = corr.graph;
  const logClean = logSoftmax(cleanPass.lastLogits!);
  const patched = new Uint8Array(graph.edgeCount);
  let passes = 0;
  const measure = () => {
    passes++;
    const pass = splitPass(model, clean, metric, { patch: { corrupted: corr, patched }, lastLogits: true });
    return { kl: kl(logClean, logSoftmax(pass.lastLogits!)), m: pass.metric };
  };
  let current = measure();
  const nodeIndex = new Map(graph.nodes.map((n, i) => [n, i]));
  // whether some edge out of sender s is still in the circuit
  const hasOutput = (s: number) =>
    graph.receivers.some((r, ri) => s < r.senders && patched[edgeIndex(graph, ri, s)] === 0);
  for (let ri = graph.receivers.length - 1; ri >= 0; ri--) {
    const r = graph.receivers[ri]!;
    const node = nodeIndex.get(r.node);
    const dead = node !== undefined && !hasOutput(node);
    for (let s = r.senders - 1; s >= 0; s--) {
      const e = edgeIndex(graph, ri, s);
      patched[e] = 1;
      if (dead) continue;
      const trial = measure();
      if (trial.kl - current.kl < opts.tau) current = trial;
      else patched[e] = 0;
    }
  }
  const edges: number[] = [];
  patched.forEach((p, e) => p === 0 && edges.push(e));
  return {
    graph,
    metric,
    edges,
    kl: current.kl,
    m_clean: cleanPass.metric,
    m_corrupted: corr.metric,
    m_circuit: current.m,
    faithfulness: (current.m - corr.metric) / (cleanPass.metric - corr.metric),
    passes,
  };
}
