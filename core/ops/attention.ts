/**
 * Multi-head scaled dot-product attention of q, k, v [batch, pos, H·D]: scores q·kᵀ·scale, the input's key
 * mask (padding), the causal mask when asked, softmax, the layer's head mask on the probabilities (HF's
 * `head_mask`, whose gradient is Michel et al.'s importance), then each head's context concatenated
 * [batch, pos, H·D] — HF's context layer, before the output projection. Emits the pattern hook (HF's
 * `attentions`: the probabilities times the head mask). Kernels `attentionForward` / `attentionBackward`
 * (`assembly/attention.ts`, fused per (batch, head), split over the worker pool by (batch, head)).
 *
 * @module
 */

import type { OnnxDim } from "../export/onnx_types.ts";
import type { OpDef } from "./op.ts";
import { need } from "./_onnx.ts";
import { denseCopy } from "./_wasm.ts";

/** The lowest float32: the score of a key a query may not see (HF's `torch.finfo(float32).min`). */
export const MASKED_SCORE = -3.4028234663852886e38;

/** One attention layer's shape and behaviour. */
export interface AttentionSpec {
  /** The block index: selects the layer's row of the head mask. */
  layer: number;
  /** Heads present in this layer (after pruning). */
  heads: number;
  /** d_head. */
  headDim: number;
  /** Multiplier of q·k (1/√d_head, GPT-2 options aside). */
  scale: number;
  /** Whether a query sees only keys at or before its position. */
  causal: boolean;
  /** The hook name of the probabilities times the head mask (HF's `attentions`). */
  patternHook: string;
}

/** How a family calls the op (one member of `ModelOps`). */
export interface AttentionOp<T> {
  /**
   * Multi-head scaled dot-product attention of q, k, v [batch, pos, H·D] with the input's key mask (padding),
   * the causal mask when asked, and the layer's head mask; returns each head's context concatenated
   * [batch, pos, H·D] (HF's context layer, before the output projection). Emits `spec.patternHook`.
   */
  attention(q: T, k: T, v: T, spec: AttentionSpec): T;
}

/** The op's attributes, as the trace records them. */
export type AttentionAttrs = AttentionSpec;

/** The attention op. */
export const attention: OpDef<"attention"> = {
  name: "attention",
  wasm(cx, query, key, value, spec) {
    const run = cx.run, k = run.k, x = cx.inputs;
    const { B, T } = x;
    const { layer, heads: H, headDim: D, scale, causal } = spec;
    // the kernel reads q, k, v with one row stride: views of one fused projection, or dense (a patched one)
    const shared = query.rowStride === key.rowStride && key.rowStride === value.rowStride;
    const [q, kk, v] = shared
      ? [query, key, value]
      : [denseCopy(run, query), denseCopy(run, key), denseCopy(run, value)];
    const ld = q.rowStride;
    const headMask = x.headMask[layer]!, headMaskGrad = x.headMaskGrad[layer]!;
    const ctx = run.output([B, T, H * D]);
    // the probabilities are kept only for the backward pass or a hook / observer (the entropy meter) of the
    // pattern — the only readers of `probs` below; otherwise each (batch, head)'s live in a T·T scratch per
    // thread (`probs` is then the caller's, and the kernel is passed 0 for the probabilities)
    const keep = run.recording || run.wants(spec.patternHook);
    const probs = run.output(keep ? [B, H, T, T] : [T, T]);
    const [saved, scratch] = keep ? [probs.ptr, 0] : [0, probs.ptr];
    if (H > 0) {
      k.attentionForward(
        ctx.ptr,
        saved,
        q.ptr,
        kk.ptr,
        v.ptr,
        ld,
        x.keyMask,
        headMask,
        B,
        T,
        H,
        D,
        scale,
        causal,
        scratch,
      );
    }
    run.derive(ctx, q, kk, v);
    if (headMaskGrad !== 0) run.requireGrad(ctx);
    run.onBackward(() => {
      if (H === 0 || !run.hasGrad(ctx)) return;
      const scratch = run.output([T, T]);
      const dctx = run.gradOf(ctx);
      // nothing below wants q, k, v's gradients (the lowest differentiated layer): the kernel writes them anyway,
      // so all three go to one throwaway buffer instead of gradients that would run backward further
      const below = run.requiresGrad(q) || run.requiresGrad(kk) || run.requiresGrad(v);
      const sink = below ? 0 : run.output([B * T * ld]).ptr;
      const [dq, dk, dv] = below ? [run.gradOf(q), run.gradOf(kk), run.gradOf(v)] : [sink, sink, sink];
      // rows never mix in attention: one call per row keeps each row's share of the mask gradient apart
      const [calls, rows] = x.headMaskGradPerRow && headMaskGrad !== 0 ? [B, 1] : [1, B];
      for (let b = 0; b < calls; b++) {
        const qkv = 4 * b * T * ld;
        k.attentionBackward(
          dq + qkv,
          dk + qkv,
          dv + qkv,
          headMaskGrad === 0 ? 0 : headMaskGrad + 4 * b * H,
          dctx + 4 * b * T * H * D,
          probs.ptr + 4 * b * H * T * T,
          q.ptr + qkv,
          kk.ptr + qkv,
          v.ptr + qkv,
          ld,
          headMask,
          scratch.ptr,
          rows,
          T,
          H,
          D,
          scale,
        );
      }
    });
    // HF's `attentions` are the probabilities times the head mask: built only when kept or observed
    if (run.wants(spec.patternHook)) {
      let pattern = probs;
      const m = headMask !== 0 && H > 0 ? run.read(headMask, H) : undefined;
      // a mask of ones (the importance pass differentiates one) leaves the probabilities as they are
      if (m !== undefined && m.some((x) => x !== 1)) {
        pattern = run.output(probs.shape);
        k.copy(pattern.ptr, probs.ptr, probs.size);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const at = pattern.ptr + 4 * (b * H + h) * T * T;
            k.scale(at, at, m[h]!, T * T);
          }
        }
      }
      run.hook(spec.patternHook, pattern);
    }
    return ctx;
  },
  trace(cx, q, k, v, spec) {
    const [ctx, pattern] = cx.record("attention", [q, k, v], [q.shape, ["batch", spec.heads, "pos", "pos"]], [], {
      ...spec,
    });
    cx.hook(spec.patternHook, pattern!);
    return ctx!;
  },
  onnx(cx, op, index, inputs) {
    const g = cx.g;
    const spec = op.attrs;
    const { heads: H, headDim: D } = spec;
    const dims = [...inputs[0]!.dims.slice(0, -1), H * D];
    const patternDims: OnnxDim[] = ["batch", H, "seq", "seq"];
    if (H === 0) return [{ name: undefined, dims }, { name: undefined, dims: patternDims }];
    const split = (i: number, what: string) =>
      g.op("Transpose", [g.op("Reshape", [need("attention", inputs[i], what), g.ints([0, 0, H, D])])], {
        perm: { ints: [0, 2, 1, 3] },
      });
    const q = split(0, "q"), k = split(1, "k"), v = split(2, "v");
    const kT = g.op("Transpose", [k], { perm: { ints: [0, 1, 3, 2] } });
    const scores = g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(spec.scale)]);
    // a key the query may not see scores float32's lowest: a row with no visible key is uniform, as in HF
    const probs = g.op("Softmax", [g.op("Where", [cx.allowed(spec.causal), scores, g.scalar(MASKED_SCORE)])], {
      axis: { i: -1 },
    });
    const mask = cx.headMask(spec.layer);
    const pattern = g.op("Mul", [probs, mask]);
    const ctx4 = g.op("MatMul", [pattern, v]);
    const ctx = g.op("Reshape", [
      g.op("Transpose", [ctx4], { perm: { ints: [0, 2, 1, 3] } }),
      g.ints([0, 0, H * D]),
    ]);
    cx.saved.set(index, { q, k, v, probs, pattern, mask });
    return [{ name: ctx, dims }, { name: pattern, dims: patternDims }];
  },
  onnxBackward({ cx, op, index, dy, headMaskGrad }) {
    const spec = op.attrs;
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
};
