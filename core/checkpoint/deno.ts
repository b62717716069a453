/**
 * The Deno-only checkpoint sources and writers: {@linkcode localFiles} (a folder) and {@linkcode hubFiles} /
 * {@linkcode resolveModel} (the Hugging Face hub through a local cache). Kept apart from `mod.ts` so that
 * browser bundles never import Deno APIs.
 *
 * @example Usage
 * ```ts
 * import { loadWeights } from "./mod.ts";
 * import { resolveModel } from "./deno.ts";
 * const weights = await loadWeights(resolveModel("tests/fixtures/models/bert-tiny-random"));
 * ```
 *
 * @module
 */

export * from "./hub.ts";
export * from "./local_files.ts";
export * from "./save_checkpoint.ts";
export * from "./output_dir_fs.ts";
