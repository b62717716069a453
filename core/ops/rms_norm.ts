/**
 * RMSNorm over the feature axis (HF's `LlamaRMSNorm`, also Qwen2's and Mistral's, computed in f32):
 * `x / √(mean(x²) + ε) · (offset + γ)`, with `offset` 0 (Gemma's `1 + γ` would be 1). Kernels `rmsNormForward`
 * (saving each row's reciprocal RMS) / `rmsNormBackward` (`assembly/rms_norm.ts`).
 *
 * @module
 */

import type { EmitContext } from "../export/_emit.ts";
import type { GraphBuilder } from "../export/onnx_types.ts";
import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** An RMSNorm's parameters, by HF checkpoint key. */
export interface RmsNormParams {
  /** The scale γ. */
  weight: string;
  /** ε added to the mean square. */
  eps: number;
  /** Added to γ before scaling (default 0; Gemma's `1 + γ` is 1). */
  offset?: number;
}

/** How a family calls the op (one member of `ModelOps`). */
export interface RmsNormOp<T> {
  /** RMSNorm over the feature axis (Llama, Qwen2, Mistral). */
  rmsNorm(x: T, p: RmsNormParams): T;
}

/** The op's attributes, as the trace records them. */
export type RmsNormAttrs = { eps: number; offset: number };

/** The RMSNorm op. */
export const rmsNorm: OpDef<"rmsNorm"> = {
  name: "rmsNorm",
  wasm({ run, params }, x, p) {
    const k = run.k;
    requireDense(run, x, "rmsNorm");
    const weight = params.get(p.weight), offset = p.offset ?? 0;
    const C = x.shape[x.shape.length - 1]!;
    const rows = x.size / C;
    const y = run.output(x.shape);
    const rstd = run.output([rows]);
    k.rmsNormForward(y.ptr, rstd.ptr, x.ptr, params.f32(weight, 0), rows, C, p.eps, offset);
    run.derive(y, x);
    run.onBackward(() => {
      // weight gradients on means every activation requires its gradient: x's is always wanted then
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      const dW = run.paramGrads ? weight.grad : 0; // 0: not computed
      k.rmsNormBackward(run.gradOf(x), dW, run.gradOf(y), x.ptr, params.f32(weight, 0), rstd.ptr, rows, C, offset);
    });
    return y;
  },
  trace: (cx, x, p) => cx.record("rmsNorm", [x], [x.shape], [p.weight], { eps: p.eps, offset: p.offset ?? 0 })[0]!,
  onnx(cx, op, _index, [x]) {
    const g = cx.g;
    const xs = need("rmsNorm", x, "x");
    // γ · (x · 1/√(mean(x²) + ε)), HF's order
    const xhat = g.op("Mul", [xs, rmsReciprocal(cx.g, xs, op.attrs.eps)]);
    return [{ name: g.op("Mul", [scale(cx, op.weights[0]!, op.attrs.offset), xhat]), dims: x!.dims }];
  },
  onnxBackward({ cx, op, inputs, dy }) {
    const g = cx.g;
    const x = inputs[0]!.name!, dOut = dy[0]!;
    const mean = (v: string) => g.op("ReduceMean", [v], { axes: { ints: [-1] }, keepdims: { i: 1 } });
    const rstd = rmsReciprocal(g, x, op.attrs.eps);
    const xhat = g.op("Mul", [x, rstd]);
    // dx = rstd·(ĝ − x̂·mean(ĝ·x̂)), ĝ = dy·(offset + γ)
    const gh = g.op("Mul", [dOut, scale(cx, op.weights[0]!, op.attrs.offset)]);
    return [g.op("Mul", [rstd, g.op("Sub", [gh, g.op("Mul", [xhat, mean(g.op("Mul", [gh, xhat]))])])])];
  },
};

/** 1/√(mean(x²) + ε) over the last axis, kept as [.., 1]. */
function rmsReciprocal(g: GraphBuilder, x: string, eps: number): string {
  const ms = g.op("ReduceMean", [g.op("Mul", [x, x])], { axes: { ints: [-1] }, keepdims: { i: 1 } });
  return g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, g.scalar(eps)])])]);
}

/** offset + γ (γ itself when the offset is 0). */
function scale(cx: EmitContext, weight: string, offset: number): string {
  const w = cx.weight(weight);
  return offset === 0 ? w : cx.g.op("Add", [w, cx.g.scalar(offset)]);
}
