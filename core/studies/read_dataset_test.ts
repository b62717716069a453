import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { describeDataset } from "./dataset.ts";
import { readStudyDataset } from "./read_dataset.ts";

const GLUE = new URL("../../data/glue", import.meta.url).pathname;
const bert = await loadModel(localFiles(fixtureModel("bert-tiny-random")));

Deno.test("readStudyDataset() reads a GLUE split, names it and batches it for the model", async () => {
  const data = await readStudyDataset({ glue: { dataDir: GLUE, task: "SST-2" } }, bert.model, bert.tokenizer!, {
    batchSize: 4,
    subset: 10,
  });
  strictEqual(describeDataset(data), "sst-2 dev: 10 examples in 3 batches");
  strictEqual(data.task, "sst-2");
  deepStrictEqual(data.labels, ["0", "1"]);
});

Deno.test("readStudyDataset() reads a custom file's labels as the model's classes and names a bad file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/d.csv`, "text,label\ngood,1\nbad,0\n");
    const file = { path: `${dir}/d.csv`, format: "csv" as const, textColumn: "text", labelColumn: "label" };
    const data = await readStudyDataset({ file }, bert.model, bert.tokenizer!);
    deepStrictEqual(Array.from(data.batches[0]!.labels as Int32Array), [1, 0]);
    strictEqual(data.task, undefined);
    await Deno.writeTextFile(`${dir}/e.csv`, "text,label\ngood,7\n");
    await rejects(readStudyDataset({ file: { ...file, path: `${dir}/e.csv` } }, bert.model, bert.tokenizer!), /e\.csv/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
