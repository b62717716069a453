/**
 * A study's dataset: examples encoded the way the model reads them ({@linkcode encodeExample}), labelled
 * for its task kind, and batched — length-bucketed with each batch padded to its own longest row (default),
 * or as HF's `run_bertology.py` does (file order, every row padded to `max_seq_length`) — plus its one-line
 * description.
 *
 * @module
 */

import type { LabelledBatch } from "../bertology/importance.ts";
import { makeBatches } from "../data/batches.ts";
import { type InputExample, labelIds, type OutputMode } from "../data/input_example.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tokenizer } from "../tokenizers/types.ts";
import { encodeExample } from "./encoding.ts";
import type { TaskSpec } from "./score.ts";

/** Labelled examples before encoding: what a GLUE reader or a tabular file gives. */
export interface StudyExamples {
  /** A readable name (`SST-2 dev`, a file path), used in messages. */
  name: string;
  /** HF GLUE task name, for its metrics; absent for custom data. */
  task?: string | undefined;
  /** Class labels or regression values. */
  outputMode: OutputMode;
  /** Label strings in class-id order; empty for regression. */
  labels: string[];
  /** The examples, in file order. */
  examples: InputExample[];
}

/**
 * How examples become batches: `"bucketed"` sorts them by length and pads each batch to its longest row;
 * `"hf"` keeps file order and pads every row to `max_seq_length` (HF's `run_bertology.py`, whose per-batch
 * importance depends on which examples share a batch).
 */
export type Batching = "bucketed" | "hf";

/** A loaded, batched dataset. */
export interface StudyDataset extends StudyExamples {
  /**
   * The encoded batches with the labels each loss needs ("lm" for a language model) and the examples each
   * row is (`rows`, indices into `examples`).
   */
  batches: LabelledBatch[];
  /** How the batches were made. */
  batching: Batching;
}

/** How {@linkcode buildStudyDataset} batches. */
export interface BatchingOptions {
  /** Rows per batch (default 8). */
  batchSize?: number | undefined;
  /** The most tokens per example (default 128, at most the model's positions). */
  maxSeqLength?: number | undefined;
  /** Keep only the first N examples. */
  subset?: number | undefined;
  /** `"bucketed"` (default) or `"hf"` (see {@linkcode Batching}). */
  batching?: Batching | undefined;
}

/**
 * Encodes, labels and batches examples for a model: a language model gets next-token batches (labels
 * "lm", the GPT-2 `<|endoftext|>` framing); a classifier or regressor gets class ids or values, checked
 * against its head.
 *
 * @param model the model (its task kind, positions and labels)
 * @param tokenizer its tokenizer
 * @param source the labelled examples
 * @param opts batch size, maximum length, subset, batching
 * @returns the dataset
 * @throws {Error} naming the dataset when it is empty, a label is missing or unknown, or the labels do not
 *   fit the model's head (class count, classes for a regressor or values for a classifier)
 * @example Usage
 * ```ts ignore
 * const data = buildStudyDataset(model, tokenizer, { name: "mine", outputMode: "classification",
 *   labels: ["0", "1"], examples: [{ guid: "a", textA: "good", label: "1" }] });
 * ```
 */
export function buildStudyDataset(
  model: TransformerModel,
  tokenizer: Tokenizer,
  source: StudyExamples,
  opts: BatchingOptions = {},
): StudyDataset {
  const { name, outputMode, labels } = source;
  const batchSize = opts.batchSize ?? 8;
  const maxLength = Math.min(opts.maxSeqLength ?? 128, model.config.maxPositions);
  const examples = opts.subset === undefined ? source.examples : source.examples.slice(0, opts.subset);
  if (examples.length === 0) throw new Error(`No examples in ${name}: the dataset is empty`);
  const task = model.task;
  const encoded = examples.map((e) => encodeExample(task, tokenizer, e, maxLength));
  let ids: number[] | undefined;
  // a masked LM reads the sentences without class labels (attention statistics, probes); a study that needs its
  // loss gets labels "lm", which run() refuses for a masked LM, saying what it needs instead
  const unlabelled = task === "lm" || task === "mlm";
  if (!unlabelled) {
    if ((task === "regress") !== (outputMode === "regression")) {
      throw new Error(
        `${name} has ${outputMode === "regression" ? "regression values" : "class labels"} but the model is a ${
          task === "regress" ? "regressor" : "classifier"
        } (config.json problem_type)`,
      );
    }
    ids = labelIds(examples, { labels, outputMode });
    const modelLabels = task === "regress" ? 1 : model.config.labels.length;
    if (outputMode === "classification" && labels.length > modelLabels) {
      throw new Error(
        `${name} has ${labels.length} labels (${
          labels.join(", ")
        }) but the model predicts ${modelLabels} (config.json id2label)`,
      );
    }
  }
  const batching = opts.batching ?? "bucketed";
  if (batching !== "bucketed" && batching !== "hf") {
    throw new Error(`Unknown batching "${batching}" for ${name}: expected "bucketed" or "hf"`);
  }
  const batches = makeBatches(encoded, {
    batchSize,
    padId: tokenizer.padId,
    outputMode,
    ...(ids !== undefined ? { labels: ids } : {}),
    ...(batching === "hf" ? { seqLen: maxLength } : { bucket: true }),
  }).map((b) => ({
    batch: b,
    labels: unlabelled || b.labels === undefined ? "lm" as const : b.labels,
    rows: b.rows,
  }));
  return { ...source, examples, batches, batching };
}

/**
 * Whether a study measures importance per example by default: yes, unless the batches are HF's (whose
 * per-batch gradients are the reference there) or HF's never-zeroed gradient is asked for — so a bucketed
 * dataset gives the same importance however its examples fall into batches.
 *
 * @param data how the batches were made (absent: not HF's)
 * @param hfAccumulate whether HF's accumulating gradient is asked for
 * @returns whether to pass `perExample: true`
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { perExampleByDefault } from "./dataset.ts";
 *
 * strictEqual(perExampleByDefault({ batching: "bucketed" }, false), true);
 * strictEqual(perExampleByDefault({ batching: "hf" }, false), false);
 * ```
 */
export function perExampleByDefault(data: { batching?: Batching | undefined }, hfAccumulate: boolean): boolean {
  return data.batching !== "hf" && !hfAccumulate;
}

/**
 * The one-line description of a dataset the studies print: `SST-2 dev: 872 examples in 109 batches`.
 *
 * @param data the dataset
 * @returns the description
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { describeDataset } from "./dataset.ts";
 *
 * strictEqual(describeDataset({ name: "mine", examples: [], batches: [] }), "mine: 0 examples in 0 batches");
 * ```
 */
export function describeDataset(data: Pick<StudyDataset, "name" | "examples" | "batches">): string {
  return `${data.name}: ${data.examples.length} examples in ${data.batches.length} batches`;
}

/**
 * What a dataset is scored as with a model: the model's task kind and the dataset's GLUE task.
 *
 * @param model the model
 * @param data the dataset
 * @returns the task spec for the scorers
 * @example Usage
 * ```ts ignore
 * scoreTask({ ...taskSpec(model, data), metric: "acc" });
 * ```
 */
export function taskSpec(model: TransformerModel, data: Pick<StudyExamples, "task">): TaskSpec {
  return { kind: model.task, glueTask: model.task === "lm" ? undefined : data.task };
}

/**
 * The class names of a classifier, as data labels: HF's generic `LABEL_i` names stand for the plain
 * indices "0", "1", ….
 *
 * @param model the model
 * @returns the label strings in class-id order
 * @example Usage
 * ```ts ignore
 * modelLabelNames(model); // ["0", "1"] for id2label {0: "LABEL_0", 1: "LABEL_1"}
 * ```
 */
export function modelLabelNames(model: TransformerModel): string[] {
  const names = model.config.labels;
  return names.every((n, i) => n === `LABEL_${i}`) ? names.map((_, i) => String(i)) : names;
}

/**
 * A classifier's dataset read from a file, its labels taken as the model's classes: by name (`positive`), or by
 * class id (`1`) when every label is an id and not every one a name — SST-2's "0"/"1" for a model whose classes
 * are named `negative`/`positive`.
 *
 * @param model the classifier
 * @param data the file's examples, parsed without a label list (labels inferred)
 * @param file the file, for the message
 * @returns the same examples, with the model's label list (names or ids) in class-id order
 * @throws {Error} naming the file and the labels that are neither the model's class names nor their ids
 * @example Usage
 * ```ts ignore
 * const data = asModelClasses(model, parseTabular(text, { format: "tsv", textColumn: "sentence" }), "dev.tsv");
 * ```
 */
export function asModelClasses<T extends { labels: string[] }>(model: TransformerModel, data: T, file: string): T {
  const names = modelLabelNames(model);
  const ids = names.map((_, i) => String(i));
  if (data.labels.every((l) => names.includes(l))) return { ...data, labels: names };
  if (data.labels.every((l) => ids.includes(l))) return { ...data, labels: ids };
  const unknown = data.labels.filter((l) => !names.includes(l)).slice(0, 5);
  throw new Error(
    `${file}: labels ${unknown.map((l) => JSON.stringify(l)).join(", ")} are neither the model's classes ` +
      `(${names.join(", ")}) nor their ids (0 … ${names.length - 1})`,
  );
}
