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
import type { TransformerModel } from "../models/model.ts";
import { checkpointConfig } from "../checkpoint/checkpoint_files.ts";

export { checkpointConfig, checkpointDtype as storedDtype } from "../checkpoint/checkpoint_files.ts";

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
