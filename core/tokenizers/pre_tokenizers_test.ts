import { deepStrictEqual } from "node:assert";
import { NormalizedText } from "./normalized_text.ts";
import {
  metaspacePreTokenizer,
  sequencePreTokenizer,
  splitPreTokenizer,
  whitespaceSplitPreTokenizer,
} from "./pre_tokenizers.ts";

const words = (ws: NormalizedText[]) => ws.map((w) => [w.text, w.originalRange(0, w.text.length)]);

Deno.test("metaspacePreTokenizer() prepends per scheme: always, first (only at the text's start), never", () => {
  const text = NormalizedText.from("hi you");
  deepStrictEqual(words(metaspacePreTokenizer("▁", "always", true)(text)), [["▁hi", [0, 2]], ["▁you", [2, 6]]]);
  deepStrictEqual(words(metaspacePreTokenizer("▁", "never", true)(text)), [["hi", [0, 2]], ["▁you", [2, 6]]]);
  // "first": a piece that does not start the original text (after an added token, say) gets no prefix
  const later = NormalizedText.from("you", 10);
  deepStrictEqual(words(metaspacePreTokenizer("▁", "first", true)(text))[0], ["▁hi", [0, 2]]);
  deepStrictEqual(words(metaspacePreTokenizer("▁", "first", true)(later)), [["you", [10, 13]]]);
  deepStrictEqual(words(metaspacePreTokenizer("▁", "always", true)(later)), [["▁you", [10, 13]]]);
});

Deno.test("metaspacePreTokenizer() without split keeps one word; with split, repeated spaces stand alone", () => {
  const text = NormalizedText.from("a  b");
  deepStrictEqual(words(metaspacePreTokenizer("▁", "always", false)(text)), [["▁a▁▁b", [0, 4]]]);
  deepStrictEqual(words(metaspacePreTokenizer("▁", "always", true)(text)), [["▁a", [0, 1]], ["▁", [1, 2]], [
    "▁b",
    [2, 4],
  ]]);
  deepStrictEqual(metaspacePreTokenizer("▁", "always", true)(NormalizedText.from("")), []);
  // an existing ▁ is not doubled
  deepStrictEqual(words(metaspacePreTokenizer("▁", "always", true)(NormalizedText.from("▁x"))), [["▁x", [0, 2]]]);
});

Deno.test("whitespaceSplitPreTokenizer() + Metaspace (ALBERT, XLM-R): U+0085 is a word break, offsets skip spaces", () => {
  const p = sequencePreTokenizer([whitespaceSplitPreTokenizer, metaspacePreTokenizer("▁", "always", true)]);
  deepStrictEqual(words(p(NormalizedText.from("nel\u0085next  x"))), [["▁nel", [0, 3]], ["▁next", [4, 8]], [
    "▁x",
    [10, 11],
  ]]);
});

Deno.test("splitPreTokenizer() keeps matches as each behaviour says", () => {
  const t = NormalizedText.from("the-final--countdown");
  const run = (b: Parameters<typeof splitPreTokenizer>[1]) => splitPreTokenizer("-", b, false)(t).map((w) => w.text);
  deepStrictEqual(run("Removed"), ["the", "final", "countdown"]);
  deepStrictEqual(run("Isolated"), ["the", "-", "final", "-", "-", "countdown"]);
  deepStrictEqual(run("MergedWithPrevious"), ["the-", "final-", "-", "countdown"]);
  deepStrictEqual(run("MergedWithNext"), ["the", "-final", "-", "-countdown"]);
  deepStrictEqual(run("Contiguous"), ["the", "-", "final", "--", "countdown"]);
  deepStrictEqual(splitPreTokenizer(/\d+/gu, "Isolated", true)(NormalizedText.from("ab12cd")).map((w) => w.text), [
    "ab",
    "12",
    "cd",
  ]);
});
