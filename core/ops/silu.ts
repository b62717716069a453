/**
 * SiLU (swish): `x·sigmoid(x)` (HF's `silu`, the gated MLP's activation in Llama, Qwen2, Mistral). Kernels
 * `siluForward` / `siluBackward` (`assembly/silu.ts`).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface SiluOp<T> {
  /** x·sigmoid(x) (the gated MLP's activation). */
  silu(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type SiluAttrs = Record<string, never>;

/** The SiLU op. */
export const silu: OpDef<"silu"> = {
  name: "silu",
  wasm({ run }, x) {
    const k = run.k;
    requireDense(run, x, "silu");
    const y = run.output(x.shape);
    k.siluForward(y.ptr, x.ptr, x.size);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.siluBackward(run.gradOf(x), x.ptr, run.gradOf(y), x.size);
    });
    return y;
  },
  trace: (cx, x) => cx.record("silu", [x], [x.shape], [], {})[0]!,
  onnx(cx, _op, _index, [x]) {
    if (x?.name === undefined) return [{ name: undefined, dims: x!.dims }]; // an all-pruned MLP
    return [{ name: cx.g.op("Mul", [x.name, cx.g.op("Sigmoid", [x.name])]), dims: x.dims }];
  },
  onnxBackward({ cx, inputs, dy }) {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined];
    // silu' = s·(1 + x·(1 − s)), s = sigmoid(x)
    const g = cx.g, x = inputs[0]!.name!;
    const s = g.op("Sigmoid", [x]);
    const d = g.op("Mul", [s, g.op("Add", [g.op("Mul", [x, g.op("Sub", [g.scalar(1), s])]), g.scalar(1)])]);
    return [g.op("Mul", [dy[0]!, d])];
  },
};
