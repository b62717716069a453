/**
 * Binary F1 score with positive class 1.
 *
 * @module
 */

import { checkPair } from "./_check.ts";

/**
 * Binary F1 of class 1 (sklearn `f1_score(y_true, y_pred)` with its defaults `average="binary"`,
 * `pos_label=1`): `2·TP / (2·TP + FP + FN)`. When there is no positive label and no positive prediction,
 * F1 is undefined and 0 is returned, as sklearn does (with a warning) by default.
 *
 * @param preds Predicted classes, each 0 or 1.
 * @param labels True classes, each 0 or 1.
 * @returns A number in [0, 1].
 * @throws {Error} When the inputs are empty, differ in length, or hold a value other than 0 and 1.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 *
 * // TP = 2, FP = 1, FN = 1: precision = recall = 2/3.
 * strictEqual(f1([1, 0, 1, 0, 1], [1, 1, 0, 0, 1]), 2 / 3);
 * ```
 */
export function f1(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair("f1", preds, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i];
    const t = labels[i];
    if ((p !== 0 && p !== 1) || (t !== 0 && t !== 1)) {
      throw new Error(`f1() got prediction ${p} and label ${t} at index ${i}: expected binary values 0 or 1`);
    }
    if (p === 1 && t === 1) tp++;
    else if (p === 1) fp++;
    else if (t === 1) fn++;
  }
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}
