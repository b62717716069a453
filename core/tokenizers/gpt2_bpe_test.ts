import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { countMismatches, readFixture, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { Gpt2BpeTokenizer, parseVocabJson } from "./gpt2_bpe.ts";

const gpt2 = Gpt2BpeTokenizer.fromFiles(
  await readFixture("vocab/gpt2/vocab.json"),
  await readFixture("vocab/gpt2/merges.txt"),
);

Deno.test("Gpt2BpeTokenizer matches every gpt2 golden line", async () => {
  strictEqual(countMismatches(gpt2, await readGolden("tokenize.gpt2.jsonl"), "gpt2"), 0);
});

Deno.test("Gpt2BpeTokenizer.encode() adds no special tokens", () => {
  deepStrictEqual(gpt2.encode("").ids, []);
  deepStrictEqual(gpt2.encode(" ").ids, [220]);
  deepStrictEqual(gpt2.encode("Hello world").tokens, ["Hello", "Ġworld"]);
  const pair = gpt2.encode("Hello", " world");
  deepStrictEqual(pair.ids, [15496, 995]);
  deepStrictEqual(pair.tokenTypeIds, [0, 1]);
});

Deno.test("Gpt2BpeTokenizer.encode() encodes emoji and other non-Latin text as bytes and decodes them back", () => {
  for (
    const text of ["emoji 😀🎉👍🏽 family 👨‍👩‍👧", "中文 한국어 \u0000\u0085\ufeff", "  two  spaces\n\n", "é vs e\u0301"]
  ) {
    const ids = gpt2.encode(text).ids;
    strictEqual(gpt2.decode(ids), text);
  }
  deepStrictEqual(gpt2.encode("😀").tokens, ["ðŁĺ", "Ģ"]);
});

Deno.test("Gpt2BpeTokenizer.encode() splits whitespace runs as HF's regex does", () => {
  // `\s+(?!\S)` leaves the last space to join the next word ("ĠĠ" is not a GPT-2 token)
  deepStrictEqual(gpt2.encode("a   b").tokens, ["a", "Ġ", "Ġ", "Ġb"]);
  deepStrictEqual(gpt2.encode("a\n\nb").ids, [64, 198, 198, 65]);
  deepStrictEqual(gpt2.encode("a\n\n").ids, [64, 628]);
});

Deno.test("Gpt2BpeTokenizer.encode() matches <|endoftext|> in the text", () => {
  deepStrictEqual(gpt2.encode("hi<|endoftext|>there").ids.includes(50256), true);
  strictEqual(gpt2.decode([50256]), "<|endoftext|>");
  strictEqual(gpt2.decode(gpt2.encode("a<|endoftext|>").ids, { skipSpecialTokens: true }), "a");
});

Deno.test("Gpt2BpeTokenizer truncates to maxLength", () => {
  deepStrictEqual(gpt2.encode("one two three four", "five six", { maxLength: 4 }).tokens, [
    "one",
    "Ġtwo",
    "five",
    "Ġsix",
  ]);
});

Deno.test("Gpt2BpeTokenizer reports vocabSize, padId and unkId", () => {
  strictEqual(gpt2.vocabSize, 50257);
  strictEqual(gpt2.padId, 0);
  strictEqual(gpt2.unkId, undefined);
  strictEqual(gpt2.kind, "byte-level-bpe");
});

Deno.test("parseVocabJson() rejects non-integer ids", () => {
  throws(() => parseVocabJson('{"a": "x"}'), /maps "a" to "x"/);
  throws(() => parseVocabJson("[1]"), /not a JSON object/);
});
