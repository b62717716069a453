/**
 * The deployable entry: `export default { fetch }` over the bundled model, for Deno Deploy and
 * `deno serve web/main.ts`. The model folder is `models/bert-sst2` beside the project root, or the folder in
 * the `BERTOLOGY_MODEL` environment variable; it is read once, at isolate start-up, never on the request path.
 *
 * @example Usage
 * ```sh
 * deno serve --allow-read --allow-env web/main.ts
 * ```
 *
 * @module
 */

import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { BUNDLED_MODEL_DIR } from "./_model_dir.ts";
import { type App, createLazyApp } from "./app.ts";

export { BUNDLED_MODEL_DIR };

/**
 * The model folder to serve: `BERTOLOGY_MODEL` when set (and readable), else {@linkcode BUNDLED_MODEL_DIR}.
 *
 * @returns a folder path
 * @example Usage
 * ```ts
 * import { modelDir } from "./main.ts";
 * typeof modelDir(); // "string"
 * ```
 */
export function modelDir(): string {
  try {
    return Deno.env.get("BERTOLOGY_MODEL") || BUNDLED_MODEL_DIR;
  } catch {
    return BUNDLED_MODEL_DIR; // no env permission: the bundled model
  }
}

/**
 * The weights' precision in memory: `BERTOLOGY_DTYPE` (`f32` or `f16`) when set and readable, else `f32`.
 * `f16` keeps a BERT-base analysis inside a 512 MB isolate.
 *
 * @returns `"f32"` or `"f16"`
 * @throws {Error} naming the variable for another value
 * @example Usage
 * ```ts
 * import { modelDtype } from "./main.ts";
 * ["f32", "f16"].includes(modelDtype()); // true
 * ```
 */
export function modelDtype(): "f32" | "f16" {
  let value: string | undefined;
  try {
    value = Deno.env.get("BERTOLOGY_DTYPE") || undefined;
  } catch {
    return "f32"; // no env permission
  }
  if (value === undefined || value === "f32" || value === "f16") return value ?? "f32";
  throw new Error(`BERTOLOGY_DTYPE must be f32 or f16, got "${value}"`);
}

/**
 * Builds the app over a model folder, loading it in the background; compute runs on a Worker that starts
 * with the first compute request (inline where Workers are missing).
 *
 * @param dir the model folder (HF layout with a tokenizer)
 * @param dtype the weights' precision in memory (see {@linkcode modelDtype})
 * @returns `{ fetch }`
 * @example Usage
 * ```ts ignore
 * const app = appForModelDir("tests/fixtures/models/bert-tiny-random");
 * ```
 */
export function appForModelDir(dir: string, dtype: "f32" | "f16" = "f32"): App {
  return createLazyApp(async () => {
    const { model, tokenizer, files } = await loadModel(localFiles(dir), { dtype });
    const name = dir.replace(/\/+$/, "").split("/").pop() || dir;
    // compute on a Worker where the runtime has them; inline otherwise (Deno Deploy)
    return { model, tokenizer: tokenizer!, name, files };
  });
}

const app: App = appForModelDir(modelDir(), modelDtype());

/** The app over the bundled (or configured) model. */
export default app;
