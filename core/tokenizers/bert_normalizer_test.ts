import { strictEqual } from "node:assert";
import { bertNormalize } from "./bert_normalizer.ts";

Deno.test("bertNormalize() cleans, splits CJK, strips accents then lower-cases", () => {
  strictEqual(bertNormalize("A\u0000b\u200bc\td\u00a0e"), "abc d e");
  strictEqual(bertNormalize("中a"), " 中 a");
  strictEqual(bertNormalize("ÅngströM"), "angstrom");
  strictEqual(bertNormalize(""), "");
});

Deno.test("bertNormalize() strips accents before lower-casing (İ becomes i)", () => {
  strictEqual(bertNormalize("İ"), "i");
  strictEqual(bertNormalize("İ", { stripAccents: false }), "i\u0307");
});

Deno.test("bertNormalize() lower-cases sigma per character, with no final-sigma rule", () => {
  strictEqual(bertNormalize("ΟΔΟΣ", { stripAccents: false }), "οδοσ");
});

Deno.test("bertNormalize() honours each option", () => {
  strictEqual(bertNormalize("Café 中", { lowercase: false }), "Café  中 ");
  strictEqual(bertNormalize("Café", { lowercase: false, stripAccents: true }), "Cafe");
  strictEqual(bertNormalize("a\u0007中", { cleanText: false, handleChineseChars: false }), "a\u0007中");
});
