/**
 * Edge attribution patching (Syed et al. 2023) and EAP-IG (Hanna et al. 2024) on the residual graph
 * (`graph.ts`): score(u → v) = (out_u(corrupted) − out_u(clean)) · ∂m/∂input_v, summed over positions, with
 * the gradient from one backward of the clean pass in which every receiver reads its own residual copy
 * (`split_run.ts`). EAP-IG averages that gradient over K passes whose `input` node's output is
 * emb_corr + (k/K)(emb_clean − emb_corr), k = 1…K (K = 1 is plain EAP). One forward and one backward per step
 * score every edge.
 *
 * @module
 */

import { MatmulFlags } from "../kernels/types.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import type { ResidualGraph } from "./graph.ts";
import { type MetricSpec, resolvePairMetric } from "./metric.ts";
import { type PassRecord, splitPass } from "./split_run.ts";

/** Options of {@linkcode edgeAttribution}. */
export interface EapOptions {
  /** m's target logit (default: the clean prediction). */
  target?: number;
  /** m's distractor logit (default: the corrupted run's largest other logit; a classifier's: the clean run's). */
  distractor?: number;
  /** EAP-IG's K; absent: plain EAP (the gradient of the clean pass itself). */
  igSteps?: number;
}

/** The scores of every edge, and the passes they came from. */
export interface EapResult {
  /** The residual graph; edge e's score is `scores[e]`. */
  graph: ResidualGraph;
  /** The logit difference measured. */
  metric: MetricSpec;
  /** Per edge, in forward order. */
  scores: Float64Array;
  /** The clean pass (m, sender outputs). */
  clean: PassRecord;
  /** The corrupted pass (m, sender outputs, residuals): what edge-patched passes take corrupted values from. */
  corrupted: PassRecord;
}

/**
 * Checks a clean/corrupted pair: one row each, the same length, no padding.
 *
 * @throws {Error} saying which
 */
export function checkPair(clean: Batch, corrupted: Batch): void {
  if (clean.batchSize !== 1 || corrupted.batchSize !== 1) {
    throw new Error("The clean and corrupted inputs are one row each");
  }
  if (clean.seqLen !== corrupted.seqLen) {
    throw new Error(
      `The clean and corrupted inputs must have the same number of tokens (${clean.seqLen} vs ${corrupted.seqLen})`,
    );
  }
  for (const b of [clean, corrupted]) {
    if (b.attentionMask?.some((m) => m !== 1)) throw new Error("A circuit prompt has no padding");
  }
}

/**
 * Scores every edge of the model's residual graph by EAP, or by EAP-IG with `igSteps`.
 *
 * @throws {Error} for a post-norm model, a bad pair, or `igSteps` not a positive integer
 */
export function edgeAttribution(
  model: TransformerModel,
  clean: Batch,
  corrupted: Batch,
  opts: EapOptions = {},
): EapResult {
  checkPair(clean, corrupted);
  const K = opts.igSteps;
  if (K !== undefined && !(Number.isInteger(K) && K >= 1)) {
    throw new Error(`igSteps must be a positive integer, got ${K}`);
  }
  const metric = resolvePairMetric(model, clean, corrupted, { target: opts.target, distractor: opts.distractor });
  const cleanPass = splitPass(model, clean, metric, { senders: true, ...(K === undefined ? { grads: true } : {}) });
  const corrPass = splitPass(model, corrupted, metric, { senders: true });
  const graph = cleanPass.graph;
  let grads = cleanPass.grads;
  if (K !== undefined) {
    const embClean = cleanPass.senders[0]!, embCorr = corrPass.senders[0]!;
    grads = graph.receivers.map(() => new Float32Array(embClean.length));
    for (let k = 1; k <= K; k++) {
      const alpha = k / K;
      const input = embCorr.map((c, i) => c + alpha * (embClean[i]! - c));
      const step = splitPass(model, clean, metric, { grads: true, input });
      step.grads.forEach((g, r) => {
        const sum = grads[r]!;
        for (let i = 0; i < g.length; i++) sum[i]! += g[i]! / K;
      });
    }
  }
  // every receiver's gradient against every sender's corrupted − clean output: one matmul
  // [receivers, n] · [senders, n]ᵀ (float32 dot products, summed by the kernels), then each receiver's upstream
  const k = model.kernels, mem = k.mem, n = cleanPass.senders[0]!.length;
  const S = graph.nodes.length, Rn = graph.receivers.length;
  const mark = mem.mark();
  const scores = new Float64Array(graph.edgeCount);
  try {
    const g = mem.alloc(4 * Rn * n), d = mem.alloc(4 * S * n), out = mem.alloc(4 * Rn * S);
    grads.forEach((v, r) => mem.f32(g + 4 * r * n, n).set(v));
    cleanPass.senders.forEach((clean, s) => {
      const corr = corrPass.senders[s]!, row = mem.f32(d + 4 * s * n, n);
      for (let i = 0; i < n; i++) row[i] = corr[i]! - clean[i]!;
    });
    k.matmul(out, g, d, 0, Rn, n, S, MatmulFlags.TRANS_B);
    const all = mem.f32(out, Rn * S);
    graph.receivers.forEach((r, ri) => {
      const start = graph.edgeStart[ri]!;
      for (let s = 0; s < r.senders; s++) scores[start + s] = all[ri * S + s]!;
    });
  } finally {
    mem.release(mark);
  }
  return { graph, metric, scores, clean: cleanPass, corrupted: corrPass };
}
