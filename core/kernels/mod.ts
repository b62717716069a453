/**
 * Numeric kernels for bertology: the {@linkcode Kernels} contract (its table, {@linkcode KERNEL_CONTRACT}, and
 * its documented interface), the WASM-SIMD backend (the fast path), the plain-TypeScript reference backend (the
 * test oracle), the bump-allocated {@linkcode KernelMemory} they work in, and the thread count helpers of the
 * worker pool the WASM backend splits matmul and attention across (`createWasmKernels({ threads })`).
 *
 * @example Usage
 * ```ts
 * import { createWasmKernels, MatmulFlags } from "./mod.ts";
 * const k = createWasmKernels();
 * const x = k.mem.alloc(4 * 2 * 3), w = k.mem.alloc(4 * 4 * 3), y = k.mem.alloc(4 * 2 * 4);
 * k.mem.f32(x, 6).set([1, 2, 3, 4, 5, 6]);
 * k.mem.f32(w, 12).fill(0.5);
 * k.matmul(y, x, w, 0, 2, 3, 4, MatmulFlags.TRANS_B); // y = x·wᵀ, as nn.Linear
 * ```
 *
 * @module
 */
export * from "./contract.ts";
export * from "./types.ts";
export * from "./memory.ts";
export * from "./wasm_kernels.ts";
export * from "./reference_kernels.ts";
export { defaultThreads, MAX_THREADS, threadsAvailable } from "./worker_pool.ts";
