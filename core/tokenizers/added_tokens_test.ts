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
