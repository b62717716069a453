/**
 * A linear layer `x · W (+ b)` over the feature axis, with W stored as nn.Linear `[out, in]` or GPT's Conv1D
 * `[in, out]`. Kernel `matmul` (packed, split over the worker pool); the backward accumulates dx = dy·op(W)ᵀ and,
 * when parameter gradients are on, dW and db.
 *
 * @module
 */

import { MatmulFlags } from "../kernels/types.ts";
import { numel } from "../tensor.ts";
import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { requireDense } from "./_wasm.ts";

/** How a linear layer's weight is stored: `linear` = nn.Linear `[out, in]`; `conv1d` = GPT's Conv1D `[in, out]`. */
export type WeightLayout = "linear" | "conv1d";

/** A linear layer's parameters, by HF checkpoint key. */
export interface LinearParams {
  /** The weight's key. */
  weight: string;
  /** The bias's key (none for a tied LM head). */
  bias?: string;
  /** The weight's storage layout. */
  layout: WeightLayout;
}

/** How a family calls the op (one member of `ModelOps`). */
export interface LinearOp<T> {
  /** x · W (+ b) over the feature axis, W in the layout given. */
  linear(x: T, p: LinearParams): T;
}

/** The op's attributes, as the trace records them. */
export type LinearAttrs = { layout: WeightLayout };

/** The linear op. */
export const linear: OpDef<"linear"> = {
  name: "linear",
  wasm({ run, params }, x, p) {
    const k = run.k;
    requireDense(run, x, "linear");
    const W = params.get(p.weight);
    const b = p.bias === undefined ? undefined : params.get(p.bias);
    const transposed = p.layout === "linear"; // nn.Linear stores [out, in]
    const K = transposed ? W.shape[1]! : W.shape[0]!;
    const N = transposed ? W.shape[0]! : W.shape[1]!;
    const rows = numel(x.shape.slice(0, -1));
    const shape = [...x.shape.slice(0, -1), N];
    // a projection to fewer features than it reads (the MLP's output): a recomputed block keeps its output, and
    // its second pass takes it instead of multiplying again
    const narrowing = N < K;
    const replayed = narrowing ? run.replayed() : undefined;
    const y = replayed ?? (K === 0 ? run.act(shape) : run.output(shape)); // K = 0: the bias added onto zeros
    if (replayed === undefined && K === 0) {
      // a layer whose heads are all pruned: only the bias is left
      if (b) k.addBias(y.ptr, y.ptr, params.f32(b, 1), rows, N);
    } else if (replayed === undefined) {
      const flags = transposed ? MatmulFlags.TRANS_B : 0;
      k.matmul(y.ptr, x.ptr, params.f32(W, 0), b ? params.f32(b, 1) : 0, rows, K, N, flags);
      if (narrowing) run.keepForReplay(y);
    }
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const dy = run.gradOf(y);
      if (K > 0 && run.requiresGrad(x)) {
        // dx += dy · op(W)ᵀ
        const flags = MatmulFlags.ACCUMULATE | (transposed ? 0 : MatmulFlags.TRANS_B);
        k.matmul(run.gradOf(x), dy, params.f32(W, 0), 0, rows, N, K, flags);
        if (run.paramGrads && W.grad !== 0) {
          if (transposed) k.matmul(W.grad, dy, x.ptr, 0, N, rows, K, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
          else k.matmul(W.grad, x.ptr, dy, 0, K, rows, N, MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE);
        }
      }
      if (run.paramGrads && b && b.grad !== 0) k.biasBackward(b.grad, dy, rows, N);
    });
    return y;
  },
  trace(cx, x, p) {
    const W = cx.weightShape(p.weight);
    const [K, N] = p.layout === "linear" ? [W[1]!, W[0]!] : [W[0]!, W[1]!];
    const inner = x.shape[x.shape.length - 1];
    if (inner !== K) {
      throw new Error(`linear "${p.weight}": input has ${String(inner)} features, the weight takes ${K}`);
    }
    const weights = p.bias === undefined ? [p.weight] : [p.weight, p.bias];
    return cx.record("linear", [x], [[...x.shape.slice(0, -1), N]], weights, { layout: p.layout })[0]!;
  },
  onnx(cx, op, _index, [x]) {
    const g = cx.g;
    const key = op.weights[0]!, bias = op.weights[1];
    const W = cx.weights.get(key);
    if (W === undefined) throw new Error(`ONNX export: weight "${key}" is missing from the checkpoint`);
    const [K, N] = op.attrs.layout === "linear" ? [W.shape[1]!, W.shape[0]!] : [W.shape[0]!, W.shape[1]!];
    const dims = [...x!.dims.slice(0, -1), N];
    if (N === 0) return [{ name: undefined, dims }];
    if (K === 0) {
      // a layer whose heads are all pruned: only the bias is left
      const zero = cx.zeros(dims);
      return [{ name: bias === undefined ? zero : g.op("Add", [zero, cx.weight(bias)]), dims }];
    }
    const w = op.attrs.layout === "linear" ? cx.weightT(key) : cx.weight(key);
    const y = g.op("MatMul", [need("linear", x, "x"), w]);
    return [{ name: bias === undefined ? y : g.op("Add", [y, cx.weight(bias)]), dims }];
  },
  onnxBackward({ cx, op, inputs, dy }) {
    const x = inputs[0]!;
    if (x.name === undefined || dy[0] === undefined) return [undefined];
    const key = op.weights[0]!;
    // y = x·Wᵀ for nn.Linear [out, in] (dx = dy·W), y = x·W for Conv1D [in, out] (dx = dy·Wᵀ)
    const w = op.attrs.layout === "linear" ? cx.weight(key) : cx.weightT(key);
    return [cx.g.op("MatMul", [dy[0], w])];
  },
};
