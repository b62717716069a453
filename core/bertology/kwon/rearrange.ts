/**
 * Stage 3 of Kwon et al. 2022: mask rearrangement. The search keeps a number of units per layer by their
 * diagonal Fisher; within a layer, units interact. Approximating the loss increase of pruning a set S of a
 * layer's units by ‖Σ_{i∈S} g_i‖² (g_i = unit i's per-batch mask gradients: the layer's block of the
 * empirical Fisher), a greedy pass swaps which units are pruned while their number stays: starting from the
 * least important ones, each further unit joins the pruned set and the member whose removal leaves the
 * smallest ‖Σ g‖² goes back.
 *
 * @module
 */

/**
 * Rearranges one layer's 0/1 mask row (the number of kept units is unchanged).
 *
 * @param mask 1 keep, 0 prune, per unit
 * @param grads per batch: each unit's mask gradient
 * @param available units that may be kept (absent: all)
 * @returns the new mask row
 * @example Usage
 * ```ts
 * import { rearrangeLayer } from "./rearrange.ts";
 * // units 0 and 1 cancel out: pruning both costs less than pruning 0 and the weak unit 2
 * const g = [Float32Array.from([1, -1, 0.5]), Float32Array.from([1, -1, 0.5])];
 * rearrangeLayer([0, 1, 0], g); // [0, 0, 1]
 * ```
 */
export function rearrangeLayer(
  mask: readonly number[],
  grads: readonly ArrayLike<number>[],
  available?: readonly boolean[],
): number[] {
  const n = mask.length, B = grads.length;
  const ids = Array.from({ length: n }, (_, i) => i).filter((i) => !available || available[i]);
  const pruneCount = ids.filter((i) => mask[i] === 0).length;
  if (pruneCount === 0 || pruneCount === ids.length) return [...mask];
  // g[i] = unit i's gradient over the batches
  const g = ids.map((i) => Float64Array.from({ length: B }, (_, b) => grads[b]![i]!));
  const fisher = g.map((v) => v.reduce((a, x) => a + x * x, 0));
  const order = ids.map((_, k) => k).sort((a, b) => fisher[a]! - fisher[b]! || a - b);
  const pruned = order.slice(0, pruneCount);
  const sum = new Float64Array(B);
  for (const k of pruned) g[k]!.forEach((x, b) => (sum[b]! += x));
  for (const k of order.slice(pruneCount)) {
    pruned.push(k);
    g[k]!.forEach((x, b) => (sum[b]! += x));
    let drop = 0, dropNorm = Infinity;
    pruned.forEach((m, at) => {
      let s = 0;
      for (let b = 0; b < B; b++) s += (sum[b]! - g[m]![b]!) ** 2;
      if (s < dropNorm) [drop, dropNorm] = [at, s];
    });
    g[pruned[drop]!]!.forEach((x, b) => (sum[b]! -= x));
    pruned.splice(drop, 1);
  }
  const out = new Array<number>(n).fill(0);
  for (const i of ids) out[i] = 1;
  for (const k of pruned) out[ids[k]!] = 0;
  return out;
}
