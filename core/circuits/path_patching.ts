/**
 * Path patching (Wang et al. 2022): the effect of sender nodes on given receivers with every other path frozen
 * at its clean value. It is one edge-patched pass (`split_run.ts`): the edges from the senders to the receivers
 * carry the senders' corrupted outputs, every other edge its sender's output in that same pass — so the
 * senders reach everything else with their clean outputs, and what the receivers compute from the patched input
 * flows on to the logits through the rest of the model recomputed, as in Wang et al.'s three-step procedure.
 *
 * @module
 */

import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import { edgeIndex, receiversNamed, type ResidualGraph, senderNamed } from "./graph.ts";
import { checkPair } from "./eap.ts";
import { type MetricSpec, resolvePairMetric } from "./metric.ts";
import { type PassRecord, splitPass } from "./split_run.ts";

/** Options of {@linkcode pathPatching}. */
export interface PathPatchOptions {
  /** Receivers: `logits`, `m1`, `a2.h0` (its q, k and v), `a2.h0:q`. */
  receivers: readonly string[];
  /** Senders (nodes); absent: every head, one at a time. */
  senders?: readonly string[];
  /** m's target logit (default: the clean prediction). */
  target?: number;
  /** m's distractor logit (default: the corrupted run's largest other logit; a classifier's: the clean run's). */
  distractor?: number;
}

/** One path-patched measurement. */
export interface PathEffect {
  /** The senders patched. */
  senders: string[];
  /** m with the sender → receiver paths fed the corrupted outputs. */
  m_patched: number;
  /** (m(clean) − m(patched)) / (m(clean) − m(corrupted)): the share of the difference the paths carry. */
  fraction: number;
}

/** The result of {@linkcode pathPatching}. */
export interface PathPatching {
  /** The residual graph. */
  graph: ResidualGraph;
  /** The logit difference measured. */
  metric: MetricSpec;
  /** m of the clean and of the corrupted input. */
  m_clean: number;
  m_corrupted: number;
  /** One entry for the senders given, or one per head (forward order) when none were. */
  effects: PathEffect[];
}

/**
 * Path patching from senders (together, or each head alone) to receivers.
 *
 * @throws {Error} for a post-norm model, a bad pair, or a name that is no node or receiver
 */
export function pathPatching(
  model: TransformerModel,
  clean: Batch,
  corrupted: Batch,
  opts: PathPatchOptions,
): PathPatching {
  checkPair(clean, corrupted);
  const metric = resolvePairMetric(model, clean, corrupted, { target: opts.target, distractor: opts.distractor });
  const cleanPass = splitPass(model, clean, metric);
  const corr = splitPass(model, corrupted, metric, { senders: true });
  const graph = corr.graph;
  if (opts.receivers.length === 0) throw new Error("Path patching needs at least one receiver");
  const receivers = [...new Set(opts.receivers.flatMap((n) => receiversNamed(graph, n)))];
  const groups = opts.senders !== undefined
    ? [opts.senders.map((n) => senderNamed(graph, n))]
    : graph.nodes.flatMap((n, i) => (n.startsWith("a") ? [[i]] : []));
  const effects = groups.map((senders) => {
    const m = pathPatchedMetric(model, clean, metric, corr, senders, receivers);
    return {
      senders: senders.map((s) => graph.nodes[s]!),
      m_patched: m,
      fraction: (cleanPass.metric - m) / (cleanPass.metric - corr.metric),
    };
  });
  return { graph, metric, m_clean: cleanPass.metric, m_corrupted: corr.metric, effects };
}

/** m with the edges from `senders` to `receivers` (indices) fed their corrupted value. */
export function pathPatchedMetric(
  model: TransformerModel,
  clean: Batch,
  metric: MetricSpec,
  corrupted: PassRecord,
  senders: readonly number[],
  receivers: readonly number[],
): number {
  const graph = corrupted.graph, patched = new Uint8Array(graph.edgeCount);
  for (const r of receivers) {
    for (const s of senders) if (s < graph.receivers[r]!.senders) patched[edgeIndex(graph, r, s)] = 1;
  }
  return splitPass(model, clean, metric, { patch: { corrupted, patched } }).metric;
}
