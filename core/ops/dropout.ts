/**
 * Training dropout at one of HF's dropout sites; the identity at evaluation. Kernels `dropoutForward` (a
 * counter-based mask, seeded per site) / `dropoutBackward`.
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { requireDense } from "./_wasm.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface DropoutOp<T> {
  /** Training dropout at one of HF's dropout sites; the identity at evaluation. */
  dropout(x: T): T;
}

/** The op's attributes, as the trace records them. */
export type DropoutAttrs = Record<string, never>;

/** The dropout op. */
export const dropout: OpDef<"dropout"> = {
  name: "dropout",
  wasm(cx, x) {
    const run = cx.run, k = run.k;
    const d = run.dropout;
    if (d === undefined) return x;
    requireDense(run, x, "dropout");
    // the i-th site of a run draws from seed hash(seed, i): every site gets an independent mask
    const i = cx.nextDropoutSite();
    const seed = (Math.imul(d.seed >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca77)) >>> 0;
    const y = run.output(x.shape);
    const mask = run.output(x.shape);
    k.dropoutForward(y.ptr, mask.ptr, x.ptr, x.size, d.p, seed);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.dropoutBackward(run.gradOf(x), mask.ptr, run.gradOf(y), x.size);
    });
    return y;
  },
  trace: (cx, x) => cx.record("dropout", [x], [x.shape], [], {})[0]!,
  onnx: (_cx, _op, _index, [x]) => [x!], // evaluation: the identity
  onnxBackward: ({ dy }) => [dy[0]],
};
