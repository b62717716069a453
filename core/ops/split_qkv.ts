/**
 * Splits a fused projection [.., 3·H·D] into q, k, v [.., H·D], in one of two layouts:
 *
 * - `blocks` (GPT-2, OpenAI GPT: `c_attn`) — [q | k | v], each H·D wide: three strided views, no copy
 *   (attention reads them with one row stride);
 * - `heads` (GPT-NeoX: `query_key_value`, which HF views as [.., H, 3·D] and chunks per head) — each head's
 *   q, k and v side by side, [q_0 k_0 v_0 | q_1 k_1 v_1 | …]: q, k and v are gathered into dense [.., H·D]
 *   (one D-wide row per position and head, the embedding gather kernel; backward scatter-adds them back).
 *
 * The checkpoint keeps its own layout either way — pruning, saving and the ONNX initializers see HF's tensor —
 * so the layout is the op's business, not the loader's.
 *
 * @module
 */

import type { Act, Run } from "../models/run.ts";
import type { OpDef } from "./op.ts";
import { lastDim, need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** How q, k and v lie in a fused projection (see the module doc). */
export type QKVLayout = "blocks" | "heads";

/** How a family calls the op (one member of `ModelOps`). */
export interface SplitQKVOp<T> {
  /**
   * Splits a fused projection [.., 3·H·D] into q, k, v [.., H·D]: `blocks` [q | k | v] (GPT's `c_attn`, the
   * default) or `heads` [q_h k_h v_h for each head h] (GPT-NeoX's `query_key_value`).
   */
  splitQKV(x: T, heads: number, layout?: QKVLayout): [T, T, T];
}

/** The op's attributes, as the trace records them (`layout` absent: `blocks`). */
export type SplitQKVAttrs = { heads: number; layout?: "heads" };

function checkWidth(width: number, heads: number, layout: QKVLayout): void {
  if (layout !== "blocks" && layout !== "heads") {
    throw new Error(`splitQKV: layout must be "blocks" or "heads", got ${JSON.stringify(layout)}`);
  }
  const perHead = heads > 0 ? (width / 3) % heads === 0 : layout === "blocks" || width === 0;
  if (width % 3 !== 0 || !perHead) {
    throw new Error(`splitQKV: a fused projection of width ${width} does not split into 3 × ${heads} heads`);
  }
}

/** The `heads` layout on the kernels: q, k, v each gathered from the D-wide rows of the fused projection. */
function splitPerHead(run: Run, x: Act, H: number, HD: number): [Act, Act, Act] {
  const k = run.k;
  const shape = [...x.shape.slice(0, -1), HD];
  if (HD === 0) return [run.output(shape), run.output(shape), run.output(shape)];
  requireDense(run, x, "splitQKV");
  const D = HD / H, units = (x.size / (3 * HD)) * H; // (position, head) pairs
  return [0, 1, 2].map((j) => {
    // x viewed as [units·3, D]: part j of head h at position r is row (r·H + h)·3 + j
    const rows = new Int32Array(units);
    for (let u = 0; u < units; u++) rows[u] = 3 * u + j;
    const ids = run.ints(rows);
    const y = run.output(shape);
    k.embeddingForward(y.ptr, x.ptr, ids, units, D);
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      k.embeddingBackward(run.gradOf(x), run.gradOf(y), ids, units, D);
    });
    return y;
  }) as [Act, Act, Act];
}

/** The q|k|v split op. */
export const splitQKV: OpDef<"splitQKV"> = {
  name: "splitQKV",
  wasm({ run }, x, heads, layout = "blocks") {
    const width = x.shape[x.shape.length - 1]!;
    checkWidth(width, heads, layout);
    const HD = width / 3;
    if (layout === "heads") return splitPerHead(run, x, heads, HD);
    return [run.view(x, 0, HD), run.view(x, HD, HD), run.view(x, 2 * HD, HD)];
  },
  trace(cx, x, heads, layout = "blocks") {
    const width = x.shape[x.shape.length - 1] as number;
    checkWidth(width, heads, layout);
    const shape = [...x.shape.slice(0, -1), width / 3];
    const attrs: SplitQKVAttrs = layout === "heads" ? { heads, layout } : { heads };
    return cx.record("splitQKV", [x], [shape, shape, shape], [], attrs) as [typeof x, typeof x, typeof x];
  },
  onnx(cx, op, _index, [x]) {
    const HD = lastDim(x!.dims) / 3;
    const dims = [...x!.dims.slice(0, -1), HD];
    if (HD === 0) return [0, 1, 2].map(() => ({ name: undefined, dims }));
    const g = cx.g, input = need("splitQKV", x, "x");
    if (op.attrs.layout !== "heads") {
      const outs = g.node("Split", [input, g.ints([HD, HD, HD])], { axis: { i: -1 } }, 3);
      return outs.map((name) => ({ name, dims }));
    }
    // [batch, seq, H·3D] → [batch, seq, H, 3D], split the last axis per head, back to [batch, seq, H·D]
    const H = op.attrs.heads, D = HD / H;
    const perHead = g.op("Reshape", [input, g.ints([0, 0, H, 3 * D])]);
    const parts = g.node("Split", [perHead, g.ints([D, D, D])], { axis: { i: -1 } }, 3);
    return parts.map((p) => ({ name: g.op("Reshape", [p, g.ints([0, 0, HD])]), dims }));
  },
  onnxBackward({ cx, op, outputs, dy }) {
    if (outputs[0]!.name === undefined) return [undefined];
    const g = cx.g;
    const parts = dy.map((d, i) => d ?? g.op("Mul", [outputs[i]!.name!, g.scalar(0)]));
    if (op.attrs.layout !== "heads") return [g.op("Concat", parts, { axis: { i: -1 } })];
    const H = op.attrs.heads, HD = lastDim(outputs[0]!.dims), D = HD / H;
    const perHead = parts.map((p) => g.op("Reshape", [p, g.ints([0, 0, H, D])]));
    return [g.op("Reshape", [g.op("Concat", perHead, { axis: { i: -1 } }), g.ints([0, 0, 3 * HD])])];
  },
};
