/**
 * The exporter's shared state ({@linkcode EmitContext}: the graph, weights as initializers, position ids, masks,
 * what attention saves for its backward) and the dispatch of each traced op to its op module's ONNX rule
 * (`core/ops/*.ts`). Private to `export.ts` and the op modules.
 *
 * @module
 */

import type { ModelConfig } from "../models/config.ts";
import { keptHeads } from "../models/config.ts";
import { opDef, type TracedOp } from "../ops/mod.ts";
import type { Tensor } from "../tensor.ts";
import { bytesOf, DataType, type GraphBuilder, type OnnxDim } from "./onnx_types.ts";

export { MASKED_SCORE } from "../ops/mod.ts";

/** A value of the exported graph: its ONNX name and shape, or an empty one (a layer with no heads left). */
export interface Emitted {
  /** The ONNX value name; `undefined` for a zero-width value (nothing is emitted for it). */
  name: string | undefined;
  /** Its shape (`batch`, `seq` for the dynamic axes). */
  dims: OnnxDim[];
}

/** What an attention op saved for its backward: the per-head tensors, all [batch, heads, seq, ·]. */
export interface AttentionSaved {
  /** q as [B, H, T, D]. */
  q: string;
  /** k as [B, H, T, D] (grouped-query attention: each query head's kv head, gathered). */
  k: string;
  /** v as [B, H, T, D] (grouped-query attention: each query head's kv head, gathered). */
  v: string;
  /** The probabilities before the head mask, [B, H, T, T]. */
  probs: string;
  /** The probabilities times the head mask (HF's `attentions`). */
  pattern: string;
  /** The layer's head mask as [1, H, 1, 1]. */
  mask: string;
}

/** The state the emitters share. */
export class EmitContext {
  readonly g: GraphBuilder;
  readonly config: ModelConfig;
  readonly weights: ReadonlyMap<string, Tensor>;
  readonly dtype: "f32" | "f16";
  /** Saved forward values, by op index. */
  readonly saved: Map<number, AttentionSaved> = new Map();
  readonly #weightNames = new Map<string, string>();

  constructor(g: GraphBuilder, config: ModelConfig, weights: ReadonlyMap<string, Tensor>, dtype: "f32" | "f16") {
    this.g = g;
    this.config = config;
    this.weights = weights;
    this.dtype = dtype;
  }

  /** The float32 value of a checkpoint tensor: its initializer (named by the HF key), cast from F16 if so. */
  weight(key: string): string {
    const have = this.#weightNames.get(key);
    if (have !== undefined) return have;
    const t = this.weights.get(key);
    if (t === undefined) throw new Error(`ONNX export: weight "${key}" is missing from the checkpoint`);
    let name: string;
    if (this.dtype === "f16") {
      this.g.initializer(key, DataType.FLOAT16, t.shape, bytesOf(toFloat16(t.data)));
      name = this.g.op("Cast", [key], { to: { i: DataType.FLOAT } });
    } else name = this.g.initializer(key, DataType.FLOAT, t.shape, bytesOf(t.data));
    this.#weightNames.set(key, name);
    return name;
  }

  /** The transpose of a 2-D checkpoint tensor (onnxruntime folds it into a constant at load). */
  weightT(key: string): string {
    const k = `${key}^T`;
    const have = this.#weightNames.get(k);
    if (have !== undefined) return have;
    const name = this.g.op("Transpose", [this.weight(key)], { perm: { ints: [1, 0] } });
    this.#weightNames.set(k, name);
    return name;
  }

  /** The sequence length, an int64 scalar. */
  seqLen(): string {
    return this.g.cached(
      "seq",
      () => this.g.op("Gather", [this.shapeOfIds(), this.g.ints([1], [])], { axis: { i: 0 } }),
    );
  }

  /** Shape(input_ids) = [batch, seq]. */
  shapeOfIds(): string {
    return this.g.cached("shape_ids", () => this.g.op("Shape", ["input_ids"]));
  }

  /** 0 … seq−1, int64 [seq]. */
  positions(): string {
    return this.g.cached(
      "positions",
      () => this.g.op("Range", [this.g.ints([0], []), this.seqLen(), this.g.ints([1], [])]),
    );
  }

  /**
   * The position ids the position embedding reads, by the config's scheme: 0 … seq−1 (+ offset) as [seq], or
   * RoBERTa's `padding_idx + cumsum(ids ≠ pad)` on real tokens and `padding_idx` on pads as [batch, seq].
   */
  positionIds(): { name: string; perRow: boolean } {
    const g = this.g, scheme = this.config.positions;
    if (scheme.kind === "index") {
      const name = scheme.offset === 0
        ? this.positions()
        : g.cached("position_ids", () => g.op("Add", [this.positions(), g.ints([scheme.offset], [])]));
      return { name, perRow: false };
    }
    const name = g.cached("position_ids", () => {
      const real = g.op("Cast", [g.op("Not", [g.op("Equal", ["input_ids", g.ints([scheme.paddingIdx], [])])])], {
        to: { i: DataType.INT64 },
      });
      const counted = g.op("Mul", [g.op("CumSum", [real, g.ints([1], [])]), real]);
      return g.op("Add", [counted, g.ints([scheme.paddingIdx], [])]);
    });
    return { name, perRow: true };
  }

  /**
   * Which keys each query may see: bool [B, 1, 1, T] (padding) or [B, 1, T, T] (padding and causal; with a
   * sliding `window` > 0, only keys j > i − window as well).
   */
  allowed(causal: boolean, window = 0): string {
    const g = this.g;
    const keys = g.cached("key_allowed", () => {
      const m = g.op("Cast", ["attention_mask"], { to: { i: DataType.BOOL } });
      return g.op("Unsqueeze", [m, g.ints([1, 2])]);
    });
    if (!causal) return keys;
    if (window > 0) {
      return g.cached(`causal_allowed_window_${window}`, () => {
        const pos = this.positions();
        const back = g.op("Sub", [g.op("Unsqueeze", [pos, g.ints([1])]), g.op("Unsqueeze", [pos, g.ints([0])])]);
        return g.op("And", [this.allowed(true), g.op("Less", [back, g.ints([window], [])])]); // i − j < window
      });
    }
    return g.cached("causal_allowed", () => {
      const pos = this.positions();
      const j = g.op("Unsqueeze", [pos, g.ints([0])]); // [1, T] key position
      const i = g.op("Unsqueeze", [pos, g.ints([1])]); // [T, 1] query position
      return g.op("And", [keys, g.op("LessOrEqual", [j, i])]);
    });
  }

  /** Layer `l`'s head mask over its kept heads, [1, H_l, 1, 1] (from the graph input `head_mask`). */
  headMask(l: number): string {
    const g = this.g;
    return g.cached(`head_mask_${l}`, () => {
      const kept = keptHeads(this.config, l);
      let row = g.op("Gather", ["head_mask", g.ints([l], [])], { axis: { i: 0 } });
      if (kept.length !== this.config.heads) row = g.op("Gather", [row, g.ints(kept)], { axis: { i: 0 } });
      return g.op("Reshape", [row, g.ints([1, kept.length, 1, 1])]);
    });
  }

  /** A float32 zero tensor of a shape whose dims may be `batch`/`seq` (for zero-width outputs). */
  zeros(dims: readonly OnnxDim[]): string {
    const g = this.g;
    const parts = dims.map((d) =>
      d === "batch"
        ? g.op("Slice", [this.shapeOfIds(), g.ints([0]), g.ints([1])])
        : d === "seq"
        ? g.op("Slice", [this.shapeOfIds(), g.ints([1]), g.ints([2])])
        : g.ints([d as number])
    );
    return g.op("ConstantOfShape", [g.op("Concat", parts, { axis: { i: 0 } })]);
  }
}

/** Emits op `index` of the trace through its op module's ONNX rule; returns its outputs. */
export function emitOp(cx: EmitContext, op: TracedOp, index: number, inputs: Emitted[]): Emitted[] {
  const rule = opDef(op.op).onnx as (cx: EmitContext, op: TracedOp, index: number, inputs: Emitted[]) => Emitted[];
  return rule(cx, op, index, inputs);
}

/**
 * float32 → IEEE half bits, rounding to nearest even (±Inf beyond the range, subnormals kept).
 *
 * @param src the floats
 * @returns their half-precision bit patterns
 */
export function toFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1), halfway = 1 << (shift - 1);
      if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
    out[i] = sign | h;
  }
  return out;
}
