import { deepStrictEqual, strictEqual } from "node:assert";
import { bertPostProcessor, plainPostProcessor, robertaPostProcessor } from "./post_processor.ts";

const a = { ids: [5, 6], tokens: ["a", "b"] };
const b = { ids: [7], tokens: ["c"] };

Deno.test("bertPostProcessor() builds [CLS] A [SEP] B [SEP] with segment ids", () => {
  const e = bertPostProcessor(101, 102).process(a, b, true);
  deepStrictEqual(e.ids, [101, 5, 6, 102, 7, 102]);
  deepStrictEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1]);
  deepStrictEqual(bertPostProcessor(101, 102).process(a, b, false).tokenTypeIds, [0, 0, 1]);
  strictEqual(bertPostProcessor(101, 102).addedTokens(false), 2);
});

Deno.test("robertaPostProcessor() and plainPostProcessor() count their special tokens", () => {
  strictEqual(robertaPostProcessor(0, 2).addedTokens(true), 4);
  strictEqual(plainPostProcessor().addedTokens(true), 0);
});
