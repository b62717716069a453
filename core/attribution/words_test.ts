import { deepStrictEqual, throws } from "node:assert/strict";
import { wordScores, wordSpans } from "./words.ts";
import { testModel } from "./_test_models.ts";
import { readFixture } from "../../tests/helpers/tokenizer_goldens.ts";
import { tokenizerFromJson } from "../tokenizers/tokenizer_json.ts";

Deno.test("wordSpans() joins WordPiece continuations by offsets; special tokens and punctuation stand alone", () => {
  const enc = {
    tokens: ["[CLS]", "grip", "##ping", ",", "un", "##bear", "##able", "[SEP]"],
    offsets: [[0, 0], [0, 4], [4, 8], [8, 9], [10, 12], [12, 16], [16, 20], [0, 0]] as [number, number][],
    sequenceIds: [null, 0, 0, 0, 0, 0, 0, null],
  };
  deepStrictEqual(wordSpans(enc, "Gripping, unbearable").map((w) => [w.text, w.start, w.end]), [
    ["[CLS]", 0, 1],
    ["Gripping", 1, 3],
    [",", 3, 4],
    ["unbearable", 4, 7],
    ["[SEP]", 7, 8],
  ]);
});

Deno.test("wordSpans() joins pieces that share a character (byte fallback, a lone ▁) and keeps the pair's words apart", () => {
  const enc = {
    tokens: ["<s>", "▁", "<0xC3>", "<0xA9>", "t", "é", "</s>", "</s>", "▁a", "</s>"],
    offsets: [[0, 0], [0, 1], [0, 1], [0, 1], [1, 2], [2, 3], [0, 0], [0, 0], [0, 1], [0, 0]] as [number, number][],
    sequenceIds: [null, 0, 0, 0, 0, 0, null, null, 1, null],
  };
  deepStrictEqual(wordSpans(enc, "été", "a").map((w) => [w.text, w.start, w.end]), [
    ["<s>", 0, 1],
    ["été", 1, 6],
    ["</s>", 6, 7],
    ["</s>", 7, 8],
    ["a", 8, 9],
    ["</s>", 9, 10],
  ]);
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

Deno.test("wordSpans() on the tokenizers' own output: the text's words, every token in exactly one word", async () => {
  const text = "an unbelievably gripping, heart-warming film";
  const words = ["an", "unbelievably", "gripping", ",", "heart", "-", "warming", "film"];
  for (const name of ["models/bert-sst2", "gpt2-tiny-random"]) {
    const { tokenizer } = await testModel(name);
    const enc = tokenizer.encode(text);
    const spans = wordSpans(enc, text);
    deepStrictEqual(spans[0]!.start, 0);
    deepStrictEqual(spans[spans.length - 1]!.end, enc.tokens.length);
    spans.forEach((w, i) => i > 0 && deepStrictEqual(w.start, spans[i - 1]!.end));
    deepStrictEqual(spans.map((w) => w.text).filter((w) => !/^\[|^</.test(w)), words);
  }
  // sentencepiece (Unigram + Metaspace) and RoBERTa's byte-level BPE, from the family fixtures
  for (const name of ["xlm-roberta-spm-tiny-random", "albert-spm-tiny-random", "roberta-tiny-random"]) {
    const tokenizer = tokenizerFromJson(await readFixture(`families/models/${name}/tokenizer.json`));
    const enc = tokenizer.encode(text, "Il était une fois");
    const spans = wordSpans(enc, text, "Il était une fois");
    deepStrictEqual(
      spans.filter((w, i) => enc.sequenceIds[w.start] !== null || i < 0).map((w) => w.text),
      [...words, "Il", "était", "une", "fois"],
      name,
    );
  }
});
