/**
 * Writes a checkpoint folder in Hugging Face layout — `config.json`, `model.safetensors` and the tokenizer
 * files — atomically: everything goes to a temporary sibling folder that is renamed into place only when
 * complete, so a crash never leaves a half-written checkpoint under the real name. Deno-only (file writes).
 *
 * @module
 */

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

/** What {@linkcode saveCheckpoint} writes. */
export interface SaveCheckpointOptions {
  /** The config.json object (HF field names). */
  config: Record<string, unknown>;
  /** Weights by HF name. */
  weights: Map<string, Tensor>;
  /** Stored dtype of the weights (default F32). */
  dtype?: "F32" | "F16" | "BF16";
  /** Copy the tokenizer files from here. */
  tokenizerFrom?: ModelFiles;
  /** More files to write (name → bytes), e.g. a model card. */
  extraFiles?: Record<string, Uint8Array>;
}

/**
 * Writes the checkpoint to `dir`, replacing an existing folder only once the new one is complete.
 *
 * @throws {Error} naming the folder when it cannot be written; the old folder (if any) is then untouched
 * @example Usage
 * ```ts ignore
 * await saveCheckpoint("out/pruned", { config: model.config.raw, weights: model.params.toTensors() });
 * ```
 */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions): Promise<void> {
  const clean = dir.replace(/\/+$/, "");
  const tmp = `${clean}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = {
    "config.json": enc.encode(JSON.stringify(opts.config, null, 2) + "\n"),
    "model.safetensors": writeSafetensors(opts.weights as Map<string, { shape: number[]; data: Float32Array }>, {
      dtype: opts.dtype ?? "F32",
      metadata: { format: "pt" },
    }),
  };
  if (opts.tokenizerFrom) {
    for (const name of TOKENIZER_FILES) {
      const bytes = await opts.tokenizerFrom.read(name);
      if (bytes) files[name] = bytes;
    }
  }
  Object.assign(files, opts.extraFiles ?? {});
  try {
    await Deno.mkdir(tmp, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(`${tmp}/${name}`, bytes);
    let old: string | undefined;
    try {
      await Deno.stat(clean);
      old = `${clean}.old-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.rename(clean, old);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(tmp, clean);
    if (old) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`Could not write checkpoint ${clean}: ${(e as Error).message}`);
  }
}
