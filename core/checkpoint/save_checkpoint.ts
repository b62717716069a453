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
  /** More files to write (name → bytes or text), e.g. a model card; tokenizer files copied win over these. */
  extraFiles?: Record<string, Uint8Array | string>;
}

/**
 * Writes the checkpoint to `dir`, replacing an existing folder only once the new one is complete.
 *
 * @returns the size of `model.safetensors` in bytes
 * @throws {Error} naming the folder when it cannot be written; the old folder (if any) is then untouched
 * @example Usage
 * ```ts ignore
 * await saveCheckpoint("out/pruned", { config: model.config.raw, weights: model.params.toTensors() });
 * ```
 */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions): Promise<number> {
  const clean = dir.replace(/\/+$/, "") || ".";
  const parent = clean.includes("/") ? clean.slice(0, clean.lastIndexOf("/")) || "/" : ".";
  const enc = new TextEncoder();
  const weightBytes = writeSafetensors(opts.weights as Map<string, { shape: number[]; data: Float32Array }>, {
    dtype: opts.dtype ?? "F32",
    metadata: { format: "pt" },
  });
  const files: Record<string, Uint8Array> = {};
  for (const [name, v] of Object.entries(opts.extraFiles ?? {})) {
    files[name] = typeof v === "string" ? enc.encode(v) : v;
  }
  files["config.json"] = enc.encode(JSON.stringify(opts.config, null, 2) + "\n");
  files["model.safetensors"] = weightBytes;
  if (opts.tokenizerFrom) {
    for (const name of TOKENIZER_FILES) {
      const bytes = await opts.tokenizerFrom.read(name);
      if (bytes) files[name] = bytes;
    }
  }
  let tmp: string | undefined;
  try {
    await Deno.mkdir(parent, { recursive: true });
    tmp = await Deno.makeTempDir({ dir: parent, prefix: ".tmp-checkpoint-" });
    for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(`${tmp}/${name}`, bytes, { mode: 0o644 });
    // makeTempDir creates 0700: make the checkpoint readable like any other folder
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o755);
    let old: string | undefined;
    try {
      await Deno.stat(clean);
      old = `${tmp}-old`;
      await Deno.rename(clean, old);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(tmp, clean);
    if (old) await Deno.remove(old, { recursive: true });
    return weightBytes.length;
  } catch (e) {
    if (tmp) await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`Could not write checkpoint ${clean}: ${(e as Error).message}`, { cause: e });
  }
}
