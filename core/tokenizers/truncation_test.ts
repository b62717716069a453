import { deepStrictEqual, throws } from "node:assert";
import { truncatedLengths } from "./truncation.ts";

Deno.test("truncatedLengths() leaves sequences that fit alone", () => {
  deepStrictEqual(truncatedLengths(3, 4, 7), [3, 4]);
  deepStrictEqual(truncatedLengths(3, undefined, 7), [3, 0]);
  deepStrictEqual(truncatedLengths(9, undefined, 7), [7, 0]);
});

Deno.test("truncatedLengths() longest_first cuts the longer, then both", () => {
  deepStrictEqual(truncatedLengths(2, 10, 6), [2, 4]);
  deepStrictEqual(truncatedLengths(10, 2, 6), [4, 2]);
  deepStrictEqual(truncatedLengths(10, 10, 7), [3, 4]);
  deepStrictEqual(truncatedLengths(10, 9, 7), [4, 3]);
  deepStrictEqual(truncatedLengths(5, 5, 0), [0, 0]);
});

Deno.test("truncatedLengths() only_first and only_second", () => {
  deepStrictEqual(truncatedLengths(10, 3, 6, "only_first"), [3, 3]);
  deepStrictEqual(truncatedLengths(3, 10, 6, "only_second"), [3, 3]);
  throws(() => truncatedLengths(3, 10, 6, "only_first"), RangeError);
});
