import { deepStrictEqual, throws } from "node:assert";
import { BpeModel, parseMergesText } from "./bpe_model.ts";

const v = (tokens: string[]) => new Map(tokens.map((t, i) => [t, i]));

Deno.test("BpeModel.tokenize() merges lowest rank first, leftmost on ties", () => {
  const m = new BpeModel(v(["a", "aa", "aaa"]), [["a", "a"], ["aa", "a"]]);
  deepStrictEqual(m.tokenize("aaa"), [2]);
  deepStrictEqual(m.tokenize("aaaa"), [1, 1]);
});

Deno.test("BpeModel.tokenize() applies a lower-ranked merge created by an earlier one (HF order)", () => {
  // "b c" (rank 0) creates "bc"; "a bc" (rank 1) then beats "a b" (rank 2)
  const m = new BpeModel(v(["a", "b", "c", "bc", "abc", "ab"]), [["b", "c"], ["a", "bc"], ["a", "b"]]);
  deepStrictEqual(m.tokenize("abc"), [4]);
});

Deno.test("BpeModel.tokenize() handles unknowns with and without fuse_unk", () => {
  const vocab = v(["<unk>", "a"]);
  deepStrictEqual(new BpeModel(vocab, [], { unkToken: "<unk>" }).tokenize("xya"), [0, 0, 1]);
  deepStrictEqual(new BpeModel(vocab, [], { unkToken: "<unk>", fuseUnk: true }).tokenize("xya"), [0, 1]);
});

Deno.test("BpeModel.tokenize() refuses a character it has no token for when there is no unknown token", () => {
  // HF's Rust BPE drops "x" and "y" here (a broken vocab.json then encodes text to no ids at all); we refuse.
  throws(
    () => new BpeModel(v(["<unk>", "a"]), []).tokenize("xya"),
    /BPE vocabulary has no token for "x" \(U\+0078\) and no unknown token to stand in for it: the tokenizer files are incomplete/,
  );
});

Deno.test("BpeModel.tokenize() uses byte fallback and ignore_merges", () => {
  const m = new BpeModel(v(["<unk>", "<0xC3>", "<0xA9>", "ab", "a", "b"]), [], {
    unkToken: "<unk>",
    byteFallback: true,
  });
  deepStrictEqual(m.tokenize("é"), [1, 2]);
  deepStrictEqual(new BpeModel(v(["a", "b", "ab"]), [], { ignoreMerges: true }).tokenize("ab"), [2]);
});

Deno.test("BpeModel.tokenize() is fast on a long word", () => {
  const m = new BpeModel(v(["x", "xx", "xxxx"]), [["x", "x"], ["xx", "xx"]]);
  const ids = m.tokenize("x".repeat(100_001));
  deepStrictEqual(ids.length, 25_001);
});

Deno.test("BpeModel reports merges with tokens missing from the vocabulary", () => {
  throws(() => new BpeModel(v(["a", "b"]), [["a", "b"]]), /uses "ab", which is not in the vocabulary/);
});

Deno.test("parseMergesText() rejects malformed lines", () => {
  throws(() => parseMergesText("#version: 0.2\na b c\n"), /line 2/);
  deepStrictEqual(parseMergesText("a b\r\n"), [["a", "b"]]);
});
