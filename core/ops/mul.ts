/**
 * Element-wise product of two tensors of the same shape (the gated MLP's `silu(gate(x)) * up(x)`). Kernels
 * `mulForward` / `mulBackward` (`assembly/silu.ts`): the backward adds dy ⊙ b into a's gradient and dy ⊙ a into
 * b's.
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface MulOp<T> {
  /** Element-wise product of two tensors of the same shape (the gated MLP's `silu(gate(x)) * up(x)`). */
  mul(a: T, b: T): T;
}

/** The op's attributes, as the trace records them. */
export type MulAttrs = Record<string, never>;

/** The element-wise product op. */
export const mul: OpDef<"mul"> = {
  name: "mul",
  wasm({ run }, a, b) {
    const k = run.k;
    requireDense(run, a, "mul");
    requireDense(run, b, "mul");
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
      throw new Error(`mul: the factors must have one shape, got [${a.shape}] and [${b.shape}]`);
    }
    const y = run.output(a.shape);
    k.mulForward(y.ptr, a.ptr, b.ptr, a.size);
    run.derive(y, a, b);
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const da = run.requiresGrad(a) ? run.gradOf(a) : 0, db = run.requiresGrad(b) ? run.gradOf(b) : 0;
      if (da !== 0 || db !== 0) k.mulBackward(da, db, run.gradOf(y), a.ptr, b.ptr, a.size);
    });
    return y;
  },
  trace: (cx, a, b) => cx.record("mul", [a, b], [a.shape], [], {})[0]!,
  onnx(cx, _op, _index, [a, b]) {
    // an MLP whose neurons are all pruned has empty factors: nothing to compute
    if (a?.name === undefined || b?.name === undefined) return [{ name: undefined, dims: a!.dims }];
    return [{ name: cx.g.op("Mul", [a.name, b.name]), dims: a.dims }];
  },
  onnxBackward({ cx, inputs, dy }) {
    const a = inputs[0]!.name, b = inputs[1]!.name, d = dy[0];
    if (a === undefined || b === undefined || d === undefined) return [undefined, undefined];
    return [cx.g.op("Mul", [d, b]), cx.g.op("Mul", [d, a])];
  },
};
