/**
 * The WASM executor of the semantic ops (`ops.ts`): each op is one or a few kernel calls on the run's arena,
 * and — when the run records — pushes its backward step on the run's tape. This is the only module where a
 * model's ops meet pointers.
 *
 * @module
 */

import { type GeluKind, MatmulFlags, type Ptr } from "../kernels/types.ts";
import { numel } from "../tensor.ts";
import type { ArenaInputs } from "./inputs.ts";
import type { AttentionSpec, HookLayout, LayerNormParams, LinearParams, ModelOps, TokenInput } from "./ops.ts";
import type { Param, ParamStore } from "./param_store.ts";
import type { Act, Run } from "./run.ts";

/** Runs a family's forward pass on the WASM kernels. */
export class WasmOps implements ModelOps<Act> {
  readonly #run: Run;
  readonly #params: ParamStore;
  readonly #x: ArenaInputs;
  #dropCalls = 0;

  /**
   * @param run the run (arena, tape, kept names)
   * @param params the weights
   * @param inputs the batch in kernel memory
   */
  constructor(run: Run, params: ParamStore, inputs: ArenaInputs) {
    this.#run = run;
    this.#params = params;
    this.#x = inputs;
  }

  hasWeight(name: string): boolean {
    return this.#params.has(name);
  }

  embedding(table: string, input: TokenInput): Act {
    const x = this.#x;
    const ids = input === "input_ids" ? x.ids : input === "position_ids" ? x.positions : x.tokenTypes;
    return this.#gather(this.#params.get(table), ids, x.B * x.T, [x.B, x.T]);
  }

  /** Rows `src[rows[i]]` of a [N, C] table or activation → [...shape, C]; backward scatter-adds. */
  #gather(src: Param | Act, rows: Ptr, count: number, shape: readonly number[]): Act {
    const run = this.#run, k = run.k;
    const C = src.shape[src.shape.length - 1]!;
    const y = run.output([...shape, C]);
    if ("name" in src && src.dtype !== "F32") this.#gatherHalf(y.ptr, src, rows, count, C);
    else k.embeddingForward(y.ptr, src.ptr, rows, count, C);
    if (!("name" in src)) run.derive(y, src);
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      if ("name" in src) {
        if (run.paramGrads && src.grad !== 0) k.embeddingBackward(src.grad, run.gradOf(y), rows, count, C);
      } else if (run.requiresGrad(src)) k.embeddingBackward(run.gradOf(src), run.gradOf(y), rows, count, C);
    });
    return y;
  }

  /** The rows of an F16/BF16 table, widened one row each (the whole table is never widened). */
  #gatherHalf(out: Ptr, table: Param, rows: Ptr, count: number, C: number): void {
    const k = this.#run.k, bfloat = table.dtype === "BF16";
    const ids = k.mem.i32(rows, count).slice();
    for (let r = 0; r < count; r++) k.halfToFloat(out + 4 * r * C, table.ptr, ids[r]! * C, C, bfloat);
  }

  add(a: Act, b: Act): Act {
    const run = this.#run, k = run.k;
    dense(run, a, "add");
    dense(run, b, "add");
    const y = run.output(a.shape);
    k.add(y.ptr, a.ptr, b.ptr, a.size);
    run.derive(y, a, b);
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const dy = run.gradOf(y);
      if (run.requiresGrad(a)) {
        const da = run.gradOf(a);
        k.add(da, da, dy, a.size);
      }
      if (run.requiresGrad(b)) {
        const db = run.gradOf(b);
        k.add(db, db, dy, b.size);
      }
    });
    return y;
  }

  layerNorm(x: Act, p: LayerNormParams): Act {
    const run = this.#run, k = run.k;
    dense(run, x, "layerNorm");
    const weight = this.#params.get(p.weight), bias = this.#params.get(p.bias);
    const C = x.shape[x.shape.length - 1]!;
    const rows = x.size / C;
    const y = run.output(x.shape);
    const mean = run.output([rows]);
    const rstd = run.output([rows]);
    const params = this.#params;
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
  }

  linear(x: Act, p: LinearParams): Act {
    const run = this.#run, k = run.k;
    dense(run, x, "linear");
    const params = this.#params;
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
  }

  splitQKV(x: Act, heads: number): [Act, Act, Act] {
    const width = x.shape[x.shape.length - 1]!;
    if (width % 3 !== 0 || (heads > 0 && (width / 3) % heads !== 0)) {
      throw new Error(`splitQKV: a fused projection of width ${width} does not split into 3 × ${heads} heads`);
    }
    const HD = width / 3;
    return [this.#run.view(x, 0, HD), this.#run.view(x, HD, HD), this.#run.view(x, 2 * HD, HD)];
  }

  attention(query: Act, key: Act, value: Act, spec: AttentionSpec): Act {
    const run = this.#run, k = run.k, x = this.#x;
    const { B, T } = x;
    const { layer, heads: H, headDim: D, scale, causal } = spec;
    // the kernel reads q, k, v with one row stride: views of one fused projection, or dense (a patched one)
    const shared = query.rowStride === key.rowStride && key.rowStride === value.rowStride;
    const [q, kk, v] = shared ? [query, key, value] : [this.#dense(query), this.#dense(key), this.#dense(value)];
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
  }

  /** A dense copy of a strided view (row by row); backward adds the rows back. Dense input: returned as is. */
  #dense(a: Act): Act {
    const run = this.#run, k = run.k;
    if (run.isContiguous(a)) return a;
    const C = a.shape[a.shape.length - 1]!, rows = a.size / C, stride = a.rowStride;
    const y = run.output(a.shape);
    for (let r = 0; r < rows; r++) k.copy(y.ptr + 4 * r * C, a.ptr + 4 * r * stride, C);
    run.derive(y, a);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(a)) return;
      const dy = run.gradOf(y), da = run.gradOf(a);
      for (let r = 0; r < rows; r++) k.add(da + 4 * r * stride, da + 4 * r * stride, dy + 4 * r * C, C);
    });
    return y;
  }

  neuronMask(x: Act, layer: number): Act {
    const run = this.#run, k = run.k;
    const mask = this.#x.neuronMask?.[layer] ?? 0;
    const I = x.shape[x.shape.length - 1]!;
    if (mask === 0 || I === 0) return x;
    dense(run, x, "neuronMask");
    const rows = x.size / I;
    const grad = this.#x.neuronMaskGrad?.[layer] ?? 0;
    const y = run.act(x.shape);
    // dropoutBackward is the row-wise multiply-accumulate out += a ⊙ b: y (zeroed) += mask ⊙ x, row by row
    for (let r = 0; r < rows; r++) k.dropoutBackward(y.ptr + 4 * r * I, mask, x.ptr + 4 * r * I, I);
    run.derive(y, x);
    if (grad !== 0) run.requireGrad(y); // the mask is differentiated: y's gradient is needed
    run.onBackward(() => {
      if (!run.hasGrad(y)) return;
      const dy = run.gradOf(y), dx = run.requiresGrad(x) ? run.gradOf(x) : 0;
      for (let r = 0; r < rows; r++) {
        const at = 4 * r * I;
        if (dx !== 0) k.dropoutBackward(dx + at, mask, dy + at, I); // dx += mask ⊙ dy
        if (grad !== 0) k.dropoutBackward(grad, x.ptr + at, dy + at, I); // dmask += x ⊙ dy
      }
    });
    return y;
  }

  gelu(x: Act, kind: GeluKind): Act {
    const run = this.#run, k = run.k;
    dense(run, x, "gelu");
    const y = run.output(x.shape);
    k.geluForward(y.ptr, x.ptr, x.size, kind);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.geluBackward(run.gradOf(x), x.ptr, run.gradOf(y), x.size, kind);
    });
    return y;
  }

  tanh(x: Act): Act {
    const run = this.#run, k = run.k;
    dense(run, x, "tanh");
    const y = run.output(x.shape);
    k.tanhForward(y.ptr, x.ptr, x.size);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.tanhBackward(run.gradOf(x), y.ptr, run.gradOf(y), x.size);
    });
    return y;
  }

  firstToken(x: Act): Act {
    const run = this.#run, k = run.k;
    dense(run, x, "firstToken");
    const [B, T, C] = x.shape as [number, number, number];
    const y = run.output([B, C]);
    for (let b = 0; b < B; b++) k.copy(y.ptr + 4 * b * C, x.ptr + 4 * b * T * C, C);
    run.derive(y, x);
    run.onBackward(() => {
      if (!run.hasGrad(y) || !run.requiresGrad(x)) return;
      const dy = run.gradOf(y);
      const dx = run.gradOf(x);
      for (let b = 0; b < B; b++) k.add(dx + 4 * b * T * C, dx + 4 * b * T * C, dy + 4 * b * C, C);
    });
    return y;
  }

  lossRows(x: Act): Act {
    const rows = this.#x.lmRows;
    if (rows === undefined) return x;
    dense(this.#run, x, "lossRows");
    return this.#gather(x, rows.ptr, rows.count, [rows.count]);
  }

  dropout(x: Act): Act {
    const run = this.#run, k = run.k;
    const d = run.dropout;
    if (d === undefined) return x;
    dense(run, x, "dropout");
    // the i-th site of a run draws from seed hash(seed, i): every site gets an independent mask
    const i = this.#dropCalls++;
    const seed = (Math.imul(d.seed >>> 0, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca77)) >>> 0;
    const y = run.output(x.shape);
    const mask = run.output(x.shape);
    k.dropoutForward(y.ptr, mask.ptr, x.ptr, x.size, d.p, seed);
    run.derive(y, x);
    run.onBackward(() => {
      if (run.hasGrad(y) && run.requiresGrad(x)) k.dropoutBackward(run.gradOf(x), mask.ptr, run.gradOf(y), x.size);
    });
    return y;
  }

  block(x: Act, body: (x: Act) => Act): Act {
    // a recomputed block (Run.scoped) runs its body again in backward: it must draw the same dropout masks
    const firstDrop = this.#dropCalls;
    return this.#run.scoped(x.shape, () => {
      const resume = this.#dropCalls;
      this.#dropCalls = firstDrop;
      const y = body(x);
      this.#dropCalls = Math.max(this.#dropCalls, resume);
      return y;
    }, x);
  }

  hook(name: string, x: Act, layout?: HookLayout): Act {
    const H = layout?.heads;
    if (H === undefined || !this.#run.wants(name)) return this.#run.hook(name, x);
    const C = x.shape[x.shape.length - 1]!;
    return this.#run.hook(name, x, [...x.shape.slice(0, -1), H, H > 0 ? C / H : 0]);
  }
}

/** Kernels other than attention read dense rows: a strided view must not reach them. */
function dense(run: Run, a: Act, op: string): void {
  if (!run.isContiguous(a)) {
    throw new Error(`${op}: needs a dense activation, got a strided view (use it in attention)`);
  }
}
