/**
 * Turns CLI data flags (a GLUE task folder, or a custom CSV/TSV/JSONL file) into tokenized, labelled batches
 * in file order, for the `heads` (and `train`) commands.
 *
 * @module
 */

import { makeBatches } from "../core/data/batches.ts";
import { type GlueSplit, glueTask } from "../core/data/glue.ts";
import { type InputExample, labelIds, type OutputMode } from "../core/data/input_example.ts";
import { readGlueExamples, readTabularFile } from "../core/data/read_files.ts";
import type { TabularFormat } from "../core/data/tabular.ts";
import type { LabelledBatch } from "../core/bertology/importance.ts";
import type { TransformerModel } from "../core/models/model.ts";
import type { Tokenizer } from "../core/tokenizers/types.ts";
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
} as const;

/** A loaded, batched dataset. */
export interface Dataset {
  /** A readable name (`SST-2 dev`, a file path). */
  name: string;
  /** GLUE task name, for its metric; undefined for custom data. */
  task?: string;
  outputMode: OutputMode;
  labels: string[];
  examples: InputExample[];
  batches: LabelledBatch[];
}

/**
 * Reads, tokenizes and batches the data the flags point at. GPT models get language-model batches
 * (labels "lm"); BERT models get class (or regression) labels, checked against the model's head.
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
  const batchSize = int("batch-size", defaults.batchSize ?? 8)!;
  const maxLen = Math.min(int("max-seq-length", defaults.maxSeqLength ?? 128)!, model.config.maxPositions);
  const subset = int("data-subset", undefined);

  let examples: InputExample[], labels: string[], outputMode: OutputMode, name: string, task: string | undefined;
  if (values.task !== undefined) {
    if (values["data-file"] !== undefined) throw new UsageError("give either --task (with --data-dir) or --data-file");
    const t = glueTask(values.task);
    const split = (values.split ?? defaults.split ?? "dev") as GlueSplit;
    if (!["train", "dev", "test"].includes(split)) {
      throw new UsageError(`--split must be train, dev or test, got "${split}"`);
    }
    const dir = values["data-dir"];
    if (!dir) throw new UsageError("--data-dir is required with --task");
    examples = await readGlueExamples(dir, t, split);
    labels = [...t.labels];
    outputMode = t.outputMode;
    name = `${t.name} ${split}`;
    task = t.name;
  } else if (values["data-file"] !== undefined) {
    const file = values["data-file"];
    const format = (values.format ?? file.split(".").pop() ?? "") as TabularFormat;
    if (!["csv", "tsv", "jsonl"].includes(format)) {
      throw new UsageError(`--format must be csv, tsv or jsonl, got "${format}"`);
    }
    const textColumn = values["text-column"];
    if (!textColumn) throw new UsageError("--text-column is required with --data-file");
    const data = await readTabularFile(file, {
      format,
      textColumn,
      textPairColumn: values["text-pair-column"],
      labelColumn: values["label-column"],
      labels: model.config.family === "bert" && model.config.problemType !== "regression"
        ? modelLabelNames(model)
        : undefined,
    });
    ({ examples, labels, outputMode } = data);
    name = file;
  } else throw new UsageError("give --task with --data-dir, or --data-file with --text-column");

  if (subset !== undefined) examples = examples.slice(0, subset);
  if (examples.length === 0) throw new Error(`No examples in ${name}: the dataset is empty`);

  const isLm = model.config.family !== "bert";
  const encoded = examples.map((e) =>
    isLm ? lmEncoding(tokenizer, e, maxLen) : tokenizer.encode(e.textA, e.textB, { maxLength: maxLen })
  );
  let ids: number[] | undefined;
  if (!isLm) {
    ids = labelIds(examples, { labels, outputMode });
    const modelLabels = model.config.problemType === "regression" ? 1 : model.config.labels.length;
    if (outputMode === "classification" && labels.length > modelLabels) {
      throw new Error(
        `${name} has ${labels.length} labels (${
          labels.join(", ")
        }) but the model predicts ${modelLabels} (config.json id2label)`,
      );
    }
  }
  const batches = makeBatches(encoded, { batchSize, padId: tokenizer.padId, labels: ids, outputMode }).map((b) => ({
    batch: b,
    labels: isLm ? "lm" as const : b.labels!,
  }));
  return { name, task, outputMode, labels, examples, batches };
}

/** The model's class names; HF's generic `LABEL_i` names stand for the plain indices "0", "1", …. */
function modelLabelNames(model: TransformerModel): string[] {
  const names = model.config.labels;
  return names.every((n, i) => n === `LABEL_${i}`) ? names.map((_, i) => String(i)) : names;
}

/**
 * How a GPT model reads a sentence (in training and in every study, so perplexities agree): GPT-2's
 * `<|endoftext|> sentence <|endoftext|>`, so that every sentence token and the end are predicted; models
 * without that token read the bare sentence. A pair is joined with a space. At most `maxLen` tokens.
 */
export function lmEncoding(
  tokenizer: Tokenizer,
  e: Pick<InputExample, "textA" | "textB">,
  maxLen: number,
): { ids: number[]; tokenTypeIds: number[] } {
  const eos = tokenizer.tokenToId("<|endoftext|>");
  const text = e.textB === undefined ? e.textA : `${e.textA} ${e.textB}`;
  const body = tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
  const ids = eos === undefined ? body.slice(0, maxLen) : [eos, ...body.slice(0, maxLen - 2), eos];
  return { ids, tokenTypeIds: new Array(ids.length).fill(0) };
}
