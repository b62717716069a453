/**
 * Helpers the ops' WASM rules share: the dense-input check, row gathers (embedding lookups, loss rows) and
 * the dense copy of a strided view.
 *
 * @module
 */

import type { Ptr } from "../kernels/types.ts";
import type { Param } from "../models/param_store.ts";
import type { Act, Run } from "../models/run.ts";
import type { WasmContext } from "./op.ts";

/** Kernels other than attention read dense rows: a strided view must not reach them. */
export function requireDense(run: Run, a: Act, op: string): void {
  if (!run.isContiguous(a)) {
    throw new Error(`${op}: needs a dense activation, got a strided view (use it in attention)`);
  }
}

/** Rows `src[rows[i]]` of a [N, C] table or activation → [...shape, C]; backward scatter-adds. */
export function gatherRows(
  cx: WasmContext,
  src: Param | Act,
  rows: Ptr,
  count: number,
  shape: readonly number[],
): Act {
  const run = cx.run, k = run.k;
  const C = src.shape[src.shape.length - 1]!;
  const y = run.output([...shape, C]);
  if ("name" in src && src.dtype !== "F32") gatherHalf(run, y.ptr, src, rows, count, C);
  else k.embeddingForward(y.ptr, src.ptr, rows, count, C);
  if (!("name" in src)) run.derive(y, src);
  run.onBackward(() => {
    if (!run.hasGrad(y)) return;
    if ("name" in src) {
      if (run.paramGrads && src.grad !== 0) k.embeddingBackward(src.grad, run.gradOf(y), rows, count, C);
    } else if (run.requiresGrad(src)) k.embeddingBackward(run.gradOf(src), run.gradOf(y), rows, count, C);
  });
  return y;
}

/** The rows of an F16/BF16 table, widened one row each (the whole table is never widened). */
function gatherHalf(run: Run, out: Ptr, table: Param, rows: Ptr, count: number, C: number): void {
  const k = run.k, bfloat = table.dtype === "BF16";
  const ids = k.mem.i32(rows, count).slice();
  for (let r = 0; r < count; r++) k.halfToFloat(out + 4 * r * C, table.ptr, ids[r]! * C, C, bfloat);
}

/** A dense copy of a strided view (row by row); backward adds the rows back. Dense input: returned as is. */
export function denseCopy(run: Run, a: Act): Act {
  const k = run.k;
  if (run.isContiguous(a)) return a;
  const C = a.shape[a.shape.length - 1]!, rows = a.size / C, stride = a.rowStride;
  const y = run.output(a.shape);
  for (let r = 0; r < rows; r++) k.copy(y.ptr + 4 * r * C, a.ptr + 4 * r * stride, C);
  run.derive(y, a);
  run.onBackward(() => {
    if (!run.hasGrad(y) || !run.requiresGrad(a)) return;
    const dy = run.gradOf(y), da = run.gradOf(a);
    for (let r = 0; r < rows; r++) k.add(da + 4 * r * stride, da + 4 * r * stride, dy + 4 * r * C, C);
  });
  return y;
}
