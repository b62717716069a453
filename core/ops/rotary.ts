/**
 * Rotary position embedding on q or k [batch, pos, H·D], HF's rotate-half layout (`apply_rotary_pos_emb` of
 * Llama, Qwen2, Mistral; GPT-NeoX's partial rotary, `rotary_pct`): in each head the first `rotaryDim` dims are
 * halves x1, x2 rotated by the angles pos·invFreq_i, `y1 = x1·cos − x2·sin`, `y2 = x2·cos + x1·sin`, and the
 * dims past `rotaryDim` pass through. invFreq_i = 1/theta^(2i/rotaryDim) and the angles are computed in float32
 * as HF's `LlamaRotaryEmbedding` does; positions are the run's position ids (0…T−1 per row for decoders).
 * Kernels `rotaryForward` / `rotaryBackward` (the inverse rotation, `assembly/rotary.ts`); the input may be a
 * strided view of a fused projection. In ONNX the cos and sin tables are built from the position ids in the graph.
 *
 * @module
 */

import { rotaryInverseFrequencies } from "../kernels/_reference_math.ts";
import type { EmitContext } from "../export/_emit.ts";
import { DataType } from "../export/onnx_types.ts";
import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";

/** The op's attributes, as the trace records them: what a family passes. */
export type RotaryAttrs = {
  /** Heads in the input (its width is heads·headDim). */
  heads: number;
  /** Dims per head. */
  headDim: number;
  /** The leading dims of each head that rotate (even, ≤ headDim; headDim for Llama, GPT-NeoX's rotary_pct·D). */
  rotaryDim: number;
  /** The frequency base (`rope_theta`, `rotary_emb_base`: 10000 for Llama 2, 1e6 for Qwen2, Mistral v0.2+). */
  theta: number;
};

/** How a family calls the op (one member of `ModelOps`). */
export interface RotaryOp<T> {
  /** Rotary position embedding of q or k [batch, pos, heads·headDim] (HF's rotate-half layout). */
  rotary(x: T, attrs: RotaryAttrs): T;
}

/** Checks the attributes against the input's width. */
function checkRotary(a: RotaryAttrs, width: number | string): void {
  const fail = (why: string): never => {
    throw new Error(`rotary: ${why} (heads ${a.heads}, headDim ${a.headDim}, rotaryDim ${a.rotaryDim})`);
  };
  if (!Number.isInteger(a.heads) || a.heads < 0) fail("heads must be a non-negative integer");
  if (!Number.isInteger(a.headDim) || a.headDim < 1) fail("headDim must be a positive integer");
  if (!Number.isInteger(a.rotaryDim) || a.rotaryDim < 2 || a.rotaryDim % 2 !== 0 || a.rotaryDim > a.headDim) {
    fail("rotaryDim must be an even integer from 2 to headDim");
  }
  if (!(Number.isFinite(a.theta) && a.theta > 0)) fail(`theta must be a positive number, got ${a.theta}`);
  if (typeof width === "number" && width !== a.heads * a.headDim) {
    fail(`the input's last axis has ${width} values, not heads·headDim = ${a.heads * a.headDim}`);
  }
}

/** The rotary op. */
export const rotary: OpDef<"rotary"> = {
  name: "rotary",
  wasm({ run, inputs }, x, a) {
    const k = run.k;
    const width = x.shape[x.shape.length - 1]!;
    checkRotary(a, width);
    if (width === 0) return x; // a layer pruned to no heads: nothing to rotate
    const rows = x.size / width;
    if (rows !== inputs.B * inputs.T) {
      throw new Error(`rotary: the input has ${rows} rows, the batch ${inputs.B}·${inputs.T} positions`);
    }
    const ld = run.isContiguous(x) ? width : x.rowStride;
    const { heads: H, headDim: D, rotaryDim, theta } = a;
    const y = run.output(x.shape);
    const table = run.output([3 * (rotaryDim / 2)]); // the kernels' scratch: inverse frequencies, cos, sin
    k.rotaryForward(y.ptr, x.ptr, inputs.positions, table.ptr, rows, ld, H, D, rotaryDim, theta);
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      k.rotaryBackward(run.gradOf(x), run.gradOf(y), inputs.positions, table.ptr, rows, ld, H, D, rotaryDim, theta);
    });
    return y;
  },
  trace(cx, x, a) {
    checkRotary(a, x.shape[x.shape.length - 1]!);
    const { heads, headDim, rotaryDim, theta } = a;
    return cx.record("rotary", [x], [x.shape], [], { heads, headDim, rotaryDim, theta })[0]!;
  },
  onnx(cx, op, _index, [x]) {
    if (x?.name === undefined) return [{ name: undefined, dims: x!.dims }]; // no heads left
    return [{ name: rotate(cx, op.attrs, need("rotary", x, "x"), false), dims: x.dims }];
  },
  onnxBackward({ cx, op, inputs, dy }) {
    if (inputs[0]!.name === undefined || dy[0] === undefined) return [undefined];
    return [rotate(cx, op.attrs, dy[0], true)];
  },
};

/**
 * The rotation of `v` [batch, seq, H·D] as ONNX nodes: forward (y1 = x1·cos − x2·sin, y2 = x2·cos + x1·sin), or
 * `inverse` for the backward (dx1 = dy1·cos + dy2·sin, dx2 = dy2·cos − dy1·sin).
 */
function rotate(cx: EmitContext, a: RotaryAttrs, v: string, inverse: boolean): string {
  const g = cx.g, { heads: H, headDim: D, rotaryDim: R } = a, half = R / 2;
  const { cos, sin } = angleTables(cx, a);
  const v4 = g.op("Reshape", [v, g.ints([0, 0, H, D])]);
  const slice = (from: number, to: number) => g.op("Slice", [v4, g.ints([from]), g.ints([to]), g.ints([-1])]);
  const x1 = slice(0, half), x2 = slice(half, R);
  // the inverse rotation is the rotation by −θ: sin changes sign
  const [plus, minus] = inverse ? ["Sub", "Add"] : ["Add", "Sub"];
  const y1 = g.op(minus, [g.op("Mul", [x1, cos]), g.op("Mul", [x2, sin])]);
  const y2 = g.op(plus, [g.op("Mul", [x2, cos]), g.op("Mul", [x1, sin])]);
  const parts = R < D ? [y1, y2, slice(R, D)] : [y1, y2];
  return g.op("Reshape", [g.op("Concat", parts, { axis: { i: -1 } }), g.ints([0, 0, H * D])]);
}

/**
 * cos and sin of the angles f32(invFreq_i · pos) as [seq, 1, R/2] (positions shared by every row) or
 * [batch, seq, 1, R/2], built once per (rotaryDim, theta) from the graph's position ids.
 */
function angleTables(cx: EmitContext, a: RotaryAttrs): { cos: string; sin: string } {
  const g = cx.g, key = `rotary_${a.rotaryDim}_${a.theta}`;
  const angles = g.cached(`${key}_angles`, () => {
    const pos = g.op("Cast", [cx.positionIds().name], { to: { i: DataType.FLOAT } });
    const invFreq = g.floats([...rotaryInverseFrequencies(a.rotaryDim, a.theta)]);
    const freqs = g.op("Mul", [g.op("Unsqueeze", [pos, g.ints([-1])]), invFreq]); // [.., seq, R/2]
    return g.op("Unsqueeze", [freqs, g.ints([-2])]); // a head axis to broadcast over
  });
  return {
    cos: g.cached(`${key}_cos`, () => g.op("Cos", [angles])),
    sin: g.cached(`${key}_sin`, () => g.op("Sin", [angles])),
  };
}
