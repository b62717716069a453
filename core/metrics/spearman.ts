/**
 * Spearman rank correlation, with average ranks for ties.
 *
 * @module
 */

import { checkPair } from "./_check.ts";
import { pearson } from "./pearson.ts";

/**
 * Ranks of `values` from 1, tied values getting the average of their ranks (scipy `rankdata`, method
 * `"average"`).
 *
 * @param values The values to rank (NaN is not allowed).
 * @returns One rank per value, in input order.
 * @throws {Error} When a value is NaN.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * deepStrictEqual(rankAverage([10, 30, 20, 20]), [1, 4, 2.5, 2.5]);
 * ```
 */
export function rankAverage(values: ArrayLike<number>): number[] {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) throw new Error(`rankAverage() got NaN at index ${i}: expected numbers`);
  }
  order.sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's ρ (scipy `spearmanr(x, y)[0]`): the Pearson correlation of the average ranks.
 * Returns `NaN` when either input is constant, like {@linkcode pearson}.
 *
 * @param x First sample (e.g. predictions).
 * @param y Second sample (e.g. labels).
 * @returns A number in [-1, 1], or `NaN` for constant input.
 * @throws {Error} When the inputs differ in length, have fewer than 2 values, or contain NaN.
 *
 * @example Usage
 * ```ts
 * import { ok } from "node:assert";
 *
 * // scipy's doc example: spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
 * ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 0.8207826816681233) < 1e-12);
 * ```
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair("spearman", x, y, 2);
  return pearson(rankAverage(x), rankAverage(y));
}
