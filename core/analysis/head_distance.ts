/**
 * Clark et al. (2019), section 6: how alike two heads behave — the Jensen–Shannon divergence (natural log)
 * between their attention distributions, averaged over every (example, query) pair. JS(P, Q) =
 * ½ Σ p ln p + ½ Σ q ln q − Σ m ln m with m = (p + q) / 2, so each row's Σ p ln p is computed once.
 *
 * @module
 */

import type { ExampleAttention } from "./attention_maps.ts";

/**
 * The Jensen–Shannon divergence of two distributions, in nats (0 ln 0 = 0).
 *
 * @param p A distribution.
 * @param q A distribution of the same length.
 * @returns JS(p, q) in [0, ln 2].
 *
 * @example Usage
 * ```ts
 * import { jensenShannon } from "./head_distance.ts";
 * jensenShannon([1, 0], [0, 1]); // ln 2
 * ```
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < p.length; j++) {
    const a = p[j]!, b = q[j]!, m = (a + b) / 2;
    if (a > 0) s += 0.5 * a * Math.log(a / m);
    if (b > 0) s += 0.5 * b * Math.log(b / m);
  }
  return s;
}

/** Sums the pairwise Jensen–Shannon divergences of every head over examples. */
export class HeadDistanceMeter {
  readonly #heads: number;
  readonly #sums: Float64Array;
  #queries = 0;

  /**
   * A meter for `heads` heads.
   *
   * @param heads Heads per example (layers · heads per layer).
   */
  constructor(heads: number) {
    this.#heads = heads;
    this.#sums = new Float64Array(heads * heads);
  }

  /**
   * Adds every query row of one example.
   *
   * @param ex Its maps.
   * @throws {Error} when the maps do not match the example's size
   *
   * @example Usage
   * ```ts
   * import { HeadDistanceMeter } from "./head_distance.ts";
   * const m = new HeadDistanceMeter(2);
   * m.add({ n: 1, maps: Float64Array.from([1, 1]) });
   * m.result()[1]; // 0
   * ```
   */
  add(ex: ExampleAttention): void {
    const H = this.#heads, n = ex.n, a = ex.maps, s = this.#sums;
    if (a.length !== H * n * n) throw new Error(`Attention maps hold ${a.length} values, expected ${H}·${n}·${n}`);
    const plogp = new Float64Array(H);
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < H; h++) {
        const r = (h * n + i) * n;
        let e = 0;
        for (let j = 0; j < n; j++) {
          const p = a[r + j]!;
          if (p > 0) e += p * Math.log(p);
        }
        plogp[h] = e;
      }
      for (let h = 0; h < H; h++) {
        const rh = (h * n + i) * n;
        for (let g = h + 1; g < H; g++) {
          const rg = (g * n + i) * n;
          let mlogm = 0;
          for (let j = 0; j < n; j++) {
            const m = (a[rh + j]! + a[rg + j]!) / 2;
            if (m > 0) mlogm += m * Math.log(m);
          }
          s[h * H + g]! += 0.5 * (plogp[h]! + plogp[g]!) - mlogm;
        }
      }
    }
    this.#queries += n;
  }

  /**
   * The summed divergences (upper triangle of a row-major [heads · heads] matrix) and the query count, nothing
   * divided: one shard's part of a study.
   *
   * @returns A copy of the sums and the count.
   *
   * @example Usage
   * ```ts
   * import { HeadDistanceMeter } from "./head_distance.ts";
   * const m = new HeadDistanceMeter(2);
   * m.add({ n: 1, maps: Float64Array.from([1, 1]) });
   * m.sums().queries; // 1
   * ```
   */
  sums(): { sums: Float64Array; queries: number } {
    return { sums: Float64Array.from(this.#sums), queries: this.#queries };
  }

  /**
   * Adds another meter's sums (a shard's part).
   *
   * @param part What {@linkcode sums} returned there.
   * @throws {Error} when its size differs
   *
   * @example Usage
   * ```ts
   * import { HeadDistanceMeter } from "./head_distance.ts";
   * const a = new HeadDistanceMeter(2), b = new HeadDistanceMeter(2);
   * a.add({ n: 1, maps: Float64Array.from([1, 1]) });
   * b.addSums(a.sums());
   * b.result()[1]; // 0
   * ```
   */
  addSums(part: { sums: ArrayLike<number>; queries: number }): void {
    if (part.sums.length !== this.#sums.length) {
      throw new Error(`Head distance sums hold ${part.sums.length} values, expected ${this.#sums.length}`);
    }
    for (let i = 0; i < this.#sums.length; i++) this.#sums[i]! += part.sums[i]!;
    this.#queries += part.queries;
  }

  /**
   * The mean divergence between every pair of heads: a symmetric [heads · heads] matrix, zero diagonal.
   *
   * @returns The row-major matrix.
   * @throws {Error} when no query was added
   *
   * @example Usage
   * ```ts
   * import { HeadDistanceMeter } from "./head_distance.ts";
   * const m = new HeadDistanceMeter(2);
   * m.add({ n: 2, maps: Float64Array.from([1, 0, 1, 0, 0, 1, 0, 1]) });
   * m.result()[1]; // ln 2
   * ```
   */
  result(): Float64Array {
    if (this.#queries === 0) throw new Error("No queries: head distances need at least one example");
    const H = this.#heads, out = new Float64Array(H * H);
    for (let h = 0; h < H; h++) {
      for (let g = h + 1; g < H; g++) {
        const v = Math.max(0, this.#sums[h * H + g]! / this.#queries);
        out[h * H + g] = v;
        out[g * H + h] = v;
      }
    }
    return out;
  }
}
