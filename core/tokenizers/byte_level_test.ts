import { deepStrictEqual, strictEqual } from "node:assert";
import { byteLevelDecode, byteLevelPreTokenize, bytesToUnicode, toByteLevel } from "./byte_level.ts";

Deno.test("bytesToUnicode() is a bijection onto 256 characters", () => {
  strictEqual(new Set(bytesToUnicode()).size, 256);
  strictEqual(bytesToUnicode()[0], "Ā");
});

Deno.test("byteLevelPreTokenize() follows GPT-2's regex", () => {
  deepStrictEqual(byteLevelPreTokenize("I'm 42 ok!!  x"), ["I", "'m", "Ġ42", "Ġok", "!!", "Ġ", "Ġx"]);
  deepStrictEqual(byteLevelPreTokenize("a\n\nb"), ["a", "Ċ", "Ċ", "b"]);
  deepStrictEqual(byteLevelPreTokenize("a   b\n\n"), ["a", "ĠĠ", "Ġb", "ĊĊ"]);
  deepStrictEqual(byteLevelPreTokenize("hi", { addPrefixSpace: true }), ["Ġhi"]);
  deepStrictEqual(byteLevelPreTokenize(""), []);
});

Deno.test("byteLevelDecode() inverts toByteLevel() and replaces invalid UTF-8", () => {
  strictEqual(byteLevelDecode([toByteLevel("x 😀 é")]), "x 😀 é");
  strictEqual(byteLevelDecode(["ðŁĺ"]), "\ufffd");
});
