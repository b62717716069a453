/**
 * {@linkcode ModelFiles} over a local folder, and the bounded local-file readers every command uses (regular files
 * only, never more than the size a file declares). Deno only; import it from `deno.ts`.
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
        return await readLocalFile(join(dir, name));
      } catch (e) {
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
  let size: number;
  try {
    // a named pipe would block the open itself: its kind is checked first
    if (!(await statRegular(path))) return undefined;
    file = await Deno.open(path, { read: true });
    size = regularSize(await file.stat(), file);
  } catch (e) {
    throw new Error(`Cannot open "${path}": ${(e as Error).message}`, { cause: e });
  }
  let closed = false;
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

/** Why a path that is not a regular file is refused (said once, for every reader). */
const NOT_REGULAR = "it is not a regular file (a device, a named pipe, a socket or a folder), so it is not read";

/** Whether `path` exists, throwing for one that is not a regular file (a symlink is followed). */
async function statRegular(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!info.isFile) throw new Error(NOT_REGULAR);
  return true;
}

/** The size of an open file, checked again to be a regular file (the path may have been swapped meanwhile). */
function regularSize(info: Deno.FileInfo, file: Deno.FsFile): number {
  if (!info.isFile) {
    file.close();
    throw new Error(NOT_REGULAR);
  }
  return info.size;
}

/**
 * Reads a whole local file, refusing anything that is not a regular file (a symlink to `/dev/zero`, a named pipe,
 * a folder) before opening it, and reading no more than the size the file declares (a file that grows meanwhile
 * is read as it was; one that shrinks, as far as it goes).
 *
 * @param path The file.
 * @returns Its bytes, or `undefined` when it does not exist.
 * @throws {Error} for a path that is not a regular file, or a failed read (the caller names the file)
 *
 * @example Usage
 * ```ts
 * import { readLocalFile } from "./local_files.ts";
 * const bytes = await readLocalFile("tests/fixtures/models/bert-tiny-random/config.json");
 * bytes![0]; // 123, "{"
 * ```
 */
export async function readLocalFile(path: string): Promise<Uint8Array | undefined> {
  if (!(await statRegular(path))) return undefined;
  const file = await Deno.open(path, { read: true });
  try {
    const into = new Uint8Array(regularSize(await file.stat(), file));
    let at = 0;
    while (at < into.length) {
      const n = await file.read(into.subarray(at));
      if (n === null) return into.subarray(0, at);
      at += n;
    }
    return into;
  } finally {
    try {
      file.close();
    } catch { /* closed already (not a regular file) */ }
  }
}

/**
 * {@linkcode readLocalFile}, synchronously (for the command line's small JSON and `.npy` inputs).
 *
 * @param path The file.
 * @returns Its bytes, or `undefined` when it does not exist.
 * @throws {Error} for a path that is not a regular file, or a failed read
 *
 * @example Usage
 * ```ts
 * import { readLocalFileSync } from "./local_files.ts";
 * readLocalFileSync("tests/fixtures/models/bert-tiny-random/no-such-file"); // undefined
 * ```
 */
export function readLocalFileSync(path: string): Uint8Array | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (!info.isFile) throw new Error(NOT_REGULAR);
  const file = Deno.openSync(path, { read: true });
  try {
    const into = new Uint8Array(regularSize(file.statSync(), file));
    let at = 0;
    while (at < into.length) {
      const n = file.readSync(into.subarray(at));
      if (n === null) return into.subarray(0, at);
      at += n;
    }
    return into;
  } finally {
    try {
      file.close();
    } catch { /* closed already */ }
  }
}
