/**
 * The model summary the page starts from (`GET /api/model` on a server; the static analyzer's worker answers
 * the same object for the model it loaded).
 *
 * @module
 */

import type { BackendName } from "@bertology/core/export/runtime";
import { labelKind, type TaskKind, type TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import type { Limits } from "./_limits.ts";

/** The `GET /api/model` answer. */
export interface ModelSummary {
  /** Display name. */
  name: string;
  /** `bert`, `gpt2` or `openai-gpt` (information; branch on `task`). */
  family: string;
  /** What the model's output is: `classify`, `regress` or `lm` (next-token prediction). */
  task: TaskKind;
  /** Number of blocks. */
  layers: number;
  /** Heads per layer before pruning. */
  heads: number;
  /** Heads left in each layer. */
  heads_per_layer: number[];
  /** Pruned heads per layer, original numbering. */
  pruned_heads: number[][];
  /** d_model. */
  hidden: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** Longest input, in tokens. */
  max_position_embeddings: number;
  /** Class names (BERT classifiers). */
  labels: string[];
  /** Whether the model has a classification head. */
  has_classifier: boolean;
  /** The tokenizer kind. */
  tokenizer: string;
  /** The limits in force. */
  limits: Limits;
  /** The server backends `/api/analyze` and `/api/importance` accept (`backend`); the first is the default. */
  backends: BackendName[];
  /** Whether the page may compute in the browser (`GET /api/onnx`, onnxruntime-web under `/vendor/`). */
  browser_compute: boolean;
}

/**
 * The summary of a loaded model.
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param opts display name, the limits in force, the backends offered and whether the page may compute itself
 * @returns the summary
 * @example Usage
 * ```ts ignore
 * modelSummary(model, tokenizer, { name: "bert-sst2", limits, backends: ["wasm"], browserCompute: false }).layers;
 * ```
 */
export function modelSummary(
  model: TransformerModel,
  tokenizer: Tokenizer,
  opts: { name: string; limits: Limits; backends: readonly BackendName[]; browserCompute: boolean },
): ModelSummary {
  const c = model.config;
  return {
    name: opts.name,
    family: c.family,
    task: model.task,
    layers: c.layers,
    heads: c.heads,
    heads_per_layer: model.headsPerLayer,
    pruned_heads: c.prunedHeads.map((p) => [...p]),
    hidden: c.hidden,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxPositions,
    labels: [...c.labels],
    has_classifier: model.hasHead && labelKind(model.task).startsWith("per_row"),
    tokenizer: tokenizer.kind,
    limits: opts.limits,
    backends: [...opts.backends],
    browser_compute: opts.browserCompute,
  };
}
