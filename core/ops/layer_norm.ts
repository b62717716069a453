/**
 * LayerNorm over the feature axis, `γ ⊙ (x − μ)·rstd + β`. Kernels `layerNormForward` (saving the row means
 * and reciprocal standard deviations) / `layerNormBackward` (`assembly/layer_norm.ts`).
 *
 * @module
 */

import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** A LayerNorm's parameters, by HF checkpoint key. */
export interface LayerNormParams {
  /** The scale γ. */
  weight: string;
  /** The shift β. */
  bias: string;
  /** ε added to the variance. */
  eps: number;
}

/** How a family calls the op (one member of `ModelOps`). */
export interface LayerNormOp<T> {
  /** LayerNorm over the feature axis. */
  layerNorm(x: T, p: LayerNormParams): T;
}

/** The op's attributes, as the trace records them. */
export type LayerNormAttrs = { eps: number };

/** The LayerNorm op. */
export const layerNorm: OpDef<"layerNorm"> = {
  name: "layerNorm",
  wasm({ run, params }, x, p) {
    const k = run.k;
    requireDense(run, x, "layerNorm");
    const weight = params.get(p.weight), bias = params.get(p.bias);
    const C = x.shape[x.shape.length - 1]!;
    const rows = x.size / C;
    const y = run.output(x.shape);
    const mean = run.output([rows]);
    const rstd = run.output([rows]);
    k.layerNormForward(y.ptr, mean.ptr, rstd.ptr, x.ptr, params.f32(weight, 0), params.f32(bias, 1), rows, C, p.eps);
    run.derive(y, x);
    run.onBackward(() => {
      // weight gradients on means every activation requires its gradient: x's is always wanted then
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      const dW = run.paramGrads ? weight.grad : 0; // 0: not computed
      const dB = run.paramGrads ? bias.grad : 0;
      const w = params.f32(weight, 0);
      k.layerNormBackward(run.gradOf(x), dW, dB, run.gradOf(y), x.ptr, w, mean.ptr, rstd.ptr, rows, C);
    });
    return y;
  },
  trace: (cx, x, p) => cx.record("layerNorm", [x], [x.shape], [p.weight, p.bias], { eps: p.eps })[0]!,
  onnx(cx, op, _index, [x]) {
    const name = cx.g.op("LayerNormalization", [
      need("layerNorm", x, "x"),
      cx.weight(op.weights[0]!),
      cx.weight(op.weights[1]!),
    ], { axis: { i: -1 }, epsilon: { f: op.attrs.eps } });
    return [{ name, dims: x!.dims }];
  },
  onnxBackward({ cx, op, inputs, dy }) {
    const g = cx.g;
    const x = inputs[0]!.name!, dOut = dy[0]!;
    const eps = op.attrs.eps;
    const mean = (v: string) => g.op("ReduceMean", [v], { axes: { ints: [-1] }, keepdims: { i: 1 } });
    // recompute the normalised input: x̂ = (x − μ)·rstd
    const xc = g.op("Sub", [x, mean(x)]);
    const rstd = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [mean(g.op("Mul", [xc, xc])), g.scalar(eps)])])]);
    const xhat = g.op("Mul", [xc, rstd]);
    // dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = dy·γ
    const gh = g.op("Mul", [dOut, cx.weight(op.weights[0]!)]);
    const t = g.op("Sub", [g.op("Sub", [gh, mean(gh)]), g.op("Mul", [xhat, mean(g.op("Mul", [gh, xhat]))])]);
    return [g.op("Mul", [rstd, t])];
  },
};
