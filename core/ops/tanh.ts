/**
 * tanh (BERT's pooler, RoBERTa's classifier head). Kernels `tanhForward` / `tanhBackward`
 * (`assembly/gelu.ts`); the backward reads the saved output: d tanh = (1 − y²).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface TanhOp<T> {
  /** tanh (BERT's pooler). */
  tanh(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type TanhAttrs = Record<string, never>;

/** The tanh op. */
export const tanh: OpDef<"tanh"> = {
  name: "tanh",
  wasm({ run }, x) {
    const k = run.k;
    requireDense(run, x, "tanh");
    const y = run.output(x.shape);
    k.tanhForward(y.ptr, x.ptr, x.size);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.tanhBackward(run.gradOf(x), y.ptr, run.gradOf(y), x.size);
    });
    return y;
  },
  trace: (cx, x) => cx.record("tanh", [x], [x.shape], [], {})[0]!,
  onnx: (cx, _op, _index, [x]) => [{ name: cx.g.op("Tanh", [need("tanh", x, "x")]), dims: x!.dims }],
  onnxBackward({ cx, outputs, dy }) {
    const g = cx.g;
    const y = outputs[0]!.name!;
    return [g.op("Mul", [dy[0]!, g.op("Sub", [g.scalar(1), g.op("Mul", [y, y])])])];
  },
};
