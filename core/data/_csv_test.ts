import { deepStrictEqual, ok, throws } from "node:assert";
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

Deno.test("parseCsv() cuts a long field out of the text instead of growing it a character at a time", () => {
  // Growing a field with += builds one rope node per character (~32 bytes each, all live until the field is
  // flattened): an 8 MB field held ~256 MB of heap. Sliced out, it costs about its own size at most.
  const size = 8 * 1024 * 1024;
  for (const quoted of [false, true]) {
    const body = "ab,cd ".repeat(size / 6);
    const text = quoted ? `text,label\n"${body}",1\n` : `text,label\n${body.replaceAll(",", ";")},1\n`;
    const before = Deno.memoryUsage().heapUsed;
    const records = parseCsv(text, "big.csv");
    const grown = Deno.memoryUsage().heapUsed - before;
    deepStrictEqual(records[1]!.fields[0]!.length, body.length);
    ok(
      grown < 4 * text.length,
      `${quoted ? "quoted" : "unquoted"}: the heap grew by ${grown} bytes for ${text.length}`,
    );
  }
});
