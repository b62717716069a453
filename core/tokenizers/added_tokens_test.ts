import { deepStrictEqual } from "node:assert";
import { AddedTokenSplitter } from "./added_tokens.ts";

Deno.test("AddedTokenSplitter.splitRaw() prefers the longest token and honours lstrip/rstrip", () => {
  const s = new AddedTokenSplitter([
    { id: 1, content: "<a>", special: true },
    { id: 2, content: "<a><b>", special: true },
    { id: 3, content: "<m>", special: true, lstrip: true, rstrip: true },
  ]);
  deepStrictEqual(s.splitRaw("x<a><b>y<a>"), [{ text: "x" }, { text: "<a><b>", id: 2 }, { text: "y" }, {
    text: "<a>",
    id: 1,
  }]);
  deepStrictEqual(s.splitRaw("x <m> y"), [{ text: "x" }, { text: " <m> ", id: 3 }, { text: "y" }]);
  deepStrictEqual(s.splitRaw(""), [{ text: "" }]);
});

Deno.test("AddedTokenSplitter.splitNormalized() matches normalized tokens after normalization", () => {
  const s = new AddedTokenSplitter(
    [{ id: 9, content: "Foo", special: false, normalized: true }],
    (t) => t.toLowerCase(),
  );
  deepStrictEqual(s.splitRaw("FOO"), [{ text: "FOO" }]);
  deepStrictEqual(s.splitNormalized("a foo"), [{ text: "a " }, { text: "foo", id: 9 }]);
});
