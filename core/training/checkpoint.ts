/**
 * Writes a trained model as a Hugging Face checkpoint folder: its config.json brought up to date (labels,
 * `pruned_heads`, dtype) and the atomic writer of `../checkpoint/save_checkpoint.ts`. Deno only (file system).
 *
 * @module
 */

import type { ModelFiles } from "../checkpoint/files.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import type { OutputOptions } from "../checkpoint/output_dir_fs.ts";
import { saveCheckpoint } from "../checkpoint/save_checkpoint.ts";
import { prunedHeadsField } from "../models/config.ts";
import type { TransformerModel } from "../models/model.ts";

/** Options for {@linkcode saveModel}; `force`, `sources` and `flag` guard the output (see `output_dir_fs.ts`). */
export interface SaveOptions extends OutputOptions {
  /** Stored weight type (default F32). */
  dtype?: "F32" | "F16" | undefined;
  /** Folder to copy tokenizer files from. */
  tokenizerDir?: string | undefined;
  /** Or any file source to copy them from (a hub model, memory). */
  tokenizerFrom?: ModelFiles | undefined;
  /** Files to write as they are (e.g. a generated `tokenizer_config.json`), by name. */
  extraFiles?: Record<string, string> | undefined;
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
 */
export function storedDtype(model: TransformerModel): "F32" | "F16" {
  return (model.config.raw.torch_dtype ?? model.config.raw.dtype) === "float16" ? "F16" : "F32";
}

/**
 * Saves `model` as an HF folder at `dir` (through `saveCheckpoint`: one atomic replacement, outputs that
 * would destroy data refused, tokenizer files copied), with
 * {@linkcode checkpointConfig} as its config.json.
 *
 * @param model The model (its weights are read from kernel memory).
 * @param dir The checkpoint folder.
 * @param opts Weight type, tokenizer source, extra files.
 * @returns The bytes of `model.safetensors`.
 * @throws {Error} When a file cannot be written.
 *
 * @example Usage
 * ```ts ignore
 * await saveModel(model, "out/best", { dtype: "F16", tokenizerDir: "tests/fixtures/vocab/bert-base-uncased" });
 * ```
 */
export function saveModel(model: TransformerModel, dir: string, opts: SaveOptions = {}): Promise<number> {
  const dtype = opts.dtype ?? "F32";
  return saveCheckpoint(dir, {
    config: checkpointConfig(model, dtype),
    weights: model.params.toTensors(),
    dtype,
    tokenizerFrom: opts.tokenizerFrom ?? (opts.tokenizerDir === undefined ? undefined : localFiles(opts.tokenizerDir)),
    extraFiles: opts.extraFiles,
    force: opts.force,
    sources: opts.sources,
    flag: opts.flag,
  });
}
