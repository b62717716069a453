/**
 * Splits a fused projection [.., 3·H·D] (GPT's `c_attn`) into q, k, v [.., H·D]: three strided views, no copy
 * (attention reads them with one row stride).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { lastDim, need } from "./_onnx.ts";

/** How a family calls the op (one member of `ModelOps`). */
export interface SplitQKVOp<T> {
  /** Splits a fused projection [.., 3·H·D] (GPT's `c_attn`) into q, k, v [.., H·D]. */
  splitQKV(x: T, heads: number): [T, T, T];
}

/** The op's attributes, as the trace records them. */
export type SplitQKVAttrs = { heads: number };

/** The q|k|v split op. */
export const splitQKV: OpDef<"splitQKV"> = {
  name: "splitQKV",
  wasm({ run }, x, heads) {
    const width = x.shape[x.shape.length - 1]!;
    if (width % 3 !== 0 || (heads > 0 && (width / 3) % heads !== 0)) {
      throw new Error(`splitQKV: a fused projection of width ${width} does not split into 3 × ${heads} heads`);
    }
    const HD = width / 3;
    return [run.view(x, 0, HD), run.view(x, HD, HD), run.view(x, 2 * HD, HD)];
  },
  trace(cx, x, heads) {
    const width = x.shape[x.shape.length - 1] as number;
    const shape = [...x.shape.slice(0, -1), width / 3];
    return cx.record("splitQKV", [x], [shape, shape, shape], [], { heads }) as [
      typeof x,
      typeof x,
      typeof x,
    ];
  },
  onnx(cx, _op, _index, [x]) {
    const HD = lastDim(x!.dims) / 3;
    const dims = [...x!.dims.slice(0, -1), HD];
    if (HD === 0) return [0, 1, 2].map(() => ({ name: undefined, dims }));
    const outs = cx.g.node("Split", [need("splitQKV", x, "x"), cx.g.ints([HD, HD, HD])], { axis: { i: -1 } }, 3);
    return outs.map((name) => ({ name, dims }));
  },
  onnxBackward({ cx, outputs, dy }) {
    if (outputs[0]!.name === undefined) return [undefined];
    const g = cx.g;
    const parts = dy.map((d, i) => d ?? g.op("Mul", [outputs[i]!.name!, g.scalar(0)]));
    return [g.op("Concat", parts, { axis: { i: -1 } })];
  },
};
