/**
 * The backward rules of the ONNX exporter: for each semantic op, the ONNX nodes that turn the gradient of its
 * output into the gradients of its inputs — only activations, never weights (the head-mask gradient needs
 * none). `export.ts` applies them over the trace in reverse; each attention adds its layer's dL/dhead_mask.
 * Private to `export.ts`.
 *
 * @module
 */

import type { GeluKind } from "../kernels/types.ts";
import type { AttentionSpec, WeightLayout } from "../models/ops.ts";
import type { TracedOp } from "../models/trace_ops.ts";
import type { EmitContext, Emitted } from "./_emit.ts";

/** What a rule is given: the op, its emitted inputs and outputs, and its outputs' gradients. */
export interface BackwardArgs {
  /** The exporter's state. */
  cx: EmitContext;
  /** The op. */
  op: TracedOp;
  /** Its index in the trace (where its saved values are). */
  index: number;
  /** Its emitted inputs. */
  inputs: Emitted[];
  /** Its emitted outputs. */
  outputs: Emitted[];
  /** dL/d(output i), `undefined` where no gradient reaches it. */
  dy: Array<string | undefined>;
  /** Receives layer `l`'s dL/d(head mask of its kept heads), [H_l]. */
  headMaskGrad: (layer: number, grad: string) => void;
}

/** dL/d(input i) (`undefined` where none is produced). */
export type BackwardRule = (args: BackwardArgs) => Array<string | undefined>;

const identity: BackwardRule = ({ dy }) => [dy[0]];

/** One rule per op of `../models/ops.ts` that can lie between the head mask and the loss. */
export const BACKWARD: Readonly<Record<string, BackwardRule>> = {
  add: ({ dy }) => [dy[0], dy[0]],
  dropout: identity,
  lossRows: identity,
  neuronMask: identity,
  layerNorm: ({ cx, op, inputs, dy }) => {
    const g = cx.g;
    const x = inputs[0]!.name!, dOut = dy[0]!;
    const eps = op.attrs.eps as number;
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
  linear: ({ cx, op, inputs, dy }) => {
    const x = inputs[0]!;
    if (x.name === undefined || dy[0] === undefined) return [undefined];
    const key = op.weights[0]!;
    // y = x·Wᵀ for nn.Linear [out, in] (dx = dy·W), y = x·W for Conv1D [in, out] (dx = dy·Wᵀ)
    const w = (op.attrs.layout as WeightLayout) === "linear" ? cx.weight(key) : cx.weightT(key);
    return [cx.g.op("MatMul", [dy[0], w])];
  },
  splitQKV: ({ cx, outputs, dy }) => {
    if (outputs[0]!.name === undefined) return [undefined];
    const g = cx.g;
    const parts = dy.map((d, i) => d ?? g.op("Mul", [outputs[i]!.name!, g.scalar(0)]));
    return [g.op("Concat", parts, { axis: { i: -1 } })];
  },
  attention: ({ cx, op, index, dy, headMaskGrad }) => {
    const spec = op.attrs as unknown as AttentionSpec;
    const dctx = dy[0];
    const s = cx.saved.get(index);
    if (dctx === undefined || s === undefined) return [undefined, undefined, undefined];
    const g = cx.g;
    const { heads: H, headDim: D } = spec;
    const perm = (v: string, p: number[]) => g.op("Transpose", [v], { perm: { ints: p } });
    const sum = (v: string, axes: number[], keep: boolean) =>
      g.op("ReduceSum", [v, g.ints(axes)], { keepdims: { i: keep ? 1 : 0 } });
    const merge = (v: string) => g.op("Reshape", [perm(v, [0, 2, 1, 3]), g.ints([0, 0, H * D])]);
    // ctx = (P·m)·V over [B, H, T, ·]
    const dC = perm(g.op("Reshape", [dctx, g.ints([0, 0, H, D])]), [0, 2, 1, 3]);
    const dPm = g.op("MatMul", [dC, perm(s.v, [0, 1, 3, 2])]);
    headMaskGrad(spec.layer, sum(g.op("Mul", [dPm, s.probs]), [0, 2, 3], false));
    const dV = g.op("MatMul", [perm(s.pattern, [0, 1, 3, 2]), dC]);
    // softmax: dS = P ⊙ (dP − Σⱼ dP ⊙ P), then the scale of q·kᵀ
    const dP = g.op("Mul", [dPm, s.mask]);
    const dS = g.op("Mul", [
      g.op("Mul", [s.probs, g.op("Sub", [dP, sum(g.op("Mul", [dP, s.probs]), [-1], true)])]),
      g.scalar(spec.scale),
    ]);
    const dQ = g.op("MatMul", [dS, s.k]);
    const dK = g.op("MatMul", [perm(dS, [0, 1, 3, 2]), s.q]);
    return [merge(dQ), merge(dK), merge(dV)];
  },
  gelu: ({ cx, op, inputs, dy }) => {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined]; // an empty (all-pruned) MLP
    const g = cx.g;
    const x = inputs[0]!.name!;
    let d: string;
    if ((op.attrs.kind as GeluKind) === "erf") {
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
  tanh: ({ cx, outputs, dy }) => {
    const g = cx.g;
    const y = outputs[0]!.name!;
    return [g.op("Mul", [dy[0]!, g.op("Sub", [g.scalar(1), g.op("Mul", [y, y])])])];
  },
  relu: ({ cx, inputs, dy }) => {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined];
    // dy where x > 0, else 0 (as PyTorch at x = 0)
    const g = cx.g;
    const pass = g.op("Cast", [g.op("Greater", [inputs[0]!.name!, g.scalar(0)])], { to: { i: 1 } });
    return [g.op("Mul", [dy[0]!, pass])];
  },
  firstToken: ({ cx, dy }) => {
    // dx[b, t] = dy[b] at t = 0, else 0
    const g = cx.g;
    const first = g.cached("first_position", () => {
      const isFirst = g.op("Equal", [cx.positions(), g.ints([0], [])]);
      return g.op("Unsqueeze", [g.op("Cast", [isFirst], { to: { i: 1 } }), g.ints([0, 2])]); // [1, T, 1]
    });
    return [g.op("Mul", [g.op("Unsqueeze", [dy[0]!, g.ints([1])]), first])];
  },
};
