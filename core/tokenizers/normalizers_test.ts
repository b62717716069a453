import { deepStrictEqual, strictEqual } from "node:assert";
import { NormalizedText } from "./normalized_text.ts";
import {
  bertNormalizer,
  lowercaseNormalizer,
  prependNormalizer,
  replaceNormalizer,
  sequenceNormalizer,
  stripAccentsNormalizer,
  stripNormalizer,
  unicodeNormalizer,
} from "./normalizers.ts";
import { normalizeLinear } from "./unicode_normalize.ts";

const aligned = (t: NormalizedText) => Array.from(t.text, (_, i) => t.originalRange(i, i + 1));

Deno.test("replaceNormalizer() and prependNormalizer() align what they insert with what they replace", () => {
  const llama = sequenceNormalizer([prependNormalizer("▁"), replaceNormalizer(" ", "▁")]);
  const t = llama(NormalizedText.from("a b"));
  strictEqual(t.text, "▁a▁b");
  deepStrictEqual(aligned(t), [[0, 1], [0, 1], [1, 2], [2, 3]]);
  const albert = replaceNormalizer("``", '"')(NormalizedText.from("say ``hi``"));
  strictEqual(albert.text, 'say "hi"');
  deepStrictEqual(albert.originalRange(4, 5), [4, 6]);
  strictEqual(replaceNormalizer(/ {2,}/gu, " ")(NormalizedText.from("a   b")).text, "a b");
});

Deno.test("NFKD + StripAccents + Lowercase keep every character aligned with its source", () => {
  const albert = sequenceNormalizer([unicodeNormalizer("NFKD"), stripAccentsNormalizer, lowercaseNormalizer]);
  const t = albert(NormalizedText.from("Élan ﬁ"));
  strictEqual(t.text, "elan fi");
  deepStrictEqual(aligned(t), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [5, 6]]);
  strictEqual(lowercaseNormalizer(NormalizedText.from("ΣΑΣ")).text, "σασ");
  strictEqual(stripNormalizer(true, false)(NormalizedText.from("\u0085 a ")).text, "a ");
});

Deno.test("unicodeNormalizer() is linear and exact over a long run of combining marks", () => {
  // "a" + 500,000 × (U+0316 U+0301): the engine's own normalize reorders such a run by insertion (minutes)
  const n = 500_000;
  const text = "a" + "\u0316\u0301".repeat(n);
  const nfd = normalizeLinear(text, "NFD");
  strictEqual(nfd.length, 2 * n + 1);
  strictEqual(nfd, "a" + "\u0316".repeat(n) + "\u0301".repeat(n)); // class 220 before class 230, stable
  const nfc = normalizeLinear(text, "NFC");
  strictEqual(nfc, "\u00e1" + "\u0316".repeat(n) + "\u0301".repeat(n - 1)); // á: U+0301 is not blocked by U+0316
  // a short text equals the engine's answer (fuzzed over composing, decomposing and Hangul characters)
  const pool = ["a", "e", "\u0301", "\u0316", "\u0345", "ᄀ", "\u1161", "\u11a8", "가", "ｶ", "ﾞ", "ﬁ", "Å", " "];
  let seed = 7;
  for (let k = 0; k < 2000; k++) {
    let s = "";
    for (let i = 0; i < 8; i++) s += pool[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % pool.length];
    for (const f of ["NFC", "NFD", "NFKC", "NFKD"] as const) strictEqual(normalizeLinear(s, f), s.normalize(f));
  }
});

Deno.test("bertNormalizer() strips 500,000 combining marks in linear time", () => {
  const f = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true });
  const t = f(NormalizedText.from("A" + "\u0316\u0301".repeat(500_000) + " b"));
  strictEqual(t.text, "a b");
  deepStrictEqual(aligned(t), [[0, 1], [1_000_001, 1_000_002], [1_000_002, 1_000_003]]);
});

Deno.test("StripAccents removes every mark (Mn, Mc, Me); BERT's accent stripping only nonspacing ones", () => {
  // U+0301 is Mn, U+0903 (Devanagari visarga) Mc, U+20DD (enclosing circle) Me
  strictEqual(stripAccentsNormalizer(NormalizedText.from("e\u0301\u0903\u20dd")).text, "e");
  const bert = bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: false });
  strictEqual(bert(NormalizedText.from("e\u0301\u0903\u20dd")).text, "e\u0903\u20dd");
});
