import { deepStrictEqual, strictEqual } from "node:assert";
import {
  bpeSuffixDecode,
  byteFallbackStep,
  chainDecoder,
  fuseStep,
  metaspaceStep,
  replaceStep,
  stripStep,
  wordPieceDecode,
} from "./decoders.ts";

Deno.test("wordPieceDecode() glues ## pieces and cleans spaces", () => {
  strictEqual(wordPieceDecode(["it", "'", "s", "un", "##aff", "."]), "it's unaff.");
  strictEqual(wordPieceDecode(["a", "##b", "."], "##", false), "ab .");
  strictEqual(wordPieceDecode([]), "");
});

Deno.test("bpeSuffixDecode() turns suffixes into spaces except at the end", () => {
  strictEqual(bpeSuffixDecode(["a</w>", "b</w>"]), "a b");
  strictEqual(bpeSuffixDecode([]), "");
});

Deno.test("byteFallbackStep() decodes runs of byte tokens, one U+FFFD per byte when they are not UTF-8", () => {
  deepStrictEqual(byteFallbackStep(["<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "!"]), ["😀", "!"]);
  deepStrictEqual(byteFallbackStep(["<0xE2>", "<0x82>", "x"]), ["\ufffd", "\ufffd", "x"]);
  deepStrictEqual(byteFallbackStep(["<0x4G>", "<0x41"]), ["<0x4G>", "<0x41"]);
});

Deno.test("Llama's decoder chain: Replace ▁, ByteFallback, Fuse, Strip one leading space", () => {
  const llama = chainDecoder([replaceStep("▁", " "), byteFallbackStep, fuseStep, stripStep(" ", 1, 0)]);
  strictEqual(llama(["▁h", "<0xC3>", "<0xA9>", "llo", "▁▁x"]), "héllo  x");
  deepStrictEqual(stripStep("x", 2, 1)(["xxxaxx", "a"]), ["xax", "a"]);
});

Deno.test("metaspaceStep() drops the prepended ▁ of the first token only, unless the scheme is never", () => {
  deepStrictEqual(metaspaceStep("▁", "always")(["▁a", "b", "▁c"]), ["a", "b", " c"]);
  deepStrictEqual(metaspaceStep("▁", "never")(["▁a", "▁c"]), [" a", " c"]);
});
