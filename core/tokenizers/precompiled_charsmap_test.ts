import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { readFixture } from "../../tests/helpers/tokenizer_goldens.ts";
import { NormalizedText } from "./normalized_text.ts";
import { PrecompiledCharsmap } from "./precompiled_charsmap.ts";

/**
 * A hand-built darts-clone trie with one key, "a" → "b": the root's children start at offset 1, so "a" (0x61)
 * sits in unit 1 ^ 0x61 = 96 (label 0x61, leaf flag, children at offset 1), and its value in unit 96 ^ 1 = 97.
 */
function oneKeyMap(): Uint8Array {
  const units = new Uint32Array(98);
  units[0] = 1 << 10;
  units[96] = (1 << 10) | (1 << 8) | 0x61;
  units[97] = 0x80000000 | 0; // a leaf: bit 31 set, value 0 = offset of "b" in the replacements
  const replacements = new TextEncoder().encode("b\0");
  const out = new Uint8Array(4 + units.byteLength + replacements.length);
  new DataView(out.buffer).setUint32(0, units.byteLength, true);
  out.set(new Uint8Array(units.buffer), 4);
  out.set(replacements, 4 + units.byteLength);
  return out;
}

Deno.test("PrecompiledCharsmap.lookup() walks the double-array trie over UTF-8 bytes", () => {
  const map = PrecompiledCharsmap.parse(oneKeyMap(), "hand-built");
  strictEqual(map.lookup("a"), "b");
  strictEqual(map.lookup("c"), undefined);
  // the shortest key that is a prefix of the chunk, as spm_precompiled answers
  strictEqual(map.lookup("ab"), "b");
});

Deno.test("PrecompiledCharsmap.normalize() looks short graphemes up whole, as Hugging Face does, and aligns replacements", () => {
  const map = PrecompiledCharsmap.parse(oneKeyMap(), "hand-built");
  const out = map.normalize(NormalizedText.from("xa\u0301a"));
  // "a" + U+0301 is one grapheme of 3 bytes whose prefix "a" is a key: the whole grapheme becomes "b"
  strictEqual(out.text, "xbb");
  deepStrictEqual([out.originalRange(1, 2), out.originalRange(2, 3)], [[1, 3], [3, 4]]);
});

Deno.test("PrecompiledCharsmap on ALBERT's nmt_nfkc map: NFKC, control characters removed, form feed to space", async () => {
  const json = JSON.parse(await readFixture("families/models/albert-spm-tiny-random/tokenizer.json"));
  const b64: string = json.normalizer.normalizers[5].precompiled_charsmap;
  const map = PrecompiledCharsmap.parse(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), "albert");
  strictEqual(map.lookup("Ａ"), "A");
  strictEqual(map.lookup("ﬁ"), "fi");
  strictEqual(map.lookup("\u000b"), "");
  strictEqual(map.lookup("\f"), " ");
  strictEqual(map.lookup("a"), undefined);
  strictEqual(map.normalize(NormalizedText.from("ＡＢ\u000bc")).text, "ABc");
});

Deno.test("PrecompiledCharsmap.parse() refuses a trie larger than its data", () => {
  throws(() => PrecompiledCharsmap.parse(new Uint8Array([9, 0, 0, 0, 1]), "x"), /declares a trie of 9 bytes/);
  throws(() => PrecompiledCharsmap.parse(new Uint8Array([1]), "x"), /has 1 bytes, expected at least 4/);
});
