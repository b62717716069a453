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
  /**
   * Random access to a file (a weight loader reads each tensor straight into kernel memory, never holding the
   * whole file), or `undefined` when it does not exist. Optional: {@linkcode openFile} falls back to `read`.
   */
  open?(name: string): Promise<RandomAccessFile | undefined>;
}

/** One open file: its size and positioned reads into the caller's buffer. */
export interface RandomAccessFile {
  /** The file's length in bytes. */
  readonly size: number;
  /**
   * Fills `into` with the file's bytes from `offset`.
   *
   * @throws {Error} naming the file when it ends before `into` is full
   */
  readAt(offset: number, into: Uint8Array): Promise<void>;
  /** Releases the file (safe to call twice). */
  close(): void;
}

/**
 * A {@linkcode RandomAccessFile} over bytes already in memory.
 *
 * @param bytes The file's contents.
 * @param name Used in error messages.
 * @returns Reads that copy out of `bytes`.
 *
 * @example Usage
 * ```ts
 * import { bytesFile } from "./files.ts";
 * const file = bytesFile(new Uint8Array([1, 2, 3]), "x.bin");
 * const into = new Uint8Array(2);
 * await file.readAt(1, into); // into = [2, 3]
 * ```
 */
export function bytesFile(bytes: Uint8Array, name: string): RandomAccessFile {
  return {
    size: bytes.length,
    readAt(offset, into) {
      if (offset < 0 || offset + into.length > bytes.length) {
        return Promise.reject(
          new Error(`"${name}" ends at byte ${bytes.length}: cannot read ${into.length} bytes at ${offset}`),
        );
      }
      into.set(bytes.subarray(offset, offset + into.length));
      return Promise.resolve();
    },
    close() {},
  };
}

/**
 * Opens a file of `files` for random access: through `files.open` where the source has it, else over the
 * bytes `files.read` gives.
 *
 * @param files Where to read from.
 * @param name The file name.
 * @returns The open file, or `undefined` when it does not exist.
 *
 * @example Usage
 * ```ts
 * import { memoryFiles, openFile } from "./files.ts";
 * const file = await openFile(memoryFiles({ "a.bin": new Uint8Array(4) }), "a.bin");
 * file?.size; // 4
 * ```
 */
export async function openFile(files: ModelFiles, name: string): Promise<RandomAccessFile | undefined> {
  if (files.open !== undefined) return await files.open(name);
  const bytes = await files.read(name);
  return bytes === undefined ? undefined : bytesFile(bytes, name);
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
    open: (name) => {
      const bytes = map.get(name);
      return Promise.resolve(bytes === undefined ? undefined : bytesFile(bytes, name));
    },
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
