import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { asModelClasses, buildStudyDataset, describeDataset, modelLabelNames, taskSpec } from "./dataset.ts";
import { lmEncoding } from "./encoding.ts";

const bert = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
const gpt2 = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")));
const examples = [
  { guid: "a", textA: "a gripping film", label: "1" },
  { guid: "b", textA: "dull and long", label: "0" },
  { guid: "c", textA: "fine", label: "1" },
];

Deno.test("buildStudyDataset() batches class ids for a classifier, in file order padded to max length with HF's batching", () => {
  const data = buildStudyDataset(bert.model, bert.tokenizer!, {
    name: "mine",
    outputMode: "classification",
    labels: ["0", "1"],
    examples,
  }, { batchSize: 2, batching: "hf", maxSeqLength: 16 });
  strictEqual(describeDataset(data), "mine: 3 examples in 2 batches");
  strictEqual(data.batching, "hf");
  deepStrictEqual(data.batches.map((b) => Array.from(b.labels as Int32Array)), [[1, 0], [1]]);
  deepStrictEqual(data.batches.map((b) => [b.rows, b.batch.seqLen]), [[[0, 1], 16], [[2], 16]]);
  deepStrictEqual(taskSpec(bert.model, { task: "sst-2" }), { kind: "classify", glueTask: "sst-2" });
  deepStrictEqual(modelLabelNames(bert.model), ["0", "1"]);
});

Deno.test("buildStudyDataset() length-buckets by default: each batch padded to its longest row, rows named", () => {
  const tok = bert.tokenizer!;
  const data = buildStudyDataset(bert.model, tok, {
    name: "mine",
    outputMode: "classification",
    labels: ["0", "1"],
    examples,
  }, { batchSize: 2 });
  strictEqual(data.batching, "bucketed");
  const lengths = examples.map((e) => tok.encode(e.textA).ids.length);
  // the shortest example ("fine") leads; every example appears once, with its own label
  strictEqual(data.batches[0]!.rows![0], 2);
  deepStrictEqual(data.batches.flatMap((b) => b.rows!).sort(), [0, 1, 2]);
  for (const { batch, rows, labels } of data.batches) {
    strictEqual(batch.seqLen, Math.max(...rows!.map((r) => lengths[r]!)));
    deepStrictEqual(Array.from(labels as Int32Array), rows!.map((r) => Number(examples[r]!.label)));
  }
  throws(
    () =>
      buildStudyDataset(bert.model, tok, { name: "mine", outputMode: "classification", labels: ["0", "1"], examples }, {
        batching: "sorted" as "hf",
      }),
    /Unknown batching "sorted" for mine/,
  );
});

Deno.test("buildStudyDataset() gives a language model framed next-token batches", () => {
  const tok = gpt2.tokenizer!;
  const data = buildStudyDataset(gpt2.model, tok, {
    name: "mine",
    task: "sst-2",
    outputMode: "classification",
    labels: ["0", "1"],
    examples,
  }, { batchSize: 8, subset: 2 });
  strictEqual(data.examples.length, 2);
  const [only] = data.batches;
  strictEqual(only!.labels, "lm");
  const first = lmEncoding(tok, examples[0]!, 128).ids;
  const row = only!.rows!.indexOf(0), T = only!.batch.seqLen;
  deepStrictEqual(Array.from(only!.batch.inputIds.subarray(row * T, row * T + first.length)), first);
  deepStrictEqual(taskSpec(gpt2.model, data), { kind: "lm", glueTask: undefined });
});

Deno.test("buildStudyDataset() names the dataset when it is empty or its labels do not fit the model", () => {
  const tok = bert.tokenizer!;
  throws(
    () => buildStudyDataset(bert.model, tok, { name: "x.csv", outputMode: "classification", labels: [], examples: [] }),
    /No examples in x.csv/,
  );
  throws(
    () =>
      buildStudyDataset(bert.model, tok, {
        name: "x.csv",
        outputMode: "classification",
        labels: ["a", "b", "c"],
        examples: [{ guid: "a", textA: "t", label: "c" }],
      }),
    /x.csv has 3 labels \(a, b, c\) but the model predicts 2/,
  );
  throws(
    () =>
      buildStudyDataset(bert.model, tok, {
        name: "sts.tsv",
        outputMode: "regression",
        labels: [],
        examples: [{ guid: "a", textA: "t", label: 2.5 }],
      }),
    (e: Error) => ok(/sts.tsv has regression values but the model is a classifier/.test(e.message), e.message) ?? true,
  );
});

Deno.test("buildStudyDataset() reads sentences for a masked LM without class labels; a loss on them is refused", async () => {
  const mlm = await loadModel(localFiles(new URL("../../models/bert-mlm-small", import.meta.url).pathname));
  strictEqual(mlm.model.task, "mlm");
  const data = buildStudyDataset(mlm.model, mlm.tokenizer!, {
    name: "mine",
    task: "sst-2",
    outputMode: "classification",
    labels: ["0", "1"],
    examples,
  }, { batchSize: 8 });
  const [only] = data.batches;
  strictEqual(only!.labels, "lm");
  // the sentence encoding with [CLS] … [SEP], as attention statistics and probes read it
  strictEqual(only!.batch.inputIds[0], mlm.tokenizer!.tokenToId("[CLS]"));
  throws(() => mlm.model.run({ batch: only!.batch, labels: only!.labels }), /masked LM takes one label per position/);
});

Deno.test("asModelClasses() reads a file's labels as the model's class names or as their ids", () => {
  const named = { config: { labels: ["negative", "positive"] } } as unknown as Parameters<typeof asModelClasses>[0];
  deepStrictEqual(asModelClasses(named, { labels: ["0", "1"] }, "dev.tsv").labels, ["0", "1"]);
  deepStrictEqual(asModelClasses(named, { labels: ["positive"] }, "dev.tsv").labels, ["negative", "positive"]);
  throws(
    () => asModelClasses(named, { labels: ["neg", "1"] }, "dev.tsv"),
    /dev\.tsv: labels "neg", "1" are neither the model's classes \(negative, positive\) nor their ids \(0 … 1\)/,
  );
});
