import { deepStrictEqual, throws } from "node:assert";
import { accAndF1 } from "./acc_and_f1.ts";

Deno.test("accAndF1() returns acc, f1 and their mean with HF keys", () => {
  // preds 1 0 1 0 1, labels 1 1 0 0 1: acc = 3/5, F1 = 2/3.
  deepStrictEqual(accAndF1([1, 0, 1, 0, 1], [1, 1, 0, 0, 1]), { acc: 0.6, f1: 2 / 3, acc_and_f1: (0.6 + 2 / 3) / 2 });
  deepStrictEqual(accAndF1([0, 0], [0, 0]), { acc: 1, f1: 0, acc_and_f1: 0.5 });
});

Deno.test("accAndF1() throws on invalid input", () => {
  throws(() => accAndF1([], []), /got 0 values/);
  throws(() => accAndF1([0, 3], [0, 1]), /expected binary values/);
});
