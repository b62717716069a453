/**
 * The reference backend: every kernel as plain TypeScript loops with f64 accumulation. It is the oracle the
 * WASM-SIMD kernels are tested against; it is slow and meant for tests and tiny models only.
 *
 * @module
 */
import * as ref from "./_reference_math.ts";
import { createKernelMemory } from "./memory.ts";
import type { GeluKind, KernelMemory, Kernels, Ptr } from "./types.ts";

/**
 * Creates the reference (plain TypeScript) kernels.
 *
 * @param mem The memory to work in; a fresh one-page memory when omitted. It may be a WASM backend's memory, so
 *   both backends can run on the same pointers.
 * @returns The reference {@linkcode Kernels}, named "reference".
 *
 * @example Usage
 * ```ts
 * import { createReferenceKernels } from "./reference_kernels.ts";
 * const k = createReferenceKernels();
 * const x = k.mem.alloc(4 * 3);
 * k.mem.f32(x, 3).set([1, 2, 3]);
 * k.softmaxRows(x, 1, 3);
 * ```
 */
export function createReferenceKernels(mem?: KernelMemory): Kernels {
  const m = mem ?? createKernelMemory(new WebAssembly.Memory({ initial: 1 }));
  const F = () => new Float32Array(m.memory.buffer);
  const I = () => new Int32Array(m.memory.buffer);
  const x = (p: Ptr) => p >>> 2;
  return {
    name: "reference",
    mem: m,
    fill: (out, value, n) => ref.fill(F(), x(out), value, n),
    copy: (out, a, n) => ref.copy(F(), x(out), x(a), n),
    add: (out, a, b, n) => ref.add(F(), x(out), x(a), x(b), n),
    scale: (out, a, s, n) => ref.scale(F(), x(out), x(a), s, n),
    addBias: (out, a, bias, rows, cols) => ref.addBias(F(), x(out), x(a), x(bias), rows, cols),
    biasBackward: (dbias, dout, rows, cols) => ref.biasBackward(F(), x(dbias), x(dout), rows, cols),
    matmul: (out, a, b, bias, M, K, N, flags) => ref.matmul(F(), x(out), x(a), x(b), x(bias), M, K, N, flags),
    layerNormForward: (out, mean, rstd, inp, weight, bias, rows, C, eps) =>
      ref.layerNormForward(F(), x(out), x(mean), x(rstd), x(inp), x(weight), x(bias), rows, C, eps),
    layerNormBackward: (dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C) =>
      ref.layerNormBackward(F(), x(dinp), x(dweight), x(dbias), x(dout), x(inp), x(weight), x(mean), x(rstd), rows, C),
    geluForward: (out, inp, n, kind: GeluKind) => ref.geluForward(F(), x(out), x(inp), n, kind),
    geluBackward: (dinp, inp, dout, n, kind: GeluKind) => ref.geluBackward(F(), x(dinp), x(inp), x(dout), n, kind),
    tanhForward: (out, inp, n) => ref.tanhForward(F(), x(out), x(inp), n),
    tanhBackward: (dinp, out, dout, n) => ref.tanhBackward(F(), x(dinp), x(out), x(dout), n),
    softmaxRows: (p, rows, cols) => ref.softmaxRows(F(), x(p), rows, cols),
    attentionForward: (ctx, probs, q, k, v, ldqkv, keyMask, headMask, B, T, H, D, scale, causal) =>
      ref.attentionForward(
        F(),
        x(ctx),
        x(probs),
        x(q),
        x(k),
        x(v),
        ldqkv,
        x(keyMask),
        x(headMask),
        B,
        T,
        H,
        D,
        scale,
        causal,
      ),
    attentionBackward: (dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldqkv, headMask, _scratch, B, T, H, D, scale) =>
      ref.attentionBackward(
        F(),
        x(dq),
        x(dk),
        x(dv),
        x(dheadMask),
        x(dctx),
        x(probs),
        x(q),
        x(k),
        x(v),
        ldqkv,
        x(headMask),
        B,
        T,
        H,
        D,
        scale,
      ),
    crossEntropyForward: (losses, probs, logits, targets, rows, V) =>
      ref.crossEntropyForward(F(), I(), x(losses), x(probs), x(logits), x(targets), rows, V),
    crossEntropyBackward: (dlogits, probs, targets, rows, V, scale) =>
      ref.crossEntropyBackward(F(), I(), x(dlogits), x(probs), x(targets), rows, V, scale),
    embeddingForward: (out, table, ids, rows, C) => ref.embeddingForward(F(), I(), x(out), x(table), x(ids), rows, C),
    embeddingBackward: (dtable, dout, ids, rows, C) =>
      ref.embeddingBackward(F(), I(), x(dtable), x(dout), x(ids), rows, C),
    adamw: (param, grad, mm, v, n, lr, beta1, beta2, eps, weightDecay, step) =>
      ref.adamw(F(), x(param), x(grad), x(mm), x(v), n, lr, beta1, beta2, eps, weightDecay, step),
    sumSquares: (p, n) => ref.sumSquares(F(), x(p), n),
    dropoutForward: (out, mask, inp, n, p, seed) => ref.dropoutForward(F(), x(out), x(mask), x(inp), n, p, seed),
    dropoutBackward: (dinp, mask, dout, n) => ref.dropoutBackward(F(), x(dinp), x(mask), x(dout), n),
    attentionEntropy: (out, probs, queryMask, B, H, T) =>
      ref.attentionEntropy(F(), x(out), x(probs), queryMask === 0 ? -1 : x(queryMask), B, H, T),
  };
}
