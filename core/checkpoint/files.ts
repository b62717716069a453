/**
 * Where a checkpoint's files come from: a local folder, the Hugging Face hub (through a cache), or memory.
 * Everything that reads a checkpoint (weights, config, tokenizer) goes through this one interface, so the
 * same loading code runs in Deno, in Deno Deploy and in a browser.
 *
 * @module
 */

/** A read-only set of named files (HF layout: `config.json`, `model.safetensors`, `vocab.txt`, …). */
export interface ModelFiles {
  /** Human-readable location for error messages: a folder path, a hub id, or "memory". */
  readonly location: string;
  /** The file's bytes, or `undefined` when the file does not exist. Other failures throw. */
  read(name: string): Promise<Uint8Array | undefined>;
}

/**
 * A {@linkcode ModelFiles} over an in-memory map (browser uploads, tests, edge bundles).
 *
 * @example Usage
 * ```ts
 * const files = memoryFiles({ "config.json": new TextEncoder().encode("{}") });
 * const bytes = await files.read("config.json");
 * ```
 */
export function memoryFiles(entries: Record<string, Uint8Array>, location = "memory"): ModelFiles {
  const map = new Map(Object.entries(entries));
  return {
    location,
    read: (name) => Promise.resolve(map.get(name)),
  };
}

/**
 * Reads a text file from `files`, or `undefined` when absent.
 *
 * @param files Where to read from.
 * @param name The file name.
 * @returns The file decoded as UTF-8, or `undefined` when it does not exist.
 *
 * @example Usage
 * ```ts
 * import { memoryFiles, readText } from "./files.ts";
 * const files = memoryFiles({ "config.json": new TextEncoder().encode("{}") });
 * await readText(files, "config.json"); // "{}"
 * ```
 */
export async function readText(files: ModelFiles, name: string): Promise<string | undefined> {
  const bytes = await files.read(name);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/**
 * Whether `name` is a safe file name inside a checkpoint: relative, `/`-separated, with no empty, `.` or
 * `..` segment and no backslash, so that joining it to a folder or URL cannot escape it.
 *
 * @param name A file name such as `config.json` or `onnx/model.onnx`.
 * @returns `true` when the name is safe to join.
 *
 * @example Usage
 * ```ts
 * import { isSafeFileName } from "./files.ts";
 * isSafeFileName("model-00001-of-00002.safetensors"); // true
 * isSafeFileName("../secrets"); // false
 * ```
 */
export function isSafeFileName(name: string): boolean {
  return name.length > 0 && !name.includes("\\") && !name.includes("\0") &&
    !name.split("/").some((part) => part === "" || part === "." || part === "..");
}
