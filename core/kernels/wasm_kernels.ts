/**
 * The fast backend: the AssemblyScript kernels (`assembly/`) compiled to WASM SIMD, wrapped as
 * {@linkcode Kernels}. The methods are bound by walking the contract table (`contract.ts`): most are the WASM
 * export itself, with no JS wrapper at all; the few that need one (matmul's scratch, GELU's variant) get a
 * fixed-arity closure. Everything is checked once, when bound; calls pass pointers and dimensions only, and
 * all float work happens in WASM.
 *
 * @module
 */
import { bindWasmKernels, instantiateKernels, relaxedSimdSupported, type SimdKind } from "./_wasm_module.ts";
import { createKernelMemory } from "./memory.ts";
import type { Kernels } from "./types.ts";

export type { SimdKind };

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
    ...bindWasmKernels(w, { matmulScratch }),
  };
}
