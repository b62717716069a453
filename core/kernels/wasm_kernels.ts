/**
 * The fast backend: the AssemblyScript kernels (`assembly/`) compiled to WASM SIMD, wrapped as
 * {@linkcode Kernels}. Each wrapper passes pointers and dimensions only; all float work happens in WASM.
 *
 * @module
 */
import { instantiateKernels, relaxedSimdSupported, type SimdKind } from "./_wasm_module.ts";

export type { SimdKind };
import { createKernelMemory } from "./memory.ts";
import type { Kernels } from "./types.ts";

/** Options for {@linkcode createWasmKernels}. */
export interface WasmKernelsOptions {
  /** Which build: "relaxed" (fused multiply-add) or "fixed" (plain SIMD). Default: relaxed where supported. */
  simd?: SimdKind;
}

/**
 * Creates a new, independent instance of the WASM-SIMD kernels with its own memory.
 *
 * @param opts Build choice; by default the relaxed-SIMD build where `WebAssembly.validate` accepts it, else fixed.
 * @returns The kernels, named "wasm-relaxed-simd" or "wasm-simd". Their `mem` is the instance's memory.
 * @throws {Error} If "relaxed" is asked for and the engine does not support relaxed SIMD.
 *
 * @example Usage
 * ```ts
 * import { createWasmKernels } from "./wasm_kernels.ts";
 * const k = createWasmKernels();
 * const a = k.mem.alloc(4 * 4), b = k.mem.alloc(4 * 4), c = k.mem.alloc(4 * 4);
 * k.mem.f32(a, 4).set([1, 2, 3, 4]);
 * k.mem.f32(b, 4).set([1, 0, 0, 1]);
 * k.matmul(c, a, b, 0, 2, 2, 2, 0); // c = a·b
 * ```
 */
export function createWasmKernels(opts: WasmKernelsOptions = {}): Kernels {
  const kind: SimdKind = opts.simd ?? (relaxedSimdSupported() ? "relaxed" : "fixed");
  if (kind === "relaxed" && opts.simd === "relaxed" && !relaxedSimdSupported()) {
    throw new Error('Relaxed SIMD is not supported by this engine: use { simd: "fixed" }');
  }
  const w = instantiateKernels(kind);
  const mem = createKernelMemory(w.memory, w.heap_base());
  // Fixed-size matmul scratch (packed panels), allocated first so no caller's mark/release can free it.
  const matmulScratch = mem.alloc(w.matmul_scratch_bytes());
  return {
    name: kind === "relaxed" ? "wasm-relaxed-simd" : "wasm-simd",
    mem,
    fill: (out, value, n) => w.fill_forward(out, value, n),
    copy: (out, a, n) => w.copy_forward(out, a, n),
    add: (out, a, b, n) => w.add_forward(out, a, b, n),
    scale: (out, a, s, n) => w.scale_forward(out, a, s, n),
    addBias: (out, a, bias, rows, cols) => w.bias_forward(out, a, bias, rows, cols),
    biasBackward: (dbias, dout, rows, cols) => w.bias_backward(dbias, dout, rows, cols),
    matmul: (out, a, b, bias, M, K, N, flags) => w.matmul_forward(out, a, b, bias, M, K, N, flags, matmulScratch),
    layerNormForward: (out, mean, rstd, inp, weight, bias, rows, C, eps) =>
      w.layer_norm_forward(out, mean, rstd, inp, weight, bias, rows, C, eps),
    layerNormBackward: (dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C) =>
      w.layer_norm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C),
    geluForward: (out, inp, n, kind) =>
      kind === "erf" ? w.gelu_erf_forward(out, inp, n) : w.gelu_tanh_forward(out, inp, n),
    geluBackward: (dinp, inp, dout, n, kind) =>
      kind === "erf" ? w.gelu_erf_backward(dinp, inp, dout, n) : w.gelu_tanh_backward(dinp, inp, dout, n),
    tanhForward: (out, inp, n) => w.tanh_forward(out, inp, n),
    tanhBackward: (dinp, out, dout, n) => w.tanh_backward(dinp, out, dout, n),
    softmaxRows: (x, rows, cols) => w.softmax_forward(x, rows, cols),
    attentionForward: (ctx, probs, q, k, v, ldqkv, keyMask, headMask, B, T, H, D, scale, causal) =>
      w.attention_forward(ctx, probs, q, k, v, ldqkv, keyMask, headMask, B, T, H, D, scale, causal ? 1 : 0),
    attentionBackward: (dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldqkv, headMask, scratch, B, T, H, D, scale) =>
      w.attention_backward(dq, dk, dv, dheadMask, dctx, probs, q, k, v, ldqkv, headMask, scratch, B, T, H, D, scale),
    crossEntropyForward: (losses, probs, logits, targets, rows, V) =>
      w.cross_entropy_forward(losses, probs, logits, targets, rows, V),
    crossEntropyBackward: (dlogits, probs, targets, rows, V, scale) =>
      w.cross_entropy_backward(dlogits, probs, targets, rows, V, scale),
    embeddingForward: (out, table, ids, rows, C) => w.embedding_forward(out, table, ids, rows, C),
    embeddingBackward: (dtable, dout, ids, rows, C) => w.embedding_backward(dtable, dout, ids, rows, C),
    adamw: (param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step) =>
      w.adamw_update(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step),
    sumSquares: (x, n) => w.sum_squares(x, n),
    dropoutForward: (out, mask, inp, n, p, seed) => w.dropout_forward(out, mask, inp, n, p, seed),
    dropoutBackward: (dinp, mask, dout, n) => w.dropout_backward(dinp, mask, dout, n),
    attentionEntropy: (out, probs, queryMask, B, H, T) => w.attention_entropy(out, probs, queryMask, B, H, T),
  };
}
