/**
 * Accuracy: the fraction of predictions equal to their label.
 *
 * @module
 */

import { checkPair } from "./_check.ts";

/**
 * The fraction of positions where `preds[i] === labels[i]` (HF `simple_accuracy`: `(preds == labels).mean()`).
 *
 * @param preds Predicted class ids.
 * @param labels True class ids.
 * @returns A number in [0, 1].
 * @throws {Error} When the inputs are empty or differ in length.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 *
 * strictEqual(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75);
 * ```
 */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair("accuracy", preds, labels);
  let correct = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) correct++;
  return correct / preds.length;
}
