/**
 * Where the bundled model lives.
 *
 * @module
 */

/** The bundled model folder (`models/bert-sst2` at the project root), as a path. */
export const BUNDLED_MODEL_DIR: string = decodeURIComponent(new URL("../models/bert-sst2", import.meta.url).pathname);
