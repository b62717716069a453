/**
 * ReLU: `max(x, 0)` (DistilBERT's classifier head, `relu` MLPs). Kernels `reluForward` / `reluBackward`
 * (`assembly/gelu.ts`); the gradient passes where x > 0 (0 at x = 0, as PyTorch).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface ReluOp<T> {
  /** max(x, 0) (DistilBERT's classifier head, `relu` MLPs). */
  relu(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type ReluAttrs = Record<string, never>;

/** The ReLU op. */
export const relu: OpDef<"relu"> = {
  name: "relu",
  wasm({ run }, x) {
    const k = run.k;
    requireDense(run, x, "relu");
    const y = run.output(x.shape);
    k.reluForward(y.ptr, x.ptr, x.size);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.reluBackward(run.gradOf(x), x.ptr, run.gradOf(y), x.size);
    });
    return y;
  },
  trace: (cx, x) => cx.record("relu", [x], [x.shape], [], {})[0]!,
  onnx(cx, _op, _index, [x]) {
    if (x?.name === undefined) return [{ name: undefined, dims: x!.dims }]; // an all-pruned MLP
    return [{ name: cx.g.op("Relu", [x.name]), dims: x.dims }];
  },
  onnxBackward({ cx, inputs, dy }) {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined];
    // dy where x > 0, else 0
    const g = cx.g;
    const pass = g.op("Cast", [g.op("Greater", [inputs[0]!.name!, g.scalar(0)])], { to: { i: 1 } });
    return [g.op("Mul", [dy[0]!, pass])];
  },
};
