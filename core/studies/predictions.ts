/**
 * What a model predicts for each row of a batch, from its output logits, by task kind: the argmax class
 * (`classify`), the value (`regress`); a language model's predictions are its next-token losses, so it
 * has none here.
 *
 * @module
 */

import type { TaskKind } from "../models/config.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Per-row predictions from a `[batch, outputs]` logits tensor: the index of the largest logit for a
 * classifier (the first one on ties), the single output for a regressor, nothing for a language model.
 *
 * @param task the model's task kind (`model.task`)
 * @param logits the model's logits, `[batch, outputs]` for `classify` / `regress`
 * @returns one prediction per row; empty for `"lm"`
 * @throws {Error} when a classifier or regressor's logits are not `[batch, outputs]`
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { predictionsFromLogits } from "./predictions.ts";
 *
 * const logits = { shape: [2, 2], data: Float32Array.from([0.1, 0.9, 2, -1]) };
 * deepStrictEqual(predictionsFromLogits("classify", logits), [1, 0]);
 * ```
 */
export function predictionsFromLogits(task: TaskKind, logits: Tensor): number[] {
  if (task === "lm") return [];
  const [rows, outputs] = logits.shape;
  if (logits.shape.length !== 2 || rows === undefined || outputs === undefined || outputs < 1) {
    throw new Error(`predictionsFromLogits: expected [batch, outputs] logits, got [${logits.shape.join(", ")}]`);
  }
  const d = logits.data;
  const preds: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (task === "regress") {
      preds.push(d[r * outputs] ?? NaN);
      continue;
    }
    let best = 0;
    for (let c = 1; c < outputs; c++) {
      if ((d[r * outputs + c] ?? -Infinity) > (d[r * outputs + best] ?? -Infinity)) best = c;
    }
    preds.push(best);
  }
  return preds;
}
