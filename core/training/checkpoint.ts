/**
 * Writes a trained model as a Hugging Face checkpoint folder — `config.json`, `model.safetensors` and the
 * tokenizer files — atomically: everything goes to a temporary sibling folder that is renamed into place.
 * Deno only (file system).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { writeSafetensors } from "../checkpoint/safetensors.ts";
import type { TransformerModel } from "../models/model.ts";

/** Tokenizer files copied next to the weights when the source folder has them. */
export const TOKENIZER_FILES = [
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
] as const;

/** Options for {@linkcode saveCheckpoint}. */
export interface SaveOptions {
  /** Stored weight type (default F32). */
  dtype?: "F32" | "F16";
  /** Folder to copy tokenizer files from. */
  tokenizerDir?: string;
  /** Files to write as they are (e.g. a generated `tokenizer_config.json`), by name. */
  extraFiles?: Record<string, string>;
}

/**
 * The `config.json` to save for a model: its config as read, with `num_labels`/`id2label`/`label2id` (BERT),
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
  if (c.family === "bert") {
    raw.num_labels = c.labels.length;
    raw.id2label = Object.fromEntries(c.labels.map((l, i) => [String(i), l]));
    raw.label2id = Object.fromEntries(c.labels.map((l, i) => [l, i]));
  }
  const pruned: Record<string, number[]> = {};
  c.prunedHeads.forEach((heads, l) => {
    if (heads.length > 0) pruned[String(l)] = [...heads];
  });
  raw.pruned_heads = pruned;
  raw.torch_dtype = dtype === "F16" ? "float16" : "float32";
  return raw;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Saves `model` as an HF folder at `dir`, replacing any previous one only once the new one is complete.
 *
 * @param model The model (its weights are read from kernel memory).
 * @param dir The checkpoint folder.
 * @param opts Weight type, tokenizer source, extra files.
 * @returns The bytes of `model.safetensors`.
 * @throws {Error} When a file cannot be written.
 *
 * @example Usage
 * ```ts ignore
 * await saveCheckpoint(model, "out/best", { dtype: "F16", tokenizerDir: "tests/fixtures/vocab/bert-base-uncased" });
 * ```
 */
export async function saveCheckpoint(model: TransformerModel, dir: string, opts: SaveOptions = {}): Promise<number> {
  const dtype = opts.dtype ?? "F32";
  const parent = dirname(dir);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".tmp-checkpoint-" });
  try {
    await Deno.writeTextFile(join(tmp, "config.json"), JSON.stringify(checkpointConfig(model, dtype), null, 2) + "\n");
    const bytes = writeSafetensors(model.params.toTensors() as Map<string, { shape: number[]; data: Float32Array }>, {
      dtype,
      metadata: { format: "pt" },
    });
    await Deno.writeFile(join(tmp, "model.safetensors"), bytes);
    if (opts.tokenizerDir !== undefined) {
      for (const name of TOKENIZER_FILES) {
        const from = join(opts.tokenizerDir, name);
        if (await exists(from)) await Deno.copyFile(from, join(tmp, name));
      }
    }
    for (const [name, text] of Object.entries(opts.extraFiles ?? {})) {
      if (!(await exists(join(tmp, name)))) await Deno.writeTextFile(join(tmp, name), text);
    }
    // makeTempDir gives 0700 and copies keep a read-only source's mode: make the checkpoint readable and writable
    if (Deno.build.os !== "windows") {
      await Deno.chmod(tmp, 0o755);
      for await (const e of Deno.readDir(tmp)) await Deno.chmod(join(tmp, e.name), 0o644);
    }
    const old = (await exists(dir)) ? `${tmp}-old` : undefined;
    if (old) await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
    if (old) await Deno.remove(old, { recursive: true });
    return bytes.length;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`Cannot save the checkpoint to "${dir}": ${(e as Error).message}`, { cause: e });
  }
}
