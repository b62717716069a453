/**
 * What the circuit methods read from a model's description rather than from a family's name: the language-model
 * readout (the final norm — LayerNorm or RMSNorm, its weights and ε — and the unembedding), found by tracing the
 * family's own `unembed`; where a head's rows of the attention output projection live (the family's
 * `headSlices`); and weights read in place from kernel memory (16-bit weights widened).
 *
 * @example Usage
 * ```ts
 * import { finalReadout } from "./readout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const r = finalReadout(model);
 * r.norm?.kind; // "layerNorm"
 * r.unembed.weight; // "transformer.wte.weight"
 * ```
 *
 * @module
 */

import type { HeadSlice } from "../models/family.ts";
import type { TransformerModel } from "../models/model.ts";
import type { WeightLayout } from "../models/ops.ts";
import { type TracedValue, TraceOps } from "../models/trace_ops.ts";

/** The final norm of a language model's readout. */
export interface FinalNorm {
  /** `layerNorm` centres and scales by √(var + ε); `rmsNorm` only scales, by √(mean(x²) + ε). */
  kind: "layerNorm" | "rmsNorm";
  /** The scale γ's key. */
  weight: string;
  /** The shift β's key (LayerNorm; absent for RMSNorm). */
  bias?: string;
  /** ε. */
  eps: number;
  /** Added to γ before scaling (RMSNorm's `offset`; 0 otherwise). */
  offset: number;
}

/** A language model's readout: logits = unembed(norm(residual)). */
export interface FinalReadout {
  /** The final norm; absent when the readout reads the residual stream as it is (post-norm decoders). */
  norm?: FinalNorm;
  /** The unembedding: its weight's key and layout (`linear` [vocab, d_model], `conv1d` [d_model, vocab]), bias. */
  unembed: { weight: string; layout: WeightLayout; bias?: string };
}

/**
 * The readout of a language model, read from the trace of its family's `unembed` (so a new family's final
 * norm — LayerNorm or RMSNorm — is found without naming the family).
 *
 * @throws {Error} for a model without a language-model readout, or one that is not [a norm, then] one linear map
 * @example Usage
 * ```ts
 * import { finalReadout } from "./readout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * finalReadout(model).norm?.eps; // 1e-5
 * ```
 */
export function finalReadout(model: TransformerModel): FinalReadout {
  const { family, config } = model;
  if (family.unembed === undefined) {
    throw new Error(`A ${family.displayName} ${config.task} model has no unembedding (a language-model readout)`);
  }
  const ops = new TraceOps((n) => (model.params.has(n) ? model.params.get(n).shape : undefined));
  const x: TracedValue = { id: ops.trace.values.length, shape: ["batch", "pos", config.hidden] };
  ops.trace.values.push(x);
  family.unembed(ops, config, x);
  const traced = ops.trace.ops;
  const unexpected = () =>
    new Error(
      `The ${family.displayName} readout is ${
        traced.map((o) => o.op).join(" → ")
      }, not a final norm and one linear map: direct logit attribution cannot split it`,
    );
  let at = 0, input = x.id;
  let norm: FinalNorm | undefined;
  const first = traced[0];
  if (first !== undefined && (first.op === "layerNorm" || first.op === "rmsNorm")) {
    if (first.inputs[0] !== input) throw unexpected();
    norm = first.op === "layerNorm"
      ? { kind: "layerNorm", weight: first.weights[0]!, bias: first.weights[1]!, eps: first.attrs.eps, offset: 0 }
      : { kind: "rmsNorm", weight: first.weights[0]!, eps: first.attrs.eps, offset: first.attrs.offset };
    input = first.outputs[0]!;
    at = 1;
  }
  const lin = traced[at];
  if (lin === undefined || lin.op !== "linear" || lin.inputs[0] !== input || traced.length !== at + 1) {
    throw unexpected();
  }
  const unembed: FinalReadout["unembed"] = { weight: lin.weights[0]!, layout: lin.attrs.layout };
  if (lin.weights[1] !== undefined) unembed.bias = lin.weights[1];
  return norm === undefined ? { unembed } : { norm, unembed };
}

/**
 * Runs `read` on weight `name`'s values as f32 in kernel memory (16-bit weights widened for the call); the view
 * is valid only inside `read`.
 *
 * @throws {Error} when the model has no such weight
 * @example Usage
 * ```ts
 * import { withWeight } from "./readout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * withWeight(model, "transformer.ln_f.weight", (v) => v.length); // 32
 * ```
 */
export function withWeight<R>(
  model: TransformerModel,
  name: string,
  read: (values: Float32Array, shape: readonly number[]) => R,
): R {
  const p = model.params.get(name);
  const mem = model.kernels.mem;
  const mark = mem.mark();
  try {
    return read(mem.f32(model.params.f32(p, 0), p.size), p.shape);
  } finally {
    mem.release(mark);
  }
}

/**
 * A weight copied out of kernel memory as f32.
 *
 * @throws {Error} when the model has no such weight
 * @example Usage
 * ```ts
 * import { readWeight } from "./readout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * readWeight(model, "transformer.h.0.attn.c_proj.bias").length; // 32
 * ```
 */
export function readWeight(model: TransformerModel, name: string): Float32Array {
  return withWeight(model, name, (v) => v.slice());
}

/** Where layer l's heads write: the output projection's key, whether heads are its rows, and its bias. */
export interface OutputProjection {
  /** The weight's key. */
  weight: string;
  /** `rows`: stored [heads·d_head, d_model] (GPT's Conv1D); `columns`: [d_model, heads·d_head] (nn.Linear). */
  heads: "rows" | "columns";
  /** The bias's key, when the model has one. */
  bias?: string;
}

/**
 * Layer l's attention output projection, from the family's `headSlices` (the slice marked `output`).
 *
 * @throws {Error} when the family marks no single, ungrouped output slice
 * @example Usage
 * ```ts
 * import { outputProjection } from "./readout.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * outputProjection(model, 0).heads; // "rows": GPT's Conv1D c_proj is [heads · d_head, d_model]
 * ```
 */
export function outputProjection(model: TransformerModel, layer: number): OutputProjection {
  const slices = model.family.headSlices(model.config, layer).filter((s: HeadSlice) => s.output === true);
  const s = slices[0];
  if (slices.length !== 1 || s === undefined || s.groups !== 1) {
    throw new Error(
      `${model.family.displayName} layer ${layer}: its head slices do not name one output projection of the heads`,
    );
  }
  const out: OutputProjection = { weight: s.name, heads: s.axis === 0 ? "rows" : "columns" };
  if (s.bias !== undefined && model.params.has(s.bias)) out.bias = s.bias;
  return out;
}

/**
 * Head `index` (among the layer's kept heads) of an output projection as W_O [d_head, d_model], float64, from
 * the projection's values (see {@linkcode withWeight}).
 *
 * @example Usage
 * ```ts
 * import { headOutputRows } from "./readout.ts";
 * // an nn.Linear output projection [d_model = 2, heads · d_head = 2 · 1]: head 1 is its second column
 * headOutputRows(Float32Array.of(1, 2, 3, 4), { weight: "o", heads: "columns" }, 1, 1, 2); // Float64Array [2, 4]
 * ```
 */
export function headOutputRows(
  values: Float32Array,
  proj: OutputProjection,
  index: number,
  headDim: number,
  hidden: number,
): Float64Array {
  const out = new Float64Array(headDim * hidden);
  if (proj.heads === "rows") {
    out.set(values.subarray(index * headDim * hidden, (index + 1) * headDim * hidden));
  } else {
    const width = values.length / hidden; // [C, H·D]
    for (let c = 0; c < hidden; c++) {
      for (let d = 0; d < headDim; d++) out[d * hidden + c] = values[c * width + index * headDim + d]!;
    }
  }
  return out;
}
