/**
 * {@linkcode ModelFiles} over a local folder. Deno only (uses `Deno.readFile`); import it from `deno.ts`.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import { join } from "node:path";
import { isSafeFileName, type ModelFiles, type RandomAccessFile } from "./files.ts";

/**
 * Reads a checkpoint's files from a folder in HF layout (`config.json`, `model.safetensors`, …).
 *
 * @param dir The folder.
 * @returns Files whose `read` gives `undefined` for a missing file and throws on other failures.
 *
 * @example Usage
 * ```ts
 * import { localFiles } from "./local_files.ts";
 * const files = localFiles("tests/fixtures/models/bert-tiny-random");
 * const config = await files.read("config.json");
 * ```
 */
export function localFiles(dir: string): ModelFiles {
  return {
    location: dir,
    async read(name) {
      if (!isSafeFileName(name)) {
        throw new Error(`Refusing to read "${excerpt(name)}" from "${dir}": not a plain relative name`);
      }
      try {
        return await Deno.readFile(join(dir, name));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw new Error(`Cannot read "${name}" from "${dir}": ${(e as Error).message}`, { cause: e });
      }
    },
    async open(name) {
      if (!isSafeFileName(name)) {
        throw new Error(`Refusing to open "${excerpt(name)}" from "${dir}": not a plain relative name`);
      }
      return await openLocalFile(join(dir, name));
    },
  };
}

/**
 * Opens a local file for positioned reads (`Deno.open`, seek, read until full).
 *
 * @param path The file.
 * @returns The open file, or `undefined` when it does not exist.
 * @throws {Error} naming the path for other failures
 *
 * @example Usage
 * ```ts
 * import { openLocalFile } from "./local_files.ts";
 * const file = await openLocalFile("tests/fixtures/models/bert-tiny-random/config.json");
 * const head = new Uint8Array(1);
 * await file!.readAt(0, head); // "{"
 * file!.close();
 * ```
 */
export async function openLocalFile(path: string): Promise<RandomAccessFile | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot open "${path}": ${(e as Error).message}`, { cause: e });
  }
  let closed = false;
  const size = (await file.stat()).size;
  return {
    size,
    async readAt(offset, into) {
      await file.seek(offset, Deno.SeekMode.Start);
      let at = 0;
      while (at < into.length) {
        const n = await file.read(into.subarray(at));
        if (n === null) {
          throw new Error(`"${path}" ends at byte ${offset + at}: cannot read ${into.length} bytes at ${offset}`);
        }
        at += n;
      }
    },
    close() {
      if (!closed) file.close();
      closed = true;
    },
  };
}
