/**
 * Readers for the nine GLUE tasks, for the `.tsv` files exactly as `download_glue_data.py` writes them
 * (`glue_data/<TASK>/{train,dev,test}.tsv`), following HF transformers' `glue_processors`
 * (`data/processors/glue.py`): same columns, same label lists and order, same `guid`s.
 *
 * Files are split on tabs only. Quote characters are ordinary text (HF reads them with `quotechar=None`).
 * A UTF-8 byte order mark (MRPC) is removed, and `\n`, `\r\n` and `\r` all end a line.
 *
 * Parsing is stricter than HF in one way: a row whose column count differs from the header's (CoLA: 4)
 * is an error naming the file and line, where HF would fail with `IndexError` or (QQP) skip the row
 * silently. Pass `{ onMalformed: "skip" }` to get HF's QQP behaviour.
 *
 * @module
 */

import { excerpt } from "../checkpoint/_describe.ts";
import { decodeText, splitLines } from "./_text.ts";
import type { InputExample, OutputMode } from "./input_example.ts";

/** HF's GLUE task names (`glue_processors` keys). `"mnli-mm"` is MNLI evaluated on the mismatched dev set. */
export type GlueTaskName = "cola" | "sst-2" | "mrpc" | "sts-b" | "qqp" | "mnli" | "mnli-mm" | "qnli" | "rte" | "wnli";

/** A GLUE split. `"dev"` is `dev_matched.tsv` for `mnli` and `dev_mismatched.tsv` for `mnli-mm`. */
export type GlueSplit = "train" | "dev" | "test";

/** A GLUE example: {@linkcode InputExample} with a string label (classification) or number (STS-B). */
export type GlueExample = InputExample;

/** Everything needed to read a GLUE task and score it. */
export interface GlueTask {
  /** HF task name, e.g. `"sst-2"`. */
  readonly name: GlueTaskName;
  /** Folder under `glue_data/`, e.g. `"SST-2"` (`mnli` and `mnli-mm` share `"MNLI"`). */
  readonly dir: string;
  /** HF `get_labels()`, in HF order (index = class id). Empty for STS-B, whose label is a score (HF: `[None]`). */
  readonly labels: readonly string[];
  /** HF `glue_output_modes`. */
  readonly outputMode: OutputMode;
  /** Model outputs: the number of labels, or 1 for regression (HF `glue_tasks_num_labels`). */
  readonly numLabels: number;
  /**
   * Keys of the dict HF 2.x `glue_compute_metrics(task, …)` returns. HF 2.x reports MNLI matched and
   * mismatched both as plain `acc` (later versions renamed them `mnli/acc` and `mnli-mm/acc`); we keep `acc`.
   */
  readonly metricKeys: readonly string[];
  /** File name per split, inside {@linkcode GlueTask.dir}. */
  readonly files: { readonly train: string; readonly dev: string; readonly test: string };
  /** Whether examples are sentence pairs (`textB` set). */
  readonly pair: boolean;
}

const ACC = ["acc"] as const;
const ACC_F1 = ["acc", "f1", "acc_and_f1"] as const;
const BINARY = ["0", "1"] as const;
const ENTAILMENT = ["entailment", "not_entailment"] as const;
const STD_FILES = { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" } as const;

function task(
  name: GlueTaskName,
  dir: string,
  labels: readonly string[],
  metricKeys: readonly string[],
  pair: boolean,
  files: GlueTask["files"] = STD_FILES,
): GlueTask {
  const outputMode: OutputMode = labels.length === 0 ? "regression" : "classification";
  return Object.freeze({
    name,
    dir,
    labels: Object.freeze([...labels]),
    outputMode,
    numLabels: labels.length === 0 ? 1 : labels.length,
    metricKeys: Object.freeze([...metricKeys]),
    files: Object.freeze({ ...files }),
    pair,
  });
}

/**
 * The ten GLUE task definitions (nine tasks, MNLI twice), keyed by HF task name.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert";
 *
 * deepStrictEqual(GLUE_TASKS.mnli.labels, ["contradiction", "entailment", "neutral"]);
 * strictEqual(GLUE_TASKS["mnli-mm"].files.dev, "dev_mismatched.tsv");
 * strictEqual(GLUE_TASKS["sts-b"].outputMode, "regression");
 * ```
 */
export const GLUE_TASKS: Readonly<Record<GlueTaskName, GlueTask>> = Object.freeze({
  "cola": task("cola", "CoLA", BINARY, ["mcc"], false),
  "sst-2": task("sst-2", "SST-2", BINARY, ACC, false),
  "mrpc": task("mrpc", "MRPC", BINARY, ACC_F1, true),
  "sts-b": task("sts-b", "STS-B", [], ["pearson", "spearmanr", "corr"], true),
  "qqp": task("qqp", "QQP", BINARY, ACC_F1, true),
  "mnli": task("mnli", "MNLI", ["contradiction", "entailment", "neutral"], ACC, true, {
    train: "train.tsv",
    dev: "dev_matched.tsv",
    test: "test_matched.tsv",
  }),
  "mnli-mm": task("mnli-mm", "MNLI", ["contradiction", "entailment", "neutral"], ACC, true, {
    train: "train.tsv",
    dev: "dev_mismatched.tsv",
    test: "test_mismatched.tsv",
  }),
  "qnli": task("qnli", "QNLI", ENTAILMENT, ACC, true),
  "rte": task("rte", "RTE", ENTAILMENT, ACC, true),
  "wnli": task("wnli", "WNLI", BINARY, ACC, true),
});

const ALIASES: Record<string, GlueTaskName> = { "sst2": "sst-2", "stsb": "sts-b", "mnli_mismatched": "mnli-mm" };

/**
 * Looks up a GLUE task by name, case-insensitively (`"SST-2"`, `"sst-2"` and `"sst2"` all work;
 * also `"STS-B"`/`"stsb"` and `"mnli-mm"`/`"mnli_mismatched"`).
 *
 * @param name A task name such as `"MRPC"` or `"sts-b"`.
 * @returns The task definition.
 * @throws {Error} When the name is not a GLUE task.
 *
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 *
 * strictEqual(glueTask("SST-2").dir, "SST-2");
 * strictEqual(glueTask("stsb").name, "sts-b");
 * ```
 */
export function glueTask(name: string): GlueTask {
  const key = name.trim().toLowerCase();
  const found = (GLUE_TASKS as Record<string, GlueTask>)[key] ??
    (Object.hasOwn(ALIASES, key) ? GLUE_TASKS[ALIASES[key]!] : undefined);
  if (found === undefined) {
    const known = Object.keys(GLUE_TASKS).map((k) => `"${k}"`).join(", ");
    throw new Error(`Unknown GLUE task "${name}": expected one of ${known}`);
  }
  return found;
}

/** Column layout of one split's file (HF `_create_examples`). */
interface Layout {
  /** Whether the first line is a header. */
  header: boolean;
  /** Column of text A. */
  a: number;
  /** Column of text B, if a pair task. */
  b?: number | undefined;
  /** Column of the label (-1 = last, as HF's `line[-1]`), absent for test splits. */
  label?: number | undefined;
  /** `"index"`: guid from column 0; otherwise the offset added to the 0-based data row number. */
  guid: "index" | number;
}

function layout(name: GlueTaskName, split: GlueSplit): Layout {
  const test = split === "test";
  switch (name) {
    case "cola":
      // No header in train/dev; HF drops the test header before numbering, so guids start at 0.
      return test ? { header: true, a: 1, guid: 0 } : { header: false, a: 3, label: 1, guid: 0 };
    case "sst-2":
      return test ? { header: true, a: 1, guid: 1 } : { header: true, a: 0, label: 1, guid: 1 };
    case "mrpc":
      return { header: true, a: 3, b: 4, label: test ? undefined : 0, guid: 1 };
    case "sts-b":
      return { header: true, a: 7, b: 8, label: test ? undefined : -1, guid: "index" };
    case "qqp":
      return test ? { header: true, a: 1, b: 2, guid: "index" } : { header: true, a: 3, b: 4, label: 5, guid: "index" };
    case "mnli":
    case "mnli-mm":
      return { header: true, a: 8, b: 9, label: test ? undefined : -1, guid: "index" };
    case "qnli":
    case "rte":
    case "wnli":
      return { header: true, a: 1, b: 2, label: test ? undefined : -1, guid: "index" };
  }
}

/** HF's `set_type`, the guid prefix: the split, or `dev_matched`/`test_mismatched`… for MNLI. */
function setType(name: GlueTaskName, split: GlueSplit): string {
  if (split === "train") return "train";
  if (name === "mnli") return `${split}_matched`;
  if (name === "mnli-mm") return `${split}_mismatched`;
  return split;
}

/** Options for {@linkcode parseGlueTsv}. */
export interface ParseGlueOptions {
  /** Name used in error messages. Defaults to `<dir>/<file>`, e.g. `"MRPC/dev.tsv"`. */
  file?: string;
  /**
   * What to do with a row whose column count differs from the header's: `"error"` (default) throws;
   * `"skip"` drops it, as HF's QQP reader does for rows too short to index.
   */
  onMalformed?: "error" | "skip";
}

/**
 * Parses one GLUE `.tsv` file into examples, in file order, like HF's `processor.get_{train,dev,test}_examples`.
 * Classification labels are kept as strings and checked against the task's label list;
 * STS-B scores become numbers. Test splits have `label: undefined`.
 *
 * @param task The task, or its name (see {@linkcode glueTask}).
 * @param split Which split the text is (selects columns, header handling and guid prefix).
 * @param input The file's text or raw bytes (UTF-8; a BOM is removed).
 * @param options File name for errors and malformed-row handling.
 * @returns The examples, in file order.
 * @throws {Error} When a row has the wrong number of columns, a label is unknown, a score is not a number,
 * or the file holds no examples (`no examples in FILE`). Messages name the file and 1-based line.
 *
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 *
 * const tsv = "index\tsentence1\tsentence2\tlabel\n0\tA man sleeps.\tA \"man\" rests.\tentailment\n";
 * deepStrictEqual(parseGlueTsv("rte", "dev", tsv), [
 *   { guid: "dev-0", textA: "A man sleeps.", textB: "A \"man\" rests.", label: "entailment" },
 * ]);
 * ```
 */
export function parseGlueTsv(
  task: GlueTaskName | GlueTask,
  split: GlueSplit,
  input: string | Uint8Array,
  options: ParseGlueOptions = {},
): GlueExample[] {
  const def = typeof task === "string" ? glueTask(task) : task;
  if (!(split in def.files)) throw new Error(`Unknown GLUE split "${split}": expected "train", "dev" or "test"`);
  const file = options.file ?? `${def.dir}/${def.files[split]}`;
  const lay = layout(def.name, split);
  const lines = splitLines(decodeText(input, file));
  const needed = Math.max(lay.a, lay.b ?? 0, lay.label ?? 0) + 1;
  let expected: number;
  let first = 0;
  if (lay.header) {
    if (lines.length === 0) throw new Error(`no examples in ${file}`);
    expected = lines[0]!.split("\t").length;
    const minimum = lay.label === -1 ? Math.max(needed + 1, 2) : needed;
    if (expected < minimum) {
      throw new Error(
        `${file} line 1: header has ${expected} columns, expected at least ${minimum} for GLUE task "${def.name}" (${split})`,
      );
    }
    first = 1;
  } else {
    expected = 4;
  }
  const prefix = setType(def.name, split);
  const known = new Set(def.labels);
  const examples: GlueExample[] = [];
  for (let i = first; i < lines.length; i++) {
    const lineNo = i + 1;
    const cols = lines[i]!.split("\t");
    if (cols.length !== expected) {
      if (options.onMalformed === "skip") continue;
      const what = lay.header ? "as in the header" : `as in CoLA's ${split} files`;
      throw new Error(
        `${file} line ${lineNo}: expected ${expected} tab-separated columns (${what}), got ${cols.length}`,
      );
    }
    const guid = lay.guid === "index" ? `${prefix}-${cols[0]}` : `${prefix}-${i - first + lay.guid}`;
    let label: string | number | undefined;
    if (lay.label !== undefined) {
      // every row has `expected` ≥ `needed` columns, so the label, text A and text B columns exist
      const raw = cols[lay.label < 0 ? cols.length + lay.label : lay.label]!;
      if (def.outputMode === "regression") {
        label = Number(raw.trim());
        if (raw.trim() === "" || !Number.isFinite(label)) {
          throw new Error(`${file} line ${lineNo}: score "${excerpt(raw)}" is not a number`);
        }
      } else {
        if (!known.has(raw)) {
          const list = excerpt(def.labels.map((l) => `"${l}"`).join(", "), 200);
          throw new Error(`${file} line ${lineNo}: unknown label "${excerpt(raw)}", expected one of ${list}`);
        }
        label = raw;
      }
    }
    const example: GlueExample = { guid, textA: cols[lay.a]!, label };
    if (lay.b !== undefined) example.textB = cols[lay.b]!;
    examples.push(example);
  }
  if (examples.length === 0) throw new Error(`no examples in ${file}`);
  return examples;
}
