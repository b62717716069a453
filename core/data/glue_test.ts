import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { GLUE_TASKS, type GlueSplit, glueTask, parseGlueTsv } from "./glue.ts";
import { labelIds } from "./input_example.ts";
import { glueComputeMetrics } from "../metrics/glue_compute_metrics.ts";

const tsv = (...lines: string[][]) => lines.map((l) => l.join("\t")).join("\n") + "\n";

Deno.test("GLUE_TASKS has HF's label lists, output modes and files", () => {
  deepStrictEqual(Object.keys(GLUE_TASKS).sort(), [
    "cola",
    "mnli",
    "mnli-mm",
    "mrpc",
    "qnli",
    "qqp",
    "rte",
    "sst-2",
    "sts-b",
    "wnli",
  ]);
  for (const t of ["cola", "sst-2", "mrpc", "qqp", "wnli"] as const) deepStrictEqual(GLUE_TASKS[t].labels, ["0", "1"]);
  for (const t of ["qnli", "rte"] as const) deepStrictEqual(GLUE_TASKS[t].labels, ["entailment", "not_entailment"]);
  deepStrictEqual(GLUE_TASKS["mnli-mm"].labels, ["contradiction", "entailment", "neutral"]);
  deepStrictEqual(GLUE_TASKS["sts-b"].labels, []);
  strictEqual(GLUE_TASKS["sts-b"].numLabels, 1);
  strictEqual(GLUE_TASKS.mnli.numLabels, 3);
  for (const t of Object.values(GLUE_TASKS)) {
    strictEqual(t.outputMode, t.name === "sts-b" ? "regression" : "classification");
  }
  deepStrictEqual(GLUE_TASKS.mnli.files, { train: "train.tsv", dev: "dev_matched.tsv", test: "test_matched.tsv" });
  deepStrictEqual(GLUE_TASKS["mnli-mm"].files, {
    train: "train.tsv",
    dev: "dev_mismatched.tsv",
    test: "test_mismatched.tsv",
  });
  strictEqual(GLUE_TASKS["mnli-mm"].dir, "MNLI");
  strictEqual(GLUE_TASKS.cola.pair, false);
  strictEqual(GLUE_TASKS.wnli.pair, true);
});

Deno.test("GLUE_TASKS metricKeys are the keys glueComputeMetrics() returns", () => {
  for (const t of Object.values(GLUE_TASKS)) {
    const keys = Object.keys(glueComputeMetrics(t.name, [0, 1, 1, 0], [0, 1, 0, 1]));
    deepStrictEqual(keys, [...t.metricKeys], t.name);
  }
});

Deno.test("glueTask() matches names case-insensitively and with aliases", () => {
  strictEqual(glueTask("SST-2"), GLUE_TASKS["sst-2"]);
  strictEqual(glueTask("sst2"), GLUE_TASKS["sst-2"]);
  strictEqual(glueTask(" STS-B "), GLUE_TASKS["sts-b"]);
  strictEqual(glueTask("MNLI-MM"), GLUE_TASKS["mnli-mm"]);
  throws(() => glueTask("squad"), /Unknown GLUE task "squad": expected one of "cola", /);
});

Deno.test("parseGlueTsv() reads CoLA without header and guids from 0", () => {
  const ex = parseGlueTsv("cola", "train", 'gj04\t1\t\tGood one.\ngj04\t0\t*\tBad "one.\n');
  deepStrictEqual(ex, [
    { guid: "train-0", textA: "Good one.", label: "1" },
    { guid: "train-1", textA: 'Bad "one.', label: "0" },
  ]);
  // CoLA's dev.tsv ends without a final newline.
  strictEqual(parseGlueTsv("cola", "dev", "gj04\t1\t\tA.\ngj04\t0\t*\tB.").length, 2);
});

Deno.test("parseGlueTsv() strips MRPC's BOM, from bytes too", () => {
  const text = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tA .\tB .\n";
  const expected = [{ guid: "train-1", textA: "A .", textB: "B .", label: "0" }];
  deepStrictEqual(parseGlueTsv("mrpc", "train", text), expected);
  deepStrictEqual(parseGlueTsv("mrpc", "train", new TextEncoder().encode(text)), expected);
});

Deno.test("parseGlueTsv() reads STS-B scores as numbers", () => {
  const header = [
    "index",
    "genre",
    "filename",
    "year",
    "old_index",
    "source1",
    "source2",
    "sentence1",
    "sentence2",
    "score",
  ];
  const ex = parseGlueTsv(
    "sts-b",
    "dev",
    tsv(header, ["7", "main-news", "f", "2012", "0007", "none", "none", "A", "B", "3.800"]),
  );
  deepStrictEqual(ex, [{ guid: "dev-7", textA: "A", textB: "B", label: 3.8 }]);
  throws(
    () => parseGlueTsv("sts-b", "dev", tsv(header, ["7", "g", "f", "y", "o", "s", "s", "A", "B", "high"])),
    /STS-B\/dev.tsv line 2: score "high" is not a number/,
  );
});

Deno.test("parseGlueTsv() reads synthetic QQP files (train and test layouts)", () => {
  const train = tsv(
    ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
    ["402555", "536040", "536041", 'How do I fix "it"?', "How to fix it?", "1"],
    ["360472", "364011", "490273", "What is A?", "What is B?", "0"],
  );
  deepStrictEqual(parseGlueTsv("qqp", "train", train), [
    { guid: "train-402555", textA: 'How do I fix "it"?', textB: "How to fix it?", label: "1" },
    { guid: "train-360472", textA: "What is A?", textB: "What is B?", label: "0" },
  ]);
  const test = tsv(["id", "question1", "question2"], ["0", "Q1?", "Q2?"]);
  deepStrictEqual(parseGlueTsv("qqp", "test", test), [{
    guid: "test-0",
    textA: "Q1?",
    textB: "Q2?",
    label: undefined,
  }]);
});

Deno.test("parseGlueTsv() skips short QQP rows only when asked (HF behaviour)", () => {
  const text = tsv(
    ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"],
    ["1", "2", "3", "How?"],
    ["4", "5", "6", "A?", "B?", "0"],
  );
  throws(
    () => parseGlueTsv("qqp", "dev", text),
    /QQP\/dev.tsv line 2: expected 6 tab-separated columns \(as in the header\), got 4/,
  );
  deepStrictEqual(parseGlueTsv("qqp", "dev", text, { onMalformed: "skip" }).map((e) => e.guid), ["dev-4"]);
});

const MNLI_DEV_HEADER = [
  "index",
  "promptID",
  "pairID",
  "genre",
  "sentence1_binary_parse",
  "sentence2_binary_parse",
  "sentence1_parse",
  "sentence2_parse",
  "sentence1",
  "sentence2",
  "label1",
  "label2",
  "label3",
  "label4",
  "label5",
  "gold_label",
];

function mnliRow(index: string, gold: string, n = 16): string[] {
  const row = [
    index,
    "63735",
    "63735n",
    "slate",
    "( ( The new ) rights )",
    "( Everyone ( ... ) )",
    "(ROOT ...)",
    "(ROOT ...)",
  ];
  row.push("The new rights are nice enough", "Everyone really likes the newest benefits ");
  while (row.length < n - 1) row.push("neutral");
  row.push(gold);
  return row;
}

Deno.test("parseGlueTsv() reads synthetic MNLI matched and mismatched dev files (label = last column)", () => {
  const text = tsv(MNLI_DEV_HEADER, mnliRow("0", "neutral"), mnliRow("1", "contradiction"));
  const matched = parseGlueTsv("mnli", "dev", text);
  deepStrictEqual(matched[0], {
    guid: "dev_matched-0",
    textA: "The new rights are nice enough",
    textB: "Everyone really likes the newest benefits ",
    label: "neutral",
  });
  const mismatched = parseGlueTsv("mnli-mm", "dev", text);
  deepStrictEqual(mismatched.map((e) => e.guid), ["dev_mismatched-0", "dev_mismatched-1"]);
  deepStrictEqual(labelIds(mismatched, GLUE_TASKS["mnli-mm"]), [2, 0]);
  throws(() => parseGlueTsv("mnli-mm", "dev", text.replace("\tcontradiction\n", "\t-\n")), (e: Error) =>
    e.message ===
      'MNLI/dev_mismatched.tsv line 3: unknown label "-", expected one of "contradiction", "entailment", "neutral"');
  // train.tsv has 12 columns: label1 and gold_label.
  const train = tsv([...MNLI_DEV_HEADER.slice(0, 11), "gold_label"], mnliRow("5", "entailment", 12));
  deepStrictEqual(parseGlueTsv("mnli", "train", train)[0]!.label, "entailment");
  strictEqual(parseGlueTsv("mnli", "train", train)[0]!.guid, "train-5");
});

Deno.test("parseGlueTsv() reads synthetic WNLI files", () => {
  const text = tsv(
    ["index", "sentence1", "sentence2", "label"],
    ["0", "I stuck a pin through a carrot. When I pulled the pin out, it had a hole.", "The carrot had a hole.", "1"],
  );
  deepStrictEqual(parseGlueTsv("wnli", "train", text), [{
    guid: "train-0",
    textA: "I stuck a pin through a carrot. When I pulled the pin out, it had a hole.",
    textB: "The carrot had a hole.",
    label: "1",
  }]);
  const test = tsv(["index", "sentence1", "sentence2"], ["0", "A", "B"]);
  deepStrictEqual(parseGlueTsv("wnli", "test", test), [{ guid: "test-0", textA: "A", textB: "B", label: undefined }]);
});

Deno.test("parseGlueTsv() reads test layouts of CoLA and SST-2 like HF", () => {
  deepStrictEqual(parseGlueTsv("cola", "test", tsv(["index", "sentence"], ["0", "Bill whistled."])), [
    { guid: "test-0", textA: "Bill whistled.", label: undefined },
  ]);
  deepStrictEqual(parseGlueTsv("sst-2", "test", tsv(["index", "sentence"], ["0", "uneasy mishmash"])), [
    { guid: "test-1", textA: "uneasy mishmash", label: undefined },
  ]);
});

Deno.test("parseGlueTsv() treats quotes as text and accepts CRLF", () => {
  const text = 'sentence\tlabel\r\n"quoted\t1\r\nsays "hi" \t0\r\n';
  deepStrictEqual(parseGlueTsv("sst-2", "dev", text).map((e) => e.textA), ['"quoted', 'says "hi" ']);
});

Deno.test("parseGlueTsv() throws on a wrong column count naming file and line", () => {
  throws(
    () => parseGlueTsv("cola", "train", "gj04\t1\t\tOk.\ngj04\t1\tOk.\n"),
    (e: Error) =>
      e.message === "CoLA/train.tsv line 2: expected 4 tab-separated columns (as in CoLA's train files), got 3",
  );
  throws(
    () => parseGlueTsv("rte", "dev", "index\tsentence1\tsentence2\tlabel\n0\tA\tentailment\n", { file: "x/dev.tsv" }),
    /^Error: x\/dev.tsv line 2: expected 4 tab-separated columns \(as in the header\), got 3$/,
  );
  throws(
    () => parseGlueTsv("rte", "dev", "sentence\tlabel\nA\t1\n"),
    /RTE\/dev.tsv line 1: header has 2 columns, expected at least 4/,
  );
});

Deno.test("parseGlueTsv() throws on an unknown label", () => {
  throws(
    () => parseGlueTsv("sst-2", "train", "sentence\tlabel\ngood\t1\nbad\tneg\n"),
    (e: Error) => e.message === 'SST-2/train.tsv line 3: unknown label "neg", expected one of "0", "1"',
  );
  throws(
    () => parseGlueTsv("qnli", "dev", "index\tquestion\tsentence\tlabel\n0\tQ\tS\tentailed\n"),
    /unknown label "entailed"/,
  );
});

Deno.test("parseGlueTsv() throws 'no examples in FILE' on empty files", () => {
  throws(() => parseGlueTsv("cola", "dev", ""), (e: Error) => e.message === "no examples in CoLA/dev.tsv");
  throws(
    () => parseGlueTsv("sst-2", "dev", "sentence\tlabel\n"),
    (e: Error) => e.message === "no examples in SST-2/dev.tsv",
  );
  throws(() => parseGlueTsv("sst-2", "dev", new Uint8Array()), /no examples in SST-2\/dev.tsv/);
});

Deno.test("parseGlueTsv() throws on invalid UTF-8 and unknown splits", () => {
  throws(
    () => parseGlueTsv("sst-2", "dev", new Uint8Array([0x73, 0xff, 0x0a])),
    /File "SST-2\/dev.tsv" is not valid UTF-8/,
  );
  throws(
    () => parseGlueTsv("sst-2", "validation" as unknown as GlueSplit, "sentence\tlabel\na\t1\n"),
    /Unknown GLUE split "validation"/,
  );
});
