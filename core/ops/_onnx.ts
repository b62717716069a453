/**
 * Helpers the ops' ONNX rules share (no protobuf here: a model that only runs never loads the encoder).
 *
 * @module
 */

import type { Emitted } from "../export/_emit.ts";
import type { OnnxDim } from "../export/onnx_types.ts";

/** The ONNX name of an input that must not be empty (a zero-width value has none). */
export function need(op: string, e: Emitted | undefined, what: string): string {
  if (e?.name === undefined) throw new Error(`ONNX export: ${op} reads an empty value (${what})`);
  return e.name;
}

/** The fixed size of a value's feature axis. */
export function lastDim(d: readonly OnnxDim[]): number {
  const n = d[d.length - 1];
  if (typeof n !== "number") throw new Error(`ONNX export: expected a fixed feature axis, got "${String(n)}"`);
  return n;
}
