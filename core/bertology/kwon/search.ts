/**
 * Stage 2 of Kwon et al. 2022: the mask search. Given each head's and neuron's Fisher importance and what it
 * costs, keep the units of the largest total importance whose cost fits the budget.
 *
 * - FLOPs: every head costs the same, and every neuron; ranking heads and neurons each by importance, the
 *   best mask keeps the top n heads and the top m neurons for some n, with m the most neurons the rest of
 *   the budget pays for — so the search tries every n.
 * - Latency: a layer's time is piecewise linear in its unit count (flat up to a threshold, then a slope per
 *   unit; see `cost.ts`): a layer that keeps any unit pays the flat part, so its first `threshold` units come
 *   free with it. The search tries every number of attention and of MLP sub-layers to drop (the least
 *   important first, judged by their top-`threshold` units), then spends the rest of the budget on the
 *   remaining units ranked globally, as for FLOPs.
 *
 * @module
 */

import type { FisherImportance } from "./fisher.ts";
import type { PiecewiseLatency } from "./cost.ts";

/** A 0/1 mask of heads [layer][head] (original numbering) and neurons [layer][neuron]. */
export interface UnitMasks {
  /** Heads: 1 keep, 0 prune. */
  heads: number[][];
  /** Neurons: 1 keep, 0 prune. */
  neurons: number[][];
}

/** Which units exist (heads already pruned from the checkpoint do not). */
export interface Available {
  /** [layer][head]: whether the head is in the checkpoint. */
  heads: boolean[][];
}

interface Unit {
  layer: number;
  index: number;
  importance: number;
}

function units(per: ArrayLike<number>[], available?: boolean[][]): Unit[] {
  const out: Unit[] = [];
  per.forEach((row, layer) => {
    for (let index = 0; index < row.length; index++) {
      if (available && !available[layer]![index]) continue;
      out.push({ layer, index, importance: row[index]! });
    }
  });
  return out.sort((a, b) => b.importance - a.importance || a.layer - b.layer || a.index - b.index);
}

function prefixSums(u: readonly Unit[]): Float64Array {
  const s = new Float64Array(u.length + 1);
  u.forEach((x, i) => (s[i + 1] = s[i]! + x.importance));
  return s;
}

function maskOf(shape: ArrayLike<number>[], kept: Iterable<Unit>): number[][] {
  const m = shape.map((row) => new Array<number>(row.length).fill(0));
  for (const u of kept) m[u.layer]![u.index] = 1;
  return m;
}

/**
 * The FLOPs-constrained search: the mask of the largest total Fisher importance with
 * `heads · headFlops + neurons · neuronFlops ≤ budget`. With `headsOnly`, every neuron is kept (and paid
 * for) and only heads are searched.
 *
 * @param fisher importance per head and neuron
 * @param cost FLOPs of one head and of one neuron, and the budget
 * @param available heads present in the checkpoint
 * @param headsOnly search heads only
 * @returns the mask
 * @throws {Error} when the budget cannot pay for the neurons a heads-only search must keep
 */
export function searchFlops(
  fisher: FisherImportance,
  cost: { headFlops: number; neuronFlops: number; budget: number },
  available: Available,
  headsOnly = false,
): UnitMasks {
  const heads = units(fisher.heads, available.heads);
  const neurons = units(fisher.neurons);
  const hs = prefixSums(heads), ns = prefixSums(neurons);
  if (headsOnly) {
    const left = cost.budget - neurons.length * cost.neuronFlops;
    if (left < 0) {
      throw new Error(
        `The FLOPs budget is below what the MLPs alone cost (${(cost.budget / 1e6).toFixed(1)} < ${
          (neurons.length * cost.neuronFlops / 1e6).toFixed(1)
        } MFLOPs): a heads-only search cannot meet it`,
      );
    }
    const n = Math.min(heads.length, Math.floor(left / cost.headFlops + 1e-9));
    return { heads: maskOf(fisher.heads, heads.slice(0, n)), neurons: maskOf(fisher.neurons, neurons) };
  }
  let best = { value: -1, h: 0, n: 0 };
  for (let h = 0; h <= heads.length; h++) {
    const left = cost.budget - h * cost.headFlops;
    if (left < 0) break;
    const n = Math.min(neurons.length, Math.floor(left / cost.neuronFlops + 1e-9));
    const value = hs[h]! + ns[n]!;
    if (value > best.value) best = { value, h, n };
  }
  return {
    heads: maskOf(fisher.heads, heads.slice(0, best.h)),
    neurons: maskOf(fisher.neurons, neurons.slice(0, best.n)),
  };
}

/**
 * The latency-constrained search (see the module doc): the mask of the largest total Fisher importance whose
 * predicted latency Σ_layers mha(h_l) + ffn(n_l) is at most `budget` seconds.
 *
 * @param fisher importance per head and neuron
 * @param fits the attention and MLP sub-layer latency fits
 * @param budget seconds
 * @param available heads present in the checkpoint
 * @returns the mask; all zeros when not even one sub-layer fits
 */
export function searchLatency(
  fisher: FisherImportance,
  fits: { mha: PiecewiseLatency; ffn: PiecewiseLatency },
  budget: number,
  available: Available,
): UnitMasks {
  const L = fisher.heads.length;
  const perLayer = (per: ArrayLike<number>[], avail: boolean[][] | undefined, threshold: number) =>
    per.map((_, l) => {
      const u = units([per[l]!], avail ? [avail[l]!] : undefined).map((x) => ({ ...x, layer: l }));
      const base = u.slice(0, threshold);
      return { base, rest: u.slice(threshold), value: base.reduce((a, x) => a + x.importance, 0) };
    });
  const mha = perLayer(fisher.heads, available.heads, fits.mha.threshold);
  const ffn = perLayer(fisher.neurons, undefined, fits.ffn.threshold);
  // layers in the order they are dropped: the least important base first (empty layers first of all)
  const dropOrder = (p: typeof mha) =>
    p.map((x, l) => ({ l, v: x.base.length === 0 ? -1 : x.value })).sort((a, b) => a.v - b.v).map((x) => x.l);
  const mhaOrder = dropOrder(mha), ffnOrder = dropOrder(ffn);
  let best: { value: number; kept: Unit[] } = { value: -1, kept: [] };
  for (let dm = 0; dm <= L; dm++) {
    const keptMha = mhaOrder.slice(dm).filter((l) => mha[l]!.base.length > 0);
    for (let df = 0; df <= L; df++) {
      const keptFfn = ffnOrder.slice(df).filter((l) => ffn[l]!.base.length > 0);
      const left = budget - keptMha.length * fits.mha.base - keptFfn.length * fits.ffn.base;
      if (left < 0) continue;
      const base = [...keptMha.flatMap((l) => mha[l]!.base), ...keptFfn.flatMap((l) => ffn[l]!.base)];
      const baseValue = base.reduce((a, x) => a + x.importance, 0);
      const restH = keptMha.flatMap((l) => mha[l]!.rest).sort((a, b) => b.importance - a.importance);
      const restN = keptFfn.flatMap((l) => ffn[l]!.rest).sort((a, b) => b.importance - a.importance);
      const hs = prefixSums(restH), ns = prefixSums(restN);
      for (let h = 0; h <= restH.length; h++) {
        const rem = left - h * fits.mha.slope;
        if (rem < 0) break;
        const n = fits.ffn.slope > 0 ? Math.min(restN.length, Math.floor(rem / fits.ffn.slope + 1e-9)) : restN.length;
        const value = baseValue + hs[h]! + ns[n]!;
        if (value > best.value) {
          const tagged = (u: Unit[], kind: "h" | "n") => u.map((x) => ({ ...x, kind }));
          best = {
            value,
            kept: [
              ...tagged(keptMha.flatMap((l) => mha[l]!.base), "h"),
              ...tagged(restH.slice(0, h), "h"),
              ...tagged(keptFfn.flatMap((l) => ffn[l]!.base), "n"),
              ...tagged(restN.slice(0, n), "n"),
            ],
          };
        }
      }
    }
  }
  const kept = best.kept as Array<Unit & { kind: "h" | "n" }>;
  return {
    heads: maskOf(fisher.heads, kept.filter((u) => u.kind === "h")),
    neurons: maskOf(fisher.neurons, kept.filter((u) => u.kind === "n")),
  };
}
