import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { decodeText, splitLines } from "./_text.ts";

Deno.test("decodeText() removes a BOM and rejects invalid UTF-8", () => {
  strictEqual(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), "f"), "A");
  strictEqual(decodeText("\ufeffA\ufeff", "f"), "A\ufeff");
  throws(() => decodeText(new Uint8Array([0xc3]), "x.tsv"), /File "x.tsv" is not valid UTF-8/);
});

Deno.test("splitLines() splits on LF, CRLF and CR without a trailing empty line", () => {
  deepStrictEqual(splitLines("a\nb\r\nc\rd\n"), ["a", "b", "c", "d"]);
  deepStrictEqual(splitLines("a\n\nb"), ["a", "", "b"]);
  deepStrictEqual(splitLines(""), []);
  deepStrictEqual(splitLines("\n"), [""]);
});
