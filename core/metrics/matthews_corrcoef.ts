/**
 * Matthews correlation coefficient (CoLA's metric).
 *
 * @module
 */

import { checkPair } from "./_check.ts";

/**
 * Matthews correlation coefficient, the multiclass form sklearn's `matthews_corrcoef` computes
 * (Gorodkin 2004): `(c·s − Σ pₖtₖ) / √((s² − Σ pₖ²)(s² − Σ tₖ²))`, with `c` correct predictions, `s`
 * samples, `pₖ`/`tₖ` the predicted/true counts of class `k`. For two classes it is the usual
 * `(TP·TN − FP·FN) / √(…)`. Classes are compared by value. When the denominator is 0 (a constant
 * prediction or constant labels) the result is 0, as in sklearn.
 *
 * @param preds Predicted classes.
 * @param labels True classes.
 * @returns A number in [-1, 1].
 * @throws {Error} When the inputs are empty or differ in length.
 *
 * @example Usage
 * ```ts
 * import { ok } from "node:assert";
 *
 * // sklearn's doc example: matthews_corrcoef(y_true=[+1, +1, +1, -1], y_pred=[+1, -1, +1, +1]) = -0.33…
 * ok(Math.abs(matthewsCorrcoef([1, -1, 1, 1], [1, 1, 1, -1]) + 1 / 3) < 1e-12);
 * ```
 */
export function matthewsCorrcoef(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair("matthewsCorrcoef", preds, labels);
  const predCount = new Map<number, number>();
  const trueCount = new Map<number, number>();
  let correct = 0;
  const s = preds.length;
  for (let i = 0; i < s; i++) {
    const p = preds[i]!, t = labels[i]!;
    predCount.set(p, (predCount.get(p) ?? 0) + 1);
    trueCount.set(t, (trueCount.get(t) ?? 0) + 1);
    if (p === t) correct++;
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, p] of predCount) {
    pt += p * (trueCount.get(k) ?? 0);
    pp += p * p;
  }
  for (const t of trueCount.values()) tt += t * t;
  const denominator = Math.sqrt((s * s - pp) * (s * s - tt));
  if (denominator === 0 || !Number.isFinite(denominator)) return 0;
  return (correct * s - pt) / denominator;
}
