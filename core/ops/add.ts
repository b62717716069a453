/**
 * Element-wise sum of two tensors of the same shape (residual connections, embedding sums). Kernel `add`
 * (split over the worker pool); the backward adds dy into both inputs' gradients.
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface AddOp<T> {
  /** Element-wise sum of two tensors of the same shape (residual connections, embedding sums). */
  add(a: T, b: T): T;
}

/** The op's attributes, as the trace records them. */
export type AddAttrs = Record<string, never>;

/** The add op. */
export const add: OpDef<"add"> = {
  name: "add",
  wasm({ run }, a, b) {
    const k = run.k;
    requireDense(run, a, "add");
    requireDense(run, b, "add");
    const y = run.output(a.shape);
    k.add(y.ptr, a.ptr, b.ptr, a.size);
    run.derive(y, a, b);
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const dy = run.gradOf(y);
      if (run.requiresGrad(a)) {
        const da = run.gradOf(a);
        k.add(da, da, dy, a.size);
      }
      if (run.requiresGrad(b)) {
        const db = run.gradOf(b);
        k.add(db, db, dy, b.size);
      }
    });
    return y;
  },
  trace: (cx, a, b) => cx.record("add", [a, b], [a.shape], [], {})[0]!,
  onnx(cx, _op, _index, [a, b]) {
    // a [seq, C] position embedding broadcasts over the batch: the result has the longer shape
    const dims = a!.dims.length >= b!.dims.length ? a!.dims : b!.dims;
    return [{ name: cx.g.op("Add", [need("add", a, "a"), need("add", b, "b")]), dims }];
  },
  onnxBackward: ({ dy }) => [dy[0], dy[0]],
};
