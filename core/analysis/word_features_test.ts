import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { loadModel } from "../models/load.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { encodeWords } from "./word_alignment.ts";
import { joinWordFeatures, wordFeatures, wordFeaturesPart } from "./word_features.ts";

const SENTENCES = [
  "the film is slow",
  "an unaffable cast",
  "it runs",
  "a long , long story about nothing at all",
  "no",
  "yes it is",
  "the end",
  "what a film",
];

Deno.test("wordFeaturesPart() of every shard, joined, equals wordFeatures() bit for bit", async () => {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const encodings = SENTENCES.map((s) => encodeWords(tokenizer!, s.split(" "))!);
  const whole = wordFeatures(model, encodings, { batchSize: 3 });
  const words = encodings.map((e) => e.words.filter((w) => w.source >= 0).length);
  const parts = [0, 1].map((index) => wordFeaturesPart(model, encodings, { index, count: 2 }, { batchSize: 3 }));
  // batches of 3 sentences: shard 0 runs batches 0 and 2, shard 1 batch 1
  deepStrictEqual(parts.map((p) => [p.batches, p.sentences]), [[[0, 2], [0, 1, 2, 6, 7]], [[1], [3, 4, 5]]]);
  const joined = joinWordFeatures(words, [parts[1]!, parts[0]!]);
  deepStrictEqual([joined.count, joined.dim, [...joined.sentenceStart]], [
    whole.count,
    whole.dim,
    [...whole.sentenceStart],
  ]);
  strictEqual(joined.layers.length, model.config.layers + 1);
  joined.layers.forEach((l, i) => deepStrictEqual(l, whole.layers[i], `layer ${i}`));
  throws(() => joinWordFeatures(words, [parts[0]!]), /Sentence 3 is in no word-feature part/);
  throws(() => joinWordFeatures(words, [parts[0]!, parts[0]!, parts[1]!]), /Sentence 0 is in two word-feature parts/);
  throws(() => joinWordFeatures(words.map((n) => n + 1), parts), /its sentences have \d+ words/);
});
