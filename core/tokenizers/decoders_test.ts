import { strictEqual } from "node:assert";
import { bpeSuffixDecode, wordPieceDecode } from "./decoders.ts";

Deno.test("wordPieceDecode() glues ## pieces and cleans spaces", () => {
  strictEqual(wordPieceDecode(["it", "'", "s", "un", "##aff", "."]), "it's unaff.");
  strictEqual(wordPieceDecode(["a", "##b", "."], "##", false), "ab .");
  strictEqual(wordPieceDecode([]), "");
});

Deno.test("bpeSuffixDecode() turns suffixes into spaces except at the end", () => {
  strictEqual(bpeSuffixDecode(["a</w>", "b</w>"]), "a b");
  strictEqual(bpeSuffixDecode([]), "");
});
