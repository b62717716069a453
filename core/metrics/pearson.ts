/**
 * Pearson correlation coefficient.
 *
 * @module
 */

import { checkPair } from "./_check.ts";

/**
 * Pearson's r (scipy `pearsonr(x, y)[0]`): `Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²)`, computed in float64 with
 * centered sums and clipped to [-1, 1]. Symmetric in `x` and `y`.
 *
 * If either input is constant the correlation is undefined and `NaN` is returned (scipy also returns
 * `nan`, with a `ConstantInputWarning`). Callers reporting scores should check `Number.isNaN`.
 *
 * @param x First sample (e.g. predictions).
 * @param y Second sample (e.g. labels).
 * @returns A number in [-1, 1], or `NaN` for constant input.
 * @throws {Error} When the inputs differ in length or have fewer than 2 values.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 *
 * strictEqual(pearson([1, 2, 3], [2, 4, 6]), 1);
 * strictEqual(pearson([1, 2, 3], [3, 2, 1]), -1);
 * ```
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair("pearson", x, y, 2);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}
