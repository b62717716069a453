import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseTabular, type TabularFormat } from "./tabular.ts";

Deno.test("parseTabular() reads CSV with quoting, pairs and named columns", () => {
  const csv = 'id,q1,q2,label\n1,"A, with comma","B ""quoted""",yes\n2,"multi\nline",C,no\n';
  const data = parseTabular(csv, { format: "csv", textColumn: "q1", textPairColumn: "q2", labelColumn: "label" });
  deepStrictEqual(data, {
    examples: [
      { guid: "row-0", textA: "A, with comma", textB: 'B "quoted"', label: "yes" },
      { guid: "row-1", textA: "multi\nline", textB: "C", label: "no" },
    ],
    labels: ["no", "yes"],
    outputMode: "classification",
  });
});

Deno.test("parseTabular() reads TSV by index without a header, quotes as text", () => {
  const data = parseTabular('"hi\t1\nbye\t0\n', { format: "tsv", header: false, textColumn: 0, labelColumn: 1 });
  deepStrictEqual(data.examples.map((e) => [e.textA, e.label]), [['"hi', "1"], ["bye", "0"]]);
  deepStrictEqual(data.labels, ["0", "1"]);
});

Deno.test("parseTabular() reads JSONL objects and arrays", () => {
  const jsonl = '{"text":"a","label":2}\n\n{"text":"b","label":10}\n{"text":"c","label":2}\n';
  const data = parseTabular(jsonl, { format: "jsonl", textColumn: "text", labelColumn: "label", guidPrefix: "train" });
  deepStrictEqual(data.examples.map((e) => e.guid), ["train-0", "train-1", "train-2"]);
  // Numeric-looking labels sort numerically, not as strings.
  deepStrictEqual(data.labels, ["2", "10"]);
  const arrays = parseTabular('["x","y",1.5]\n', {
    format: "jsonl",
    textColumn: 0,
    textPairColumn: 1,
    labelColumn: 2,
    outputMode: "regression",
  });
  deepStrictEqual(arrays.examples, [{ guid: "row-0", textA: "x", textB: "y", label: 1.5 }]);
  deepStrictEqual(arrays.labels, []);
});

Deno.test("parseTabular() infers sorted unique labels or uses the given list", () => {
  const csv = "t,l\na,pos\nb,neg\nc,pos\nd,neutral\n";
  deepStrictEqual(parseTabular(csv, { format: "csv", textColumn: "t", labelColumn: "l" }).labels, [
    "neg",
    "neutral",
    "pos",
  ]);
  const given = ["pos", "neg", "neutral"];
  deepStrictEqual(parseTabular(csv, { format: "csv", textColumn: "t", labelColumn: "l", labels: given }).labels, given);
  throws(
    () =>
      parseTabular(csv, { format: "csv", textColumn: "t", labelColumn: "l", labels: ["pos", "neg"], file: "s.csv" }),
    (e: Error) => e.message === 's.csv line 5, column "l": unknown label "neutral", expected one of "pos", "neg"',
  );
});

Deno.test("parseTabular() parses regression labels as numbers", () => {
  const data = parseTabular("s\tscore\na\t4.5\nb\t-1e-1\n", {
    format: "tsv",
    textColumn: "s",
    labelColumn: "score",
    outputMode: "regression",
  });
  deepStrictEqual(data.examples.map((e) => e.label), [4.5, -0.1]);
  throws(
    () =>
      parseTabular("s\tscore\na\thigh\n", {
        format: "tsv",
        textColumn: "s",
        labelColumn: "score",
        outputMode: "regression",
        file: "r.tsv",
      }),
    (e: Error) => e.message === 'r.tsv line 2, column "score": label "high" is not a number',
  );
});

Deno.test("parseTabular() leaves labels undefined without labelColumn", () => {
  const data = parseTabular("text\nhello\n", { format: "csv", textColumn: "text" });
  deepStrictEqual(data.examples, [{ guid: "row-0", textA: "hello", label: undefined }]);
});

Deno.test("parseTabular() names file, line and column in errors", () => {
  const opts = { format: "csv" as const, textColumn: "text", labelColumn: "label", file: "d.csv" };
  throws(
    () => parseTabular("txt,label\na,1\n", opts),
    (e: Error) => e.message === 'd.csv line 1: text column "text" is not in the header; columns are "txt", "label"',
  );
  throws(
    () => parseTabular("text,label\na,1\nb\n", opts),
    (e: Error) => e.message === "d.csv line 3: expected 2 columns (as in the header), got 1",
  );
  throws(() => parseTabular('text,label\n"a,1\n', opts), /d.csv line 2, column 1: quoted field is not closed/);
  throws(() => parseTabular("a,1\n", { ...opts, header: false }), /column names need a header line/);
  throws(
    () => parseTabular("a\t1\n", { format: "tsv", header: false, textColumn: 0, labelColumn: 2, file: "x.tsv" }),
    (e: Error) => e.message === "x.tsv line 1: label column 2 is missing (row has 2 columns)",
  );
  throws(
    () => parseTabular('{"text":"a"}\n{"text":1}\n', { format: "jsonl", textColumn: "text", file: "j.jsonl" }),
    (e: Error) => e.message === 'j.jsonl line 2, column "text": text must be a string, got 1',
  );
  throws(
    () => parseTabular('{"text":"a"}\n{"text":\n', { format: "jsonl", textColumn: "text", file: "j.jsonl" }),
    /j.jsonl line 2: invalid JSON/,
  );
  throws(
    () => parseTabular('{"t":"a"}\n', { format: "jsonl", textColumn: "text", file: "j.jsonl" }),
    /j.jsonl line 1: text column "text" is missing/,
  );
  throws(
    () => parseTabular('"a"\n', { format: "jsonl", textColumn: "text", file: "j.jsonl" }),
    /j.jsonl line 1: expected a JSON object or array/,
  );
});

Deno.test("parseTabular() throws 'no examples in FILE' on empty input", () => {
  for (const format of ["csv", "tsv", "jsonl"] as const) {
    throws(
      () => parseTabular("", { format, textColumn: 0, file: "e" }),
      (e: Error) => e.message === "no examples in e",
    );
  }
  throws(() => parseTabular("text\n", { format: "csv", textColumn: "text", file: "h.csv" }), /no examples in h.csv/);
  throws(() => parseTabular("a", { format: "xml" as unknown as TabularFormat, textColumn: 0 }), /Unknown format "xml"/);
});

Deno.test("parseTabular() strips a BOM from bytes", () => {
  const bytes = new TextEncoder().encode("\ufefftext,label\nhi,1\n");
  strictEqual(
    parseTabular(bytes, { format: "csv", textColumn: "text", labelColumn: "label" }).examples[0]!.textA,
    "hi",
  );
});

Deno.test("parseTabular() quotes a 1 MB unknown label as a short excerpt", () => {
  const label = "x".repeat(1_000_000);
  throws(
    () =>
      parseTabular(`text,label\nfine,${label}\n`, {
        format: "csv",
        textColumn: "text",
        labelColumn: "label",
        labels: ["neg", "pos"],
      }),
    (e: Error) => e.message.length < 400 && e.message.includes("(1000000 characters)") && e.message.includes('"neg"'),
  );
});
