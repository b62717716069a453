/**
 * Turns CLI data flags (a GLUE task folder, or a custom CSV/TSV/JSONL file) into the dataset the studies
 * read (`@bertology/core/studies/read-dataset`), for the `heads` command and the demo. Only flag parsing
 * lives here; encoding, labels and batching are core's.
 *
 * @module
 */

import type { GlueSplit } from "@bertology/core/data";
import type { TabularFormat } from "@bertology/core/data";
import type { TransformerModel } from "@bertology/core/models";
import type { StudyDataset } from "@bertology/core/studies";
import { type DatasetSource, readStudyDataset } from "@bertology/core/studies/read-dataset";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { UsageError } from "./_common.ts";

/** The data flags every dataset command accepts. */
export const DATA_FLAGS = {
  task: { type: "string" },
  "data-dir": { type: "string" },
  split: { type: "string" },
  "data-file": { type: "string" },
  format: { type: "string" },
  "text-column": { type: "string" },
  "text-pair-column": { type: "string" },
  "label-column": { type: "string" },
  "data-subset": { type: "string" },
  "batch-size": { type: "string" },
  "max-seq-length": { type: "string" },
  batching: { type: "string" },
} as const;

/** A loaded, batched dataset (core's {@linkcode StudyDataset}). */
export type Dataset = StudyDataset;

/**
 * Reads, tokenizes and batches the data the flags point at, as core's `readStudyDataset` does for the
 * model's task kind (language-model batches, class ids or regression values): length-bucketed, or HF's file
 * order and fixed padding with `--batching hf`.
 *
 * @throws {UsageError} for missing or contradictory flags; {Error} naming the file for bad data, an empty
 *   dataset, or labels the model cannot predict
 */
export async function loadDataset(
  values: Partial<Record<keyof typeof DATA_FLAGS, string>>,
  model: TransformerModel,
  tokenizer: Tokenizer,
  defaults: { split?: GlueSplit; batchSize?: number; maxSeqLength?: number } = {},
): Promise<Dataset> {
  const int = (flag: keyof typeof DATA_FLAGS, fallback: number | undefined) => {
    const v = values[flag];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${v}"`);
    return n;
  };
  const mode = values.batching ?? "bucketed";
  if (mode !== "bucketed" && mode !== "hf") {
    throw new UsageError(`--batching must be bucketed or hf, got "${mode}"`);
  }
  const batching = {
    batchSize: int("batch-size", defaults.batchSize ?? 8),
    maxSeqLength: int("max-seq-length", defaults.maxSeqLength ?? 128),
    subset: int("data-subset", undefined),
    batching: mode,
  } as const;
  return await readStudyDataset(dataSource(values, defaults.split), model, tokenizer, batching);
}

/** The dataset source the flags name. */
function dataSource(values: Partial<Record<keyof typeof DATA_FLAGS, string>>, split?: GlueSplit): DatasetSource {
  if (values.task !== undefined) {
    if (values["data-file"] !== undefined) throw new UsageError("give either --task (with --data-dir) or --data-file");
    const s = (values.split ?? split ?? "dev") as GlueSplit;
    if (!["train", "dev", "test"].includes(s)) throw new UsageError(`--split must be train, dev or test, got "${s}"`);
    const dataDir = values["data-dir"];
    if (!dataDir) throw new UsageError("--data-dir is required with --task");
    return { glue: { dataDir, task: values.task, split: s } };
  }
  if (values["data-file"] !== undefined) {
    const path = values["data-file"];
    const format = (values.format ?? path.split(".").pop() ?? "") as TabularFormat;
    if (!["csv", "tsv", "jsonl"].includes(format)) {
      throw new UsageError(`--format must be csv, tsv or jsonl, got "${format}"`);
    }
    const textColumn = values["text-column"];
    if (!textColumn) throw new UsageError("--text-column is required with --data-file");
    return {
      file: {
        path,
        format,
        textColumn,
        textPairColumn: values["text-pair-column"],
        labelColumn: values["label-column"],
      },
    };
  }
  throw new UsageError("give --task with --data-dir, or --data-file with --text-column");
}
