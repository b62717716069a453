/**
 * The CLI's `--backend` flag: our WASM engine or an ONNX Runtime backend (`@bertology/core/export/runtime`
 * loads the runtime and opens the exported model).
 *
 * @module
 */

import { type BackendName, BACKENDS, isBackendName } from "@bertology/core/export/runtime";
import { UsageError } from "./_common.ts";

/**
 * Checks a `--backend` value.
 *
 * @param value the flag's value (default `wasm`)
 * @returns the backend name
 * @throws {UsageError} for an unknown backend, listing the known ones
 */
export function parseBackend(value: string | undefined): BackendName {
  const v = value ?? "wasm";
  if (!isBackendName(v)) throw new UsageError(`--backend takes ${BACKENDS.join(", ")}, got "${v}"`);
  return v;
}
