import { deepStrictEqual, throws } from "node:assert";
import { parseCsv } from "./_csv.ts";

const fields = (text: string, d = ",") => parseCsv(text, "t.csv", d).map((r) => r.fields);

Deno.test("parseCsv() reads RFC 4180 quoted fields", () => {
  deepStrictEqual(fields('a,b\n"x, y","say ""hi"""\n'), [["a", "b"], ["x, y", 'say "hi"']]);
  deepStrictEqual(fields('"multi\nline",2\r\n3,""\r\n'), [["multi\nline", "2"], ["3", ""]]);
  deepStrictEqual(fields("a,,c,\n"), [["a", "", "c", ""]]);
  deepStrictEqual(fields("no newline"), [["no newline"]]);
});

Deno.test("parseCsv() keeps bare quotes inside unquoted fields and skips blank lines", () => {
  deepStrictEqual(fields('5" tall,x\n\n\ny,z'), [['5" tall', "x"], ["y", "z"]]);
});

Deno.test("parseCsv() reports the line each record starts on", () => {
  deepStrictEqual(parseCsv('h\n"a\nb"\nc\n', "t.csv").map((r) => r.line), [1, 2, 4]);
});

Deno.test("parseCsv() throws on unclosed quotes and text after a closing quote", () => {
  throws(
    () => parseCsv('a\n1,"open\n', "t.csv"),
    (e: Error) => e.message === "t.csv line 2, column 3: quoted field is not closed",
  );
  throws(
    () => parseCsv('a\n"x"y,1\n', "t.csv"),
    (e: Error) => e.message === 't.csv line 2, column 4: unexpected "y" after a closing quote',
  );
});
