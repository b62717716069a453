import { deepStrictEqual, throws } from "node:assert/strict";
import { predictionsFromLogits } from "./predictions.ts";

Deno.test("predictionsFromLogits() takes the argmax (first on ties), the value, or nothing per task kind", () => {
  const logits = { shape: [3, 3], data: Float32Array.from([0, 2, 1, 5, 5, 0, -1, -2, -0.5]) };
  deepStrictEqual(predictionsFromLogits("classify", logits), [1, 0, 2]);
  deepStrictEqual(predictionsFromLogits("regress", { shape: [2, 1], data: Float32Array.from([0.5, 4]) }), [0.5, 4]);
  deepStrictEqual(predictionsFromLogits("lm", logits), []);
});

Deno.test("predictionsFromLogits() refuses logits that are not [batch, outputs]", () => {
  throws(() => predictionsFromLogits("classify", { shape: [1, 2, 3], data: new Float32Array(6) }), /\[1, 2, 3\]/);
});
