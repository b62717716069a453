/**
 * {@linkcode ModelFiles} over a local folder. Deno only (uses `Deno.readFile`); import it from `deno.ts`.
 *
 * @module
 */

import { excerpt } from "./_describe.ts";
import { join } from "node:path";
import { isSafeFileName, type ModelFiles } from "./files.ts";

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
  };
}
