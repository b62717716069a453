import { deepStrictEqual } from "node:assert";
import { AddedTokenSplitter } from "./added_tokens.ts";

Deno.test("AddedTokenSplitter.splitRaw() prefers the longest token and honours lstrip/rstrip", () => {
  const s = new AddedTokenSplitter([
    { id: 1, content: "<a>", special: true },
    { id: 2, content: "<a><b>", special: true },
    { id: 3, content: "<m>", special: true, lstrip: true, rstrip: true },
  ]);
  deepStrictEqual(s.splitRaw("x<a><b>y<a>"), [
    { text: "x", start: 0 },
    { text: "<a><b>", start: 1, id: 2 },
    { text: "y", start: 7 },
    { text: "<a>", start: 8, id: 1 },
  ]);
  deepStrictEqual(s.splitRaw("x <m> y"), [{ text: "x", start: 0 }, { text: " <m> ", start: 1, id: 3 }, {
    text: "y",
    start: 6,
  }]);
  deepStrictEqual(s.splitRaw(""), [{ text: "", start: 0 }]);
});

Deno.test("AddedTokenSplitter.splitNormalized() matches normalized tokens after normalization", () => {
  const s = new AddedTokenSplitter(
    [{ id: 9, content: "Foo", special: false, normalized: true }],
    (t) => t.toLowerCase(),
  );
  deepStrictEqual(s.splitRaw("FOO"), [{ text: "FOO", start: 0 }]);
  deepStrictEqual(s.splitNormalized("a foo"), [{ text: "a ", start: 0 }, { text: "foo", start: 2, id: 9 }]);
});

Deno.test("AddedTokenSplitter matches contents literally: regex syntax in a token is just text", () => {
  const tokens = ["<my-token>", "a.b*", "(x|y)", "[\\d]", "$^"].map((content, i) => ({
    id: i,
    content,
    special: true,
  }));
  const s = new AddedTokenSplitter(tokens);
  deepStrictEqual(
    s.splitRaw("q<my-token>aab(x|y)[\\d]$^").map((x) => x.id ?? x.text),
    ["q", 0, "aab", 2, 3, 4],
  );
  deepStrictEqual(s.splitRaw("a.b* axb"), [{ text: "a.b*", start: 0, id: 1 }, { text: " axb", start: 4 }]);
});

Deno.test("AddedTokenSplitter with 100,000 tokens builds and splits a 95 KB text in one pass", () => {
  const tokens = Array.from({ length: 100_000 }, (_, i) => ({ id: i, content: `<t${i}>`, special: true }));
  const s = new AddedTokenSplitter(tokens);
  // 95 KB: words and tokens interleaved; every tenth piece is an added token
  const pieces: string[] = [];
  const want: number[] = [];
  for (let i = 0, length = 0; length < 95_000; i++) {
    if (i % 10 === 0) {
      const id = (i * 7919) % 100_000;
      pieces.push(`<t${id}>`);
      want.push(id);
    } else pieces.push(" word<t ");
    length += pieces[i]!.length;
  }
  const got = s.splitRaw(pieces.join("")).filter((x) => x.id !== undefined).map((x) => x.id);
  deepStrictEqual(got, want);
});

Deno.test("AddedTokenSplitter lstrip / rstrip take whitespace in linear time (a million spaces)", () => {
  const s = new AddedTokenSplitter([{ id: 7, content: "<mask>", special: true, lstrip: true, rstrip: true }]);
  const spaces = " ".repeat(1_000_000); // quadratic matching would take many minutes here
  deepStrictEqual(s.splitRaw(`a${spaces}<mask>${spaces}b`), [
    { text: "a", start: 0 },
    { text: `${spaces}<mask>${spaces}`, start: 1, id: 7 },
    { text: "b", start: 2_000_007 },
  ]);
  // no token at all: the whitespace is scanned once
  deepStrictEqual(s.splitRaw(`a${spaces}b`), [{ text: `a${spaces}b`, start: 0 }]);
  // a second token never takes whitespace the first one took
  deepStrictEqual(s.splitRaw("<mask>  <mask>").map((x) => [x.text, x.start]), [["<mask>  ", 0], ["<mask>", 8]]);
});

Deno.test("AddedTokenSplitter single-word tokens do not match inside words", () => {
  const s = new AddedTokenSplitter([{ id: 1, content: "cat", special: false, singleWord: true }]);
  deepStrictEqual(s.splitRaw("concat cat cats").map((x) => x.id ?? x.text), ["concat ", 1, " cats"]);
});
