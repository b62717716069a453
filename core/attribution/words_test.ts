import { deepStrictEqual, throws } from "node:assert/strict";
import { wordScores, wordSpans } from "./words.ts";
import { testModel } from "./_test_models.ts";

Deno.test("wordSpans() joins WordPiece continuations; special tokens and punctuation stand alone", () => {
  const spans = wordSpans(["[CLS]", "grip", "##ping", ",", "un", "##bear", "##able", "[SEP]"], "wordpiece");
  deepStrictEqual(spans.map((w) => [w.text, w.start, w.end]), [
    ["[CLS]", 0, 1],
    ["gripping", 1, 3],
    [",", 3, 4],
    ["unbearable", 4, 7],
    ["[SEP]", 7, 8],
  ]);
});

Deno.test("wordSpans() joins GPT-2 pieces without a leading space; OpenAI GPT pieces up to </w>", () => {
  deepStrictEqual(
    wordSpans(["a", "Ġgri", "pping", ",", "Ġfilm", "s", "<|endoftext|>"], "gpt2-bpe").map((w) => w.text),
    ["a", "gripping", ",", "films", "<|endoftext|>"],
  );
  deepStrictEqual(
    wordSpans(["a</w>", "gri", "pping</w>", ",</w>", "film</w>"], "openai-gpt-bpe").map((w) => w.text),
    ["a", "gripping", ",", "film"],
  );
});

Deno.test("wordScores() sums each word's tokens; spans outside the scores are refused", () => {
  deepStrictEqual(wordScores([1, 2, 3, 4], [{ text: "a", start: 0, end: 1 }, { text: "bcd", start: 1, end: 4 }]), [
    1,
    9,
  ]);
  throws(
    () => wordScores([1], [{ text: "x", start: 0, end: 2 }]),
    /word "x" spans tokens \[0, 2\) outside the 1 scores/,
  );
});

Deno.test("wordSpans() on the tokenizers' own output: every token in exactly one word", async () => {
  for (const name of ["models/bert-sst2", "gpt2-tiny-random"]) {
    const { tokenizer } = await testModel(name);
    const enc = tokenizer.encode("an unbelievably gripping, heart-warming film");
    const spans = wordSpans(enc.tokens, tokenizer.kind);
    deepStrictEqual(spans[0]!.start, 0);
    deepStrictEqual(spans[spans.length - 1]!.end, enc.tokens.length);
    spans.forEach((w, i) => i > 0 && deepStrictEqual(w.start, spans[i - 1]!.end));
    if (tokenizer.kind === "wordpiece") deepStrictEqual(spans.map((w) => w.text).includes("unbelievably"), true);
  }
});
