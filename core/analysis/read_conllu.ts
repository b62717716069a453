/**
 * Reads a CoNLL-U file from disk (Deno only; the parser itself is `conllu.ts`).
 *
 * @module
 */

import { readLocalFile } from "../checkpoint/local_files.ts";
import { type ConlluSentence, parseConllu } from "./conllu.ts";

/**
 * Reads a CoNLL-U file (Deno).
 *
 * @param path The file.
 * @returns Its sentences.
 * @throws {Error} naming the file when it cannot be read or parsed
 *
 * @example Usage
 * ```ts
 * import { readConllu } from "./read_conllu.ts";
 * const sentences = await readConllu("data/ud/en_ewt-ud-dev.conllu");
 * sentences.length; // 2001
 * ```
 */
export async function readConllu(path: string): Promise<ConlluSentence[]> {
  let text: string;
  try {
    const bytes = await readLocalFile(path);
    if (bytes === undefined) throw new Error("no such file");
    text = new TextDecoder().decode(bytes);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConllu(text, path);
}
