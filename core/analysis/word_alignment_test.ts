import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { WordPieceTokenizer } from "../tokenizers/wordpiece.ts";
import { encodeWords, separatorIds, wordLevelAttention } from "./word_alignment.ts";

const tok = WordPieceTokenizer.fromVocabText(
  ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "play", "##ing", "."].join("\n"),
);

Deno.test("encodeWords() places word pieces in the [CLS] A [SEP] template and maps pieces to words", () => {
  const e = encodeWords(tok, ["playing", "a", "."])!;
  deepStrictEqual(e.ids, [2, 6, 7, 4, 8, 3]);
  deepStrictEqual([...e.pieceWord], [0, 1, 1, 2, 3, 4]);
  deepStrictEqual(e.words.map((w) => [w.source, w.form]), [[-1, "[CLS]"], [0, "playing"], [1, "a"], [2, "."], [
    -1,
    "[SEP]",
  ]]);
});

Deno.test("encodeWords() encodes pairs with HF's segment ids, and refuses what does not fit", () => {
  const e = encodeWords(tok, ["a"], ["b", "b"])!;
  deepStrictEqual(e.ids, [2, 4, 3, 5, 5, 3]);
  deepStrictEqual(e.tokenTypeIds, tok.encode("a", "b b").tokenTypeIds);
  deepStrictEqual(e.words.map((w) => w.source), [-1, 0, -1, 1, 2, -1]);
  strictEqual(encodeWords(tok, ["playing", "a"], undefined, { maxLength: 4 }), undefined);
  ok(encodeWords(tok, ["playing", "a"], undefined, { maxLength: 5 }));
  deepStrictEqual(separatorIds(tok), new Set([3]));
});

Deno.test("wordLevelAttention() sums over the pieces of the key word and averages over those of the query word", () => {
  // pieces: [CLS] play ##ing a [SEP]; words: 0 | 1 2 | 3 | 4
  const e = encodeWords(tok, ["playing", "a"])!;
  const T = 5, rnd = (i: number) => ((i * 7919) % 13) + 1;
  const attn = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    let z = 0;
    for (let j = 0; j < T; j++) z += rnd(i * T + j);
    for (let j = 0; j < T; j++) attn[i * T + j] = rnd(i * T + j) / z;
  }
  const w = wordLevelAttention(attn, T, e.words);
  const groups = [[0], [1, 2], [3], [4]];
  for (let a = 0; a < 4; a++) {
    let rowSum = 0;
    for (let b = 0; b < 4; b++) {
      let ref = 0;
      for (const i of groups[a]!) for (const j of groups[b]!) ref += attn[i * T + j]! / groups[a]!.length;
      ok(Math.abs(w[a * 4 + b]! - ref) < 1e-12);
      rowSum += w[a * 4 + b]!;
    }
    ok(Math.abs(rowSum - 1) < 1e-12, "word-level rows still sum to 1");
  }
});
