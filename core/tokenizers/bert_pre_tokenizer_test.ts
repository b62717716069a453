import { deepStrictEqual } from "node:assert";
import { bertPreTokenize } from "./bert_pre_tokenizer.ts";

Deno.test("bertPreTokenize() splits on whitespace and isolates punctuation", () => {
  deepStrictEqual(bertPreTokenize("  a.b,, c  "), ["a", ".", "b", ",", ",", "c"]);
  deepStrictEqual(bertPreTokenize(""), []);
  deepStrictEqual(bertPreTokenize("x—y«z»"), ["x", "—", "y", "«", "z", "»"]);
  deepStrictEqual(bertPreTokenize("😀😀 a"), ["😀😀", "a"]);
});
