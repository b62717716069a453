import { deepStrictEqual, strictEqual } from "node:assert";
import { countMismatches, readFixture, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { OpenAiGptBpeTokenizer } from "./openai_gpt_bpe.ts";

const gpt = OpenAiGptBpeTokenizer.fromFiles(
  await readFixture("models/openai-gpt-tiny-random/vocab.json"),
  await readFixture("models/openai-gpt-tiny-random/merges.txt"),
);

Deno.test("OpenAiGptBpeTokenizer matches every openai-gpt-tiny-random golden line", async () => {
  strictEqual(countMismatches(gpt, await readGolden("tokenize.openai-gpt-tiny-random.jsonl"), "openai-gpt"), 0);
});

Deno.test("OpenAiGptBpeTokenizer.encode() lower-cases, strips accents and marks word ends", () => {
  deepStrictEqual(gpt.encode("The FILM").tokens, ["the</w>", "film</w>"]);
  deepStrictEqual(gpt.encode("Café").tokens, gpt.encode("cafe").tokens);
  deepStrictEqual(gpt.encode("").ids, []);
  deepStrictEqual(gpt.encode(" \t ").ids, []);
});

Deno.test("OpenAiGptBpeTokenizer.encode() maps each unknown character to <unk>", () => {
  deepStrictEqual(gpt.encode("中文").ids, [0, 0]);
  deepStrictEqual(gpt.encode("😀😀").ids, [0, 0]);
  deepStrictEqual(gpt.encode("<unk>").ids, [0]);
});

Deno.test("OpenAiGptBpeTokenizer.decode() turns </w> into spaces", () => {
  strictEqual(gpt.decode(gpt.encode("The film is charming.").ids), "the film is charming .");
});

Deno.test("OpenAiGptBpeTokenizer reports vocabSize, padId and unkId", () => {
  strictEqual(gpt.vocabSize, 1500);
  strictEqual(gpt.padId, 0);
  strictEqual(gpt.unkId, 0);
  strictEqual(gpt.kind, "bpe");
});
