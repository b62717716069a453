/**
 * The semantic ops a family's forward pass is written in, one module each (see `op.ts` for what an op module
 * holds), and their registry: the executors (`../models/wasm_ops.ts`, `../models/trace_ops.ts`) and the ONNX
 * exporter dispatch through {@linkcode OPS}.
 *
 * @example Every op has a WASM rule, a trace rule and an ONNX rule
 * ```ts
 * import { OPS } from "./mod.ts";
 * Object.keys(OPS).includes("attention"); // true
 * typeof OPS.relu.onnxBackward; // "function"
 * ```
 *
 * @module
 */

import { add, type AddAttrs, type AddOp } from "./add.ts";
import { attention, type AttentionAttrs, type AttentionOp } from "./attention.ts";
import { dropout, type DropoutAttrs, type DropoutOp } from "./dropout.ts";
import { embedding, type EmbeddingAttrs, type EmbeddingOp } from "./embedding.ts";
import { firstToken, type FirstTokenAttrs, type FirstTokenOp } from "./first_token.ts";
import { gelu, type GeluAttrs, type GeluOp } from "./gelu.ts";
import { layerNorm, type LayerNormAttrs, type LayerNormOp } from "./layer_norm.ts";
import { linear, type LinearAttrs, type LinearOp } from "./linear.ts";
import { lossRows, type LossRowsAttrs, type LossRowsOp } from "./loss_rows.ts";
import { mul, type MulAttrs, type MulOp } from "./mul.ts";
import { neuronMask, type NeuronMaskAttrs, type NeuronMaskOp } from "./neuron_mask.ts";
import { relu, type ReluAttrs, type ReluOp } from "./relu.ts";
import { rmsNorm, type RmsNormAttrs, type RmsNormOp } from "./rms_norm.ts";
import { rotary, type RotaryAttrs, type RotaryOp } from "./rotary.ts";
import { silu, type SiluAttrs, type SiluOp } from "./silu.ts";
import { splitQKV, type SplitQKVAttrs, type SplitQKVOp } from "./split_qkv.ts";
import { tanh, type TanhAttrs, type TanhOp } from "./tanh.ts";
import type { OpDef, OpName } from "./op.ts";

/** Every op's signature as a family calls it, on an executor's tensor handle `T` (`ModelOps`). */
export interface OpSignatures<T>
  extends
    AddOp<T>,
    AttentionOp<T>,
    DropoutOp<T>,
    EmbeddingOp<T>,
    FirstTokenOp<T>,
    GeluOp<T>,
    LayerNormOp<T>,
    LinearOp<T>,
    LossRowsOp<T>,
    MulOp<T>,
    NeuronMaskOp<T>,
    ReluOp<T>,
    RmsNormOp<T>,
    RotaryOp<T>,
    SiluOp<T>,
    SplitQKVOp<T>,
    TanhOp<T> {}

/** Each op's attributes as the trace records them. */
export interface OpAttrs {
  add: AddAttrs;
  attention: AttentionAttrs;
  dropout: DropoutAttrs;
  embedding: EmbeddingAttrs;
  firstToken: FirstTokenAttrs;
  gelu: GeluAttrs;
  layerNorm: LayerNormAttrs;
  linear: LinearAttrs;
  lossRows: LossRowsAttrs;
  mul: MulAttrs;
  neuronMask: NeuronMaskAttrs;
  relu: ReluAttrs;
  rmsNorm: RmsNormAttrs;
  rotary: RotaryAttrs;
  silu: SiluAttrs;
  splitQKV: SplitQKVAttrs;
  tanh: TanhAttrs;
}

/** Every op, by name. */
export const OPS: { readonly [K in OpName]: OpDef<K> } = {
  add,
  attention,
  dropout,
  embedding,
  firstToken,
  gelu,
  layerNorm,
  linear,
  lossRows,
  mul,
  neuronMask,
  relu,
  rmsNorm,
  rotary,
  silu,
  splitQKV,
  tanh,
};

/** An op by name, typed loosely for the executors' dispatch (each op's own rules are typed in its module). */
export function opDef(name: OpName): OpDef<OpName> {
  return OPS[name] as unknown as OpDef<OpName>;
}

export type { AttentionSpec } from "./attention.ts";
export { MASKED_SCORE } from "./attention.ts";
export type { TokenInput } from "./embedding.ts";
export type { LayerNormParams } from "./layer_norm.ts";
export type { LinearParams, WeightLayout } from "./linear.ts";
export type { RmsNormParams } from "./rms_norm.ts";
export type { BackwardArgs, OpDef, OpName, TraceContext, TracedOp, TracedOpOf, WasmContext } from "./op.ts";
