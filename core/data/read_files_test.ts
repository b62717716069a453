import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { fileURLToPath } from "node:url";
import type { GlueSplit } from "./glue.ts";
import { readGlueExamples, readTabularFile } from "./read_files.ts";

const GLUE_DIR = new URL("../../data/glue/", import.meta.url);

// Row counts and label counts as listed in data/glue/SOURCES.md (official GLUE split sizes).
const SHIPPED: [string, GlueSplit, number, Record<string, number> | undefined][] = [
  ["sst-2", "train", 67349, { "0": 29780, "1": 37569 }],
  ["sst-2", "dev", 872, { "0": 428, "1": 444 }],
  ["mrpc", "train", 3668, { "0": 1194, "1": 2474 }],
  ["mrpc", "dev", 408, { "0": 129, "1": 279 }],
  ["cola", "train", 8551, { "0": 2528, "1": 6023 }],
  ["cola", "dev", 1043, { "0": 322, "1": 721 }],
  ["rte", "train", 2490, { entailment: 1249, not_entailment: 1241 }],
  ["rte", "dev", 277, { entailment: 146, not_entailment: 131 }],
  ["sts-b", "train", 5749, undefined],
  ["sts-b", "dev", 1500, undefined],
  ["qnli", "dev", 5463, { entailment: 2702, not_entailment: 2761 }],
];

for (const [task, split, rows, labels] of SHIPPED) {
  Deno.test(`readGlueExamples() reads the shipped ${task} ${split} file with its published counts`, async () => {
    const examples = await readGlueExamples(GLUE_DIR, task, split);
    strictEqual(examples.length, rows);
    if (labels === undefined) {
      for (const e of examples) {
        strictEqual(typeof e.label, "number");
        const score = e.label as number;
        strictEqual(score >= 0 && score <= 5, true, `score ${score} of ${e.guid} outside [0, 5]`);
      }
    } else {
      const counts: Record<string, number> = {};
      for (const e of examples) counts[e.label as string] = (counts[e.label as string] ?? 0) + 1;
      deepStrictEqual(counts, labels);
    }
    strictEqual(new Set(examples.map((e) => e.guid)).size, rows);
  });
}

Deno.test("readGlueExamples() matches HF guids, texts and labels on the first rows", async () => {
  const mrpc = await readGlueExamples(GLUE_DIR, "MRPC", "dev");
  deepStrictEqual(mrpc[0], {
    guid: "dev-1",
    textA: "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
    textB: '" The foodservice pie business does not fit our long-term growth strategy .',
    label: "1",
  });
  const cola = await readGlueExamples(GLUE_DIR, "cola", "dev");
  deepStrictEqual(cola[0], { guid: "dev-0", textA: "The sailors rode the breeze clear of the rocks.", label: "1" });
  const stsb = await readGlueExamples(GLUE_DIR, "sts-b", "train");
  deepStrictEqual(stsb[0], {
    guid: "train-0",
    textA: "A plane is taking off.",
    textB: "An air plane is taking off.",
    label: 5,
  });
  const sst = await readGlueExamples(fileURLToPath(GLUE_DIR), "sst-2", "dev");
  deepStrictEqual(sst[0], { guid: "dev-1", textA: "it 's a charming and often affecting journey . ", label: "1" });
});

Deno.test("readGlueExamples() keeps the quirks of the original files", async () => {
  const cola = await readGlueExamples(GLUE_DIR, "cola", "train");
  // Lines 7130-7132 hold a literal backspace; CoLA has no header, so line n is example n - 1.
  strictEqual(cola[7129]!.textA.includes("\b"), true);
  const qnli = await readGlueExamples(GLUE_DIR, "qnli", "dev");
  strictEqual(qnli.some((e) => e.textB!.startsWith('" ')), true);
});

Deno.test("readGlueExamples() also reads a task folder given itself, as HF's --data_dir glue_data/SST-2", async () => {
  const fromParent = await readGlueExamples(GLUE_DIR, "sst-2", "dev");
  const fromTask = await readGlueExamples(new URL("SST-2", GLUE_DIR), "sst-2", "dev");
  deepStrictEqual(fromTask, fromParent);
  const fromPath = await readGlueExamples(`${fileURLToPath(GLUE_DIR)}MRPC/`, "mrpc", "train");
  strictEqual(fromPath.length, 3668);
  // a parse error names the file that was read, here the task folder's own
  await rejects(readGlueExamples(new URL("SST-2", GLUE_DIR), "mrpc", "dev"), /SST-2\/dev.tsv/);
});

Deno.test("readGlueExamples() names the path of a missing file", async () => {
  await rejects(
    readGlueExamples(GLUE_DIR, "mnli", "dev"),
    (e: Error) =>
      e.message.startsWith('Cannot find GLUE file "') && e.message.includes('/MNLI/dev_matched.tsv" (nor "') &&
      e.message.endsWith("/glue/dev_matched.tsv\", for a folder that is the task's own)"),
  );
  await rejects(
    readGlueExamples("no/such/dir", "wnli", "train"),
    /Cannot find GLUE file "no\/such\/dir\/WNLI\/train.tsv"/,
  );
});

Deno.test("readTabularFile() reads a file and names it in errors", async () => {
  const dir = await Deno.makeTempDir().catch(() => undefined);
  if (dir === undefined) return; // no write permission: only the missing-file case below runs
  try {
    await Deno.writeTextFile(`${dir}/a.csv`, "text,label\nhi,x\n");
    const data = await readTabularFile(`${dir}/a.csv`, { format: "csv", textColumn: "text", labelColumn: "label" });
    deepStrictEqual(data.labels, ["x"]);
    await Deno.writeTextFile(`${dir}/b.csv`, "text,label\nhi\n");
    await rejects(
      readTabularFile(`${dir}/b.csv`, { format: "csv", textColumn: "text", labelColumn: "label" }),
      new RegExp(`${dir}/b.csv line 2: expected 2 columns`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTabularFile() names the path of a missing file", async () => {
  await rejects(
    readTabularFile("no/such.csv", { format: "csv", textColumn: 0 }),
    /Cannot find data file "no\/such.csv"/,
  );
});
