import { deepStrictEqual, throws } from "node:assert";
import { UnigramModel } from "./unigram_model.ts";

// Scores are log-probabilities: the split with the highest sum wins.
const VOCAB: [string, number][] = [
  ["<unk>", 0],
  ["▁", -2],
  ["▁un", -3],
  ["▁unre", -9],
  ["re", -2.5],
  ["lated", -3],
  ["late", -2],
  ["d", -2],
  ["▁related", -4],
];

Deno.test("UnigramModel.tokenize() takes the split of highest total score (Viterbi)", () => {
  const m = new UnigramModel(VOCAB, { unkId: 0 });
  // ▁un + re + lated = -8.5 beats ▁unre + lated = -12 and ▁un + re + late + d = -9.5
  deepStrictEqual(m.tokenize("▁unrelated"), [2, 4, 5]);
  // the whole word is one piece
  deepStrictEqual(m.tokenize("▁related"), [8]);
  deepStrictEqual(m.tokenize(""), []);
});

Deno.test("UnigramModel.tokenize() fuses consecutive unknown characters into one unknown token with its span", () => {
  const m = new UnigramModel(VOCAB, { unkId: 0 });
  const spans: number[] = [];
  // "xy" and "😀" are unknown: one <unk> per run; the emoji is one character of two UTF-16 units
  deepStrictEqual(m.tokenize("▁xyd😀d", spans), [1, 0, 7, 0, 7]);
  deepStrictEqual(spans, [0, 1, 1, 3, 3, 4, 4, 6, 6, 7]);
});

Deno.test("UnigramModel.tokenize() spells an unknown run as <0xXX> pieces with byte fallback", () => {
  const bytes: [string, number][] = ["<0xC3>", "<0xA9>", "<0x78>"].map((b) => [b, -10]);
  const m = new UnigramModel([...VOCAB, ...bytes], { unkId: 0, byteFallback: true });
  const spans: number[] = [];
  deepStrictEqual(m.tokenize("dé", spans), [7, 9, 10]);
  // both bytes of "é" share its span, as HF's offsets do
  deepStrictEqual(spans, [0, 1, 1, 2, 1, 2]);
  // a run whose bytes are not all pieces falls back to <unk>
  deepStrictEqual(m.tokenize("dz"), [7, 0]);
});

Deno.test("UnigramModel refuses unknown characters without an unknown id, and non-finite scores", () => {
  throws(() => new UnigramModel([["a", -1]]).tokenize("ab"), /no piece for "b" and no unknown id/);
  throws(() => new UnigramModel([["a", NaN]]), /piece 0 \("a"\) has score NaN/);
  throws(() => new UnigramModel([["a", -1]], { unkId: 3 }), /unknown id 3 is outside the 1 pieces/);
});
