/**
 * Reads a study's dataset from disk (a GLUE task folder or a custom CSV / TSV / JSONL file) and builds it
 * for a model with {@linkcode buildStudyDataset}. Needs `--allow-read`, so it is exported on its own as
 * `@bertology/core/studies/read-dataset`, not from the browser-safe `@bertology/core/studies`.
 *
 * @module
 */

import type { GlueSplit } from "../data/glue.ts";
import { glueTask } from "../data/glue.ts";
import { readGlueExamples, readTabularFile } from "../data/read_files.ts";
import type { TabularFormat } from "../data/tabular.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tokenizer } from "../tokenizers/types.ts";
import { asModelClasses, type BatchingOptions, buildStudyDataset, type StudyDataset } from "./dataset.ts";

/** A GLUE task's split in a GLUE data folder. */
export interface GlueSource {
  /** The folder holding the task folders (`data/glue`). */
  dataDir: string;
  /** HF task name (`sst-2`). */
  task: string;
  /** The split (default `dev`). */
  split?: GlueSplit | undefined;
}

/** A custom CSV, TSV or JSONL file. */
export interface FileSource {
  /** The file. */
  path: string;
  /** Its format. */
  format: TabularFormat;
  /** Column of the text. */
  textColumn: string;
  /** Column of the second text of a pair. */
  textPairColumn?: string | undefined;
  /** Column of the label (a class for a classifier, a number for a regressor; unused by a language model). */
  labelColumn?: string | undefined;
}

/** Where a study's examples come from. */
export type DatasetSource = { glue: GlueSource } | { file: FileSource };

/**
 * Reads the examples and builds the dataset. A custom file's labels are read as the model's task wants:
 * numbers for a regressor, the model's class names for a classifier.
 *
 * @param source the GLUE split or the file
 * @param model the model
 * @param tokenizer its tokenizer
 * @param opts batch size, maximum length, subset
 * @returns the dataset
 * @throws {Error} naming the file for a missing or malformed file, an empty dataset, or labels the model
 *   cannot predict
 * @example Usage
 * ```ts ignore
 * const data = await readStudyDataset({ glue: { dataDir: "data/glue", task: "sst-2" } }, model, tokenizer);
 * ```
 */
export async function readStudyDataset(
  source: DatasetSource,
  model: TransformerModel,
  tokenizer: Tokenizer,
  opts: BatchingOptions = {},
): Promise<StudyDataset> {
  if ("glue" in source) {
    const t = glueTask(source.glue.task);
    const split = source.glue.split ?? "dev";
    const examples = await readGlueExamples(source.glue.dataDir, t, split);
    return buildStudyDataset(model, tokenizer, {
      name: `${t.name} ${split}`,
      task: t.name,
      outputMode: t.outputMode,
      labels: [...t.labels],
      examples,
    }, opts);
  }
  const f = source.file;
  const data = await readTabularFile(f.path, {
    format: f.format,
    textColumn: f.textColumn,
    ...(f.textPairColumn !== undefined ? { textPairColumn: f.textPairColumn } : {}),
    ...(f.labelColumn !== undefined ? { labelColumn: f.labelColumn } : {}),
    ...(model.task === "regress" ? { outputMode: "regression" as const } : {}),
  });
  const classes = model.task === "classify" && f.labelColumn !== undefined ? asModelClasses(model, data, f.path) : data;
  return buildStudyDataset(model, tokenizer, { name: f.path, ...classes }, opts);
}
