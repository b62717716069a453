/**
 * Each sequence's first position [batch, pos, C] → [batch, C] (`[CLS]`, `<s>`: what a classification head reads).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface FirstTokenOp<T> {
  /** Each sequence's first position [batch, pos, C] → [batch, C] (BERT's `[CLS]`). */
  firstToken(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type FirstTokenAttrs = Record<string, never>;

/** The first-token op. */
export const firstToken: OpDef<"firstToken"> = {
  name: "firstToken",
  wasm({ run }, x) {
    const k = run.k;
    requireDense(run, x, "firstToken");
    const [B, T, C] = x.shape as [number, number, number];
    const y = run.output([B, C]);
    for (let b = 0; b < B; b++) k.copy(y.ptr + 4 * b * C, x.ptr + 4 * b * T * C, C);
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      const dy = run.gradOf(y);
      const dx = run.gradOf(x);
      for (let b = 0; b < B; b++) k.add(dx + 4 * b * T * C, dx + 4 * b * T * C, dy + 4 * b * C, C);
    });
    return y;
  },
  trace: (cx, x) => cx.record("firstToken", [x], [[x.shape[0]!, x.shape[2]!]], [], {})[0]!,
  onnx: (cx, _op, _index, [x]) => [{
    name: cx.g.op("Gather", [need("firstToken", x, "x"), cx.g.ints([0], [])], { axis: { i: 1 } }),
    dims: [x!.dims[0]!, x!.dims[2]!],
  }],
  onnxBackward({ cx, dy }) {
    // dx[b, t] = dy[b] at t = 0, else 0
    const g = cx.g;
    const first = g.cached("first_position", () => {
      const isFirst = g.op("Equal", [cx.positions(), g.ints([0], [])]);
      return g.op("Unsqueeze", [g.op("Cast", [isFirst], { to: { i: 1 } }), g.ints([0, 2])]); // [1, T, 1]
    });
    return [g.op("Mul", [g.op("Unsqueeze", [dy[0]!, g.ints([1])]), first])];
  },
};
