/**
 * GELU, erf form `0.5·x·(1 + erf(x/√2))` (BERT's `gelu`) or tanh form
 * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (GPT-2's `gelu_new`). Kernels `geluForward` / `geluBackward`
 * (`assembly/gelu.ts`, split over the worker pool).
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";
import type { GraphBuilder } from "../export/onnx_types.ts";
import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface GeluOp<T> {
  /** GELU, erf or tanh form. */
  gelu(x: T, kind: GeluKind): T;
}

/** The op's attributes, as the trace records them. */
export type GeluAttrs = { kind: GeluKind };

/** The GELU op. */
export const gelu: OpDef<"gelu"> = {
  name: "gelu",
  wasm({ run }, x, kind) {
    const k = run.k;
    requireDense(run, x, "gelu");
    const y = run.output(x.shape);
    k.geluForward(y.ptr, x.ptr, x.size, kind);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.geluBackward(run.gradOf(x), x.ptr, run.gradOf(y), x.size, kind);
    });
    return y;
  },
  trace: (cx, x, kind) => cx.record("gelu", [x], [x.shape], [], { kind })[0]!,
  onnx(cx, op, _index, [x]) {
    // an MLP whose neurons are all pruned has an empty activation: nothing to compute
    if (x?.name === undefined) return [{ name: undefined, dims: x!.dims }];
    return [{ name: geluNodes(cx.g, x.name, op.attrs.kind), dims: x.dims }];
  },
  onnxBackward({ cx, op, inputs, dy }) {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined]; // an empty (all-pruned) MLP
    const g = cx.g;
    const x = inputs[0]!.name!;
    let d: string;
    if (op.attrs.kind === "erf") {
      // Φ(x) + x·φ(x)
      const cdf = g.op("Mul", [
        g.op("Add", [g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2)])]), g.scalar(1)]),
        g.scalar(0.5),
      ]);
      const pdf = g.op("Mul", [
        g.op("Exp", [g.op("Mul", [g.op("Mul", [x, x]), g.scalar(-0.5)])]),
        g.scalar(1 / Math.sqrt(2 * Math.PI)),
      ]);
      d = g.op("Add", [cdf, g.op("Mul", [x, pdf])]);
    } else {
      // t = tanh(c·(x + 0.044715·x³)): 0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3·0.044715·x²)
      const c = Math.sqrt(2 / Math.PI);
      const x2 = g.op("Mul", [x, x]);
      const u = g.op("Mul", [g.op("Add", [x, g.op("Mul", [g.op("Mul", [x2, x]), g.scalar(0.044715)])]), g.scalar(c)]);
      const t = g.op("Tanh", [u]);
      const left = g.op("Mul", [g.op("Add", [t, g.scalar(1)]), g.scalar(0.5)]);
      const sech2 = g.op("Sub", [g.scalar(1), g.op("Mul", [t, t])]);
      const du = g.op("Mul", [g.op("Add", [g.op("Mul", [x2, g.scalar(3 * 0.044715)]), g.scalar(1)]), g.scalar(c)]);
      d = g.op("Add", [left, g.op("Mul", [g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), sech2]), du])]);
    }
    return [g.op("Mul", [dy[0]!, d])];
  },
};

/** GELU as ONNX nodes, erf or tanh form. */
function geluNodes(g: GraphBuilder, x: string, kind: GeluKind): string {
  const half = g.op("Mul", [x, g.scalar(0.5)]);
  let inner: string;
  if (kind === "erf") inner = g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2)])]);
  else {
    const x3 = g.op("Mul", [g.op("Mul", [x, x]), x]);
    const u = g.op("Mul", [g.op("Add", [x, g.op("Mul", [x3, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
    inner = g.op("Tanh", [u]);
  }
  return g.op("Mul", [half, g.op("Add", [inner, g.scalar(1)])]);
}
