/**
 * A checkpoint's files in memory — `config.json` (brought up to date: labels, `pruned_heads`, dtype),
 * `model.safetensors` and the tokenizer files of its source — as `saveCheckpoint` writes them to a folder and
 * a browser offers them for download. Browser-safe: no file system.
 *
 * @module
 */

import { prunedHeadsField } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import type { ModelFiles } from "./files.ts";
import { writeSafetensors } from "./safetensors.ts";

/** Tokenizer files copied from the source checkpoint when present. */
export const TOKENIZER_FILES = [
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
] as const;

/** What {@linkcode checkpointFileSet} puts together. */
export interface CheckpointFileSetOptions {
  /** The config.json object (HF field names). */
  config: Record<string, unknown>;
  /** Weights by HF name. */
  weights: Map<string, Tensor>;
  /** Stored dtype of the weights (default F32). */
  dtype?: "F32" | "F16" | "BF16" | undefined;
  /** Copy the tokenizer files from here. */
  tokenizerFrom?: ModelFiles | undefined;
  /** More files to write (name → bytes or text), e.g. a model card; tokenizer files copied win over these. */
  extraFiles?: Record<string, Uint8Array | string> | undefined;
}

/**
 * The files of a checkpoint folder, by name: the extra files, `config.json`, `model.safetensors` and the
 * tokenizer files found in `tokenizerFrom`.
 *
 * @param opts what to put together
 * @returns name → bytes
 * @throws {Error} when a tokenizer file cannot be read
 * @example Usage
 * ```ts
 * import { checkpointFileSet } from "./checkpoint_files.ts";
 * const weights = new Map([["w", { shape: [1], data: new Float32Array([1]) }]]);
 * const files = await checkpointFileSet({ config: { model_type: "bert" }, weights });
 * Object.keys(files); // ["config.json", "model.safetensors"]
 * ```
 */
export async function checkpointFileSet(opts: CheckpointFileSetOptions): Promise<Record<string, Uint8Array>> {
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = {};
  for (const [name, v] of Object.entries(opts.extraFiles ?? {})) {
    files[name] = typeof v === "string" ? enc.encode(v) : v;
  }
  files["config.json"] = enc.encode(JSON.stringify(opts.config, null, 2) + "\n");
  files["model.safetensors"] = writeSafetensors(opts.weights as Map<string, { shape: number[]; data: Float32Array }>, {
    dtype: opts.dtype ?? "F32",
    metadata: { format: "pt" },
  });
  if (opts.tokenizerFrom) {
    for (const name of TOKENIZER_FILES) {
      const bytes = await opts.tokenizerFrom.read(name);
      if (bytes) files[name] = bytes;
    }
  }
  return files;
}

/**
 * The `config.json` to save for a model: its config as read, with `num_labels`/`id2label`/`label2id` (classifiers),
 * `pruned_heads` and `torch_dtype` brought up to date.
 *
 * @param model The model.
 * @param dtype The stored weight type.
 * @returns The JSON object.
 *
 * @example Usage
 * ```ts ignore
 * const json = checkpointConfig(model, "F16");
 * ```
 */
export function checkpointConfig(model: TransformerModel, dtype: "F32" | "F16" = "F32"): Record<string, unknown> {
  const c = model.config;
  const raw: Record<string, unknown> = { ...c.raw };
  if (c.task === "classify" || c.task === "regress") {
    raw.num_labels = c.labels.length;
    raw.id2label = Object.fromEntries(c.labels.map((l, i) => [String(i), l]));
    raw.label2id = Object.fromEntries(c.labels.map((l, i) => [l, i]));
  }
  raw.pruned_heads = prunedHeadsField(c, c.prunedHeads);
  raw.torch_dtype = dtype === "F16" ? "float16" : "float32";
  return raw;
}

/**
 * The dtype a model's checkpoint was stored in, from its config's `torch_dtype` (F16 for "float16", else F32),
 * so re-saving a model (after pruning, say) keeps its precision and size.
 *
 * @param model The model.
 * @returns `"F16"` or `"F32"`.
 * @example Usage
 * ```ts ignore
 * const dtype = checkpointDtype(model);
 * ```
 */
export function checkpointDtype(model: TransformerModel): "F32" | "F16" {
  return (model.config.raw.torch_dtype ?? model.config.raw.dtype) === "float16" ? "F16" : "F32";
}

/**
 * A model's checkpoint files in memory, as `saveModel` writes them (config from {@linkcode checkpointConfig}).
 *
 * @param model the model (its weights are read from kernel memory)
 * @param opts stored dtype (default F32) and where the tokenizer files come from
 * @returns name → bytes
 * @example Usage
 * ```ts ignore
 * const files = await modelCheckpointFiles(pruned, { dtype: checkpointDtype(model), tokenizerFrom: files });
 * ```
 */
export function modelCheckpointFiles(
  model: TransformerModel,
  opts: { dtype?: "F32" | "F16" | undefined; tokenizerFrom?: ModelFiles | undefined } = {},
): Promise<Record<string, Uint8Array>> {
  const dtype = opts.dtype ?? "F32";
  return checkpointFileSet({
    config: checkpointConfig(model, dtype),
    weights: model.params.toTensors(),
    dtype,
    tokenizerFrom: opts.tokenizerFrom,
  });
}
