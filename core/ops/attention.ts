/**
 * Multi-head scaled dot-product attention of q [batch, pos, H·D] and k, v [batch, pos, Hkv·D]: scores
 * q·kᵀ·scale, the input's key mask (padding), the causal mask when asked, softmax, the layer's head mask on the
 * probabilities (HF's `head_mask`, whose gradient is Michel et al.'s importance), then each head's context
 * concatenated [batch, pos, H·D] — HF's context layer, before the output projection. Emits the pattern hook
 * (HF's `attentions`: the probabilities times the head mask). Grouped-query attention (Llama's
 * `num_key_value_heads` < heads): each kv head serves a group of query heads, read in place by the kernels
 * (never copied); the ONNX graph repeats k, v with a Gather and sums their gradients back over each group.
 * Local / sliding-window attention (`window`): a query sees only its last `window` keys, itself included.
 * Kernels `attentionForward` / `attentionBackward` (`assembly/attention.ts`, fused per (batch, head), split over
 * the worker pool by (batch, head) forward and by kv head backward).
 *
 * @module
 */

import type { OnnxDim } from "../export/onnx_types.ts";
import type { Ptr } from "../kernels/types.ts";
import type { KvCache } from "../models/kv_cache.ts";
import type { Act, Run } from "../models/run.ts";
import type { OpDef, WasmContext } from "./op.ts";
import { need } from "./_onnx.ts";
import { denseCopy } from "./_wasm.ts";

/** The lowest float32: the score of a key a query may not see (HF's `torch.finfo(float32).min`). */
export const MASKED_SCORE = -3.4028234663852886e38;

/** One attention layer's shape and behaviour. */
export interface AttentionSpec {
  /** The block index: selects the layer's row of the head mask. */
  layer: number;
  /** Heads present in this layer (after pruning): query heads. */
  heads: number;
  /**
   * Key/value heads present in this layer (grouped-query attention: fewer than `heads`, each serving a group of
   * query heads); absent: `heads` (one kv head per query head).
   */
  kvHeads?: number;
  /**
   * For each query head of this layer, the index (among the layer's `kvHeads`) of the kv head it reads — for a
   * pruned layer, whose kept query heads keep the kv heads of their original groups (a query head is removed
   * alone, so the groups are no longer contiguous); absent: query head h reads kv head ⌊h / (heads / kvHeads)⌋.
   */
  kvHeadOf?: readonly number[];
  /** d_head. */
  headDim: number;
  /** Multiplier of q·k (1/√d_head, GPT-2 options aside). */
  scale: number;
  /** Whether a query sees only keys at or before its position. */
  causal: boolean;
  /**
   * A sliding window (needs `causal`): the query at position i sees only keys j with i − window < j ≤ i — its last
   * `window` keys, itself included. HF draws this boundary alike in GPT-Neo's local layers (`window_size`: the
   * bias `tril(ones) ^ tril(ones, −window_size)`) and Mistral's `sliding_window` (masking_utils'
   * `kv_idx > q_idx − sliding_window`), so each family passes its config value unchanged (flash-attention's
   * `window_size=(left, 0)` counts one key fewer: its left = window − 1). Absent: no window.
   */
  window?: number;
  /** The hook name of the probabilities times the head mask (HF's `attentions`). */
  patternHook: string;
}

/** How a family calls the op (one member of `ModelOps`). */
export interface AttentionOp<T> {
  /**
   * Multi-head scaled dot-product attention of q [batch, pos, H·D] and k, v [batch, pos, Hkv·D] with the input's
   * key mask (padding), the causal mask when asked, and the layer's head mask; returns each head's context
   * concatenated [batch, pos, H·D] (HF's context layer, before the output projection). Emits `spec.patternHook`.
   */
  attention(q: T, k: T, v: T, spec: AttentionSpec): T;
}

/** The op's attributes, as the trace records them. */
export type AttentionAttrs = AttentionSpec;

/**
 * The kv head each query head of a layer reads, checked: `spec.kvHeadOf`, or ⌊h / (heads / kvHeads)⌋.
 *
 * @param spec The layer's attention.
 * @returns The kv heads (`kvHeads`, `heads` when absent) and, per query head, its kv head's index.
 * @throws {Error} for a kv-head count or map that does not fit the layer's heads
 *
 * @example Usage
 * ```ts
 * import { kvGroups } from "./attention.ts";
 * const spec = { layer: 0, heads: 6, kvHeads: 2, headDim: 8, scale: 1, causal: true, patternHook: "p" };
 * kvGroups(spec).kvHeadOf; // [0, 0, 0, 1, 1, 1]
 * ```
 */
export function kvGroups(spec: AttentionSpec): { kvHeads: number; kvHeadOf: number[]; grouped: boolean } {
  const { layer, heads: H } = spec, Hkv = spec.kvHeads ?? H;
  const where = `attention of layer ${layer}`;
  if (!Number.isInteger(Hkv) || Hkv < (H > 0 ? 1 : 0) || Hkv > H) {
    throw new Error(`${where}: kvHeads must be an integer from 1 to heads (${H}), got ${Hkv}`);
  }
  let kvHeadOf: number[];
  if (spec.kvHeadOf === undefined) {
    if (H > 0 && H % Hkv !== 0) {
      throw new Error(`${where}: heads (${H}) is not a multiple of kvHeads (${Hkv}); give kvHeadOf`);
    }
    kvHeadOf = Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hkv)));
  } else {
    kvHeadOf = [...spec.kvHeadOf];
    if (kvHeadOf.length !== H || kvHeadOf.some((g) => !Number.isInteger(g) || g < 0 || g >= Hkv)) {
      throw new Error(
        `${where}: kvHeadOf must give each of the ${H} query heads a kv head from 0 to ${Hkv - 1}, ` +
          `got [${kvHeadOf.join(", ")}]`,
      );
    }
  }
  return { kvHeads: Hkv, kvHeadOf, grouped: kvHeadOf.some((g, h) => g !== h) || Hkv !== H };
}

/**
 * The sliding window of a layer's attention, checked: `spec.window`, or 0 for none.
 *
 * @param spec The layer's attention.
 * @returns The window (keys a query sees, itself included), 0 when the spec has none.
 * @throws {Error} for a window that is not a positive integer, or one on attention that is not causal
 *
 * @example Usage
 * ```ts
 * import { windowOf } from "./attention.ts";
 * windowOf({ layer: 1, heads: 4, headDim: 8, scale: 1, causal: true, window: 256, patternHook: "p" }); // 256
 * ```
 */
export function windowOf(spec: AttentionSpec): number {
  const w = spec.window;
  if (w === undefined) return 0;
  if (!Number.isInteger(w) || w < 1 || w > 0x7fffffff) {
    throw new Error(`attention of layer ${spec.layer}: window must be a positive integer, got ${w}`);
  }
  if (!spec.causal) throw new Error(`attention of layer ${spec.layer}: a sliding window needs causal attention`);
  return w;
}

/** The attention op. */
export const attention: OpDef<"attention"> = {
  name: "attention",
  wasm(cx, query, key, value, spec) {
    const run = cx.run, k = run.k, x = cx.inputs;
    const { B, T } = x;
    const { layer, heads: H, headDim: D, scale, causal } = spec;
    const groups = kvGroups(spec), Hkv = groups.kvHeads, window = windowOf(spec);
    for (const [a, what, width] of [[query, "q", H * D], [key, "k", Hkv * D], [value, "v", Hkv * D]] as const) {
      if (a.shape[a.shape.length - 1] !== width) {
        throw new Error(`attention of layer ${layer}: ${what} has rows of ${a.shape.at(-1)} values, expected ${width}`);
      }
    }
    if (x.kvCache !== undefined) return cachedAttention(cx, query, key, value, spec, x.kvCache);
    // the kernel reads q with its row stride and k, v with one shared stride: views of one fused projection,
    // separate projections (q H·D wide, k and v Hkv·D), or dense copies of k, v (a patched one)
    const q = query;
    const [kk, v] = key.rowStride === value.rowStride ? [key, value] : [denseCopy(run, key), denseCopy(run, value)];
    const ldq = q.rowStride, ldkv = kk.rowStride;
    // contiguous groups (or none) need no map: the kernel computes ⌊h / (H / Hkv)⌋ itself
    const contiguous = spec.kvHeadOf === undefined;
    const kvHead = contiguous || H === 0 ? 0 : run.ints(groups.kvHeadOf);
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
        ldq,
        ldkv,
        x.keyMask,
        headMask,
        kvHead,
        B,
        T,
        0,
        H,
        Hkv,
        D,
        scale,
        causal,
        window,
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
      // so they go to throwaway buffers instead of gradients that would run backward further — one for dq, one
      // for dk and dv (written by the same thread, a kv head's; dq's heads may be another thread's)
      const below = run.requiresGrad(q) || run.requiresGrad(kk) || run.requiresGrad(v);
      const sinkQ = below ? 0 : run.output([B * T * ldq]).ptr, sinkKV = below ? 0 : run.output([B * T * ldkv]).ptr;
      const [dq, dk, dv] = below ? [run.gradOf(q), run.gradOf(kk), run.gradOf(v)] : [sinkQ, sinkKV, sinkKV];
      // rows never mix in attention: one call per row keeps each row's share of the mask gradient apart
      const [calls, rows] = x.headMaskGradPerRow && headMaskGrad !== 0 ? [B, 1] : [1, B];
      for (let b = 0; b < calls; b++) {
        const qRows = 4 * b * T * ldq, kvRows = 4 * b * T * ldkv;
        k.attentionBackward(
          dq + qRows,
          dk + kvRows,
          dv + kvRows,
          headMaskGrad === 0 ? 0 : headMaskGrad + 4 * b * H,
          dctx + 4 * b * T * H * D,
          probs.ptr + 4 * b * H * T * T,
          q.ptr + qRows,
          kk.ptr + kvRows,
          v.ptr + kvRows,
          ldq,
          ldkv,
          headMask,
          kvHead,
          scratch.ptr,
          rows,
          T,
          H,
          Hkv,
          D,
          scale,
        );
      }
    });
    // HF's `attentions` are the probabilities times the head mask: built only when kept or observed
    if (run.wants(spec.patternHook)) emitPattern(run, spec.patternHook, probs, headMask, B, H, T * T);
    return ctx;
  },
  trace(cx, q, k, v, spec) {
    // a kv-head count, map or window that does not fit fails here, before any graph is built
    kvGroups(spec), windowOf(spec);
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
    const groups = kvGroups(spec), Hkv = groups.kvHeads;
    const dims = [...inputs[0]!.dims.slice(0, -1), H * D];
    const patternDims: OnnxDim[] = ["batch", H, "seq", "seq"];
    if (H === 0) return [{ name: undefined, dims }, { name: undefined, dims: patternDims }];
    const split = (i: number, what: string, heads: number) =>
      g.op("Transpose", [g.op("Reshape", [need("attention", inputs[i], what), g.ints([0, 0, heads, D])])], {
        perm: { ints: [0, 2, 1, 3] },
      });
    // grouped-query attention: each query head's kv head, gathered [B, Hkv, T, D] → [B, H, T, D] (the graph
    // copies k, v; the kernels do not)
    const repeat = (kv: string) =>
      groups.grouped ? g.op("Gather", [kv, g.ints(groups.kvHeadOf)], { axis: { i: 1 } }) : kv;
    const q = split(0, "q", H), k = repeat(split(1, "k", Hkv)), v = repeat(split(2, "v", Hkv));
    const kT = g.op("Transpose", [k], { perm: { ints: [0, 1, 3, 2] } });
    const scores = g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(spec.scale)]);
    // a key the query may not see scores float32's lowest: a row with no visible key is uniform, as in HF
    const allowed = cx.allowed(spec.causal, windowOf(spec));
    const probs = g.op("Softmax", [g.op("Where", [allowed, scores, g.scalar(MASKED_SCORE)])], {
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
    const groups = kvGroups(spec);
    if (!groups.grouped) return [merge(dQ), merge(dK), merge(dV)];
    // the gradient of the gathered k, v [B, H, T, D] sums back over each kv head's query heads: a [Hkv, H]
    // 0/1 matrix times the heads flattened [B, H, T·D], then merged [B, T, Hkv·D]
    const Hkv = groups.kvHeads;
    const member = Array.from({ length: Hkv * H }, (_, i) => (groups.kvHeadOf[i % H] === Math.floor(i / H) ? 1 : 0));
    const sumGroups = (d: string) => {
      const flat = g.op("MatMul", [g.floats(member, [Hkv, H]), g.op("Reshape", [d, g.ints([0, H, -1])])]);
      return g.op("Reshape", [
        perm(g.op("Reshape", [flat, g.ints([0, Hkv, -1, D])]), [0, 2, 1, 3]),
        g.ints([0, 0, Hkv * D]),
      ]);
    };
    return [merge(dQ), sumGroups(dK), sumGroups(dV)];
  },
};

/**
 * Emits the pattern hook: the probabilities [B, H, Tq, Tk] times the layer's head mask (HF's `attentions`); a
 * mask of ones (the importance pass differentiates one) leaves the probabilities as they are.
 */
function emitPattern(run: Run, hook: string, probs: Act, headMask: Ptr, B: number, H: number, perHead: number): void {
  const k = run.k;
  let pattern = probs;
  const m = headMask !== 0 && H > 0 ? run.read(headMask, H) : undefined;
  if (m !== undefined && m.some((x) => x !== 1)) {
    pattern = run.output(probs.shape);
    k.copy(pattern.ptr, probs.ptr, probs.size);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const at = pattern.ptr + 4 * (b * H + h) * perHead;
        k.scale(at, at, m[h]!, perHead);
      }
    }
  }
  run.hook(hook, pattern);
}

/**
 * Attention of the run's T new positions of each row against every position the KV cache holds: their keys and
 * values are written to the cache's rows past … past + T − 1 (past = `cache.length`, the positions earlier runs
 * put there), then each query i attends to the cache's past + T keys, the causal mask offset by `past`. The
 * pattern hook is [B, H, T, past + T]. Forward only: a run that records backward does not take a cache.
 */
function cachedAttention(cx: WasmContext, q: Act, key: Act, value: Act, spec: AttentionSpec, cache: KvCache): Act {
  const run = cx.run, k = run.k, x = cx.inputs;
  const { B, T } = x;
  const { layer, heads: H, headDim: D, scale, causal } = spec;
  const groups = kvGroups(spec), Hkv = groups.kvHeads, width = Hkv * D;
  const where = `attention of layer ${layer}`;
  if (run.recording) throw new Error(`${where}: a KV cache serves forward passes only (no gradients)`);
  const past = cache.length, Tk = past + T, C = cache.capacity;
  const slot = cache.layer(layer);
  if (slot.width !== width) {
    throw new Error(`${where}: the KV cache holds rows of ${slot.width} values, k and v have ${width}`);
  }
  // the new positions' keys and values join the cache (row by row: k, v may be views of a fused projection)
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const to = 4 * (b * C + past + t) * width, from = 4 * (b * T + t);
      k.copy(slot.k + to, key.ptr + from * key.rowStride, width);
      k.copy(slot.v + to, value.ptr + from * value.rowStride, width);
    }
  }
  const kvHead = spec.kvHeadOf === undefined || H === 0 ? 0 : run.ints(groups.kvHeadOf);
  const headMask = x.headMask[layer]!;
  const ctx = run.output([B, T, H * D]);
  const keep = run.wants(spec.patternHook);
  const probs = run.output(keep ? [B, H, T, Tk] : [T, Tk]);
  // one call per row: a row's cached positions lie `capacity` rows apart, the kernel's rows past + T apart
  for (let b = 0; H > 0 && b < B; b++) {
    k.attentionForward(
      ctx.ptr + 4 * b * T * H * D,
      keep ? probs.ptr + 4 * b * H * T * Tk : 0,
      q.ptr + 4 * b * T * q.rowStride,
      slot.k + 4 * b * C * width,
      slot.v + 4 * b * C * width,
      q.rowStride,
      width,
      cache.keyMask + 4 * b * C,
      headMask,
      kvHead,
      1,
      T,
      past,
      H,
      Hkv,
      D,
      scale,
      causal,
      windowOf(spec),
      keep ? 0 : probs.ptr,
    );
  }
  if (keep) emitPattern(run, spec.patternHook, probs, headMask, B, H, T * Tk);
  return ctx;
}
