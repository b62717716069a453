/**
 * Writes a checkpoint folder in Hugging Face layout — `config.json`, `model.safetensors` and the tokenizer
 * files — through `writeCheckpointDir` (`output_dir_fs.ts`): the folder under its name is always the old or
 * the new complete checkpoint, an output that would destroy a source, a file or someone else's folder is
 * refused, and files the tool did not write are kept. Deno-only (file writes).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import type { ModelFiles } from "./files.ts";
import { OutputRefusedError } from "./output_dir.ts";
import { type CheckpointDirOptions, writeCheckpointDir } from "./output_dir_fs.ts";
import { checkpointFileSet } from "./checkpoint_files.ts";

export { TOKENIZER_FILES } from "./checkpoint_files.ts";

/** What {@linkcode saveCheckpoint} writes. */
export interface SaveCheckpointOptions extends CheckpointDirOptions {
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
 * Writes the checkpoint to `dir`, replacing an earlier checkpoint of this tool in one atomic step.
 *
 * @param dir The checkpoint folder (it becomes a link to a hidden sibling `.NAME.ckpt-ID`).
 * @param opts What to write, plus `force`, `sources` and `flag` (see `writeCheckpointDir`).
 * @returns the size of `model.safetensors` in bytes
 * @throws {OutputRefusedError} when `dir` may not be written (a source, a file, someone else's folder)
 * @throws {Error} naming the folder when it cannot be written; the old checkpoint (if any) is then untouched
 * @example Usage
 * ```ts ignore
 * await saveCheckpoint("out/pruned", { config: model.config.raw, weights: model.params.toTensors() });
 * ```
 */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions): Promise<number> {
  const files = await checkpointFileSet(opts);
  const weightBytes = files["model.safetensors"]!;
  try {
    await writeCheckpointDir(dir, files, opts);
  } catch (e) {
    if (e instanceof OutputRefusedError) throw e;
    throw new Error(`Could not write checkpoint ${dir}: ${(e as Error).message}`, { cause: e });
  }
  return weightBytes.length;
}
