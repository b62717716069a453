/**
 * The fast backend: the AssemblyScript kernels (`assembly/`) compiled to WASM SIMD, wrapped as
 * {@linkcode Kernels}. The methods are bound by walking the contract table (`contract.ts`): most are the WASM
 * export itself, with no JS wrapper at all; the few that need one (matmul's scratch, GELU's variant) get a
 * fixed-arity closure. Everything is checked once, when bound; calls pass pointers and dimensions only, and
 * all float work happens in WASM. With `threads > 1` the kernels run on a shared memory and matmul and
 * attention are split across a worker pool (`worker_pool.ts`), with results bit-identical to one thread.
 *
 * @module
 */
import {
  bindWasmKernels,
  compiledKernels,
  instantiateKernels,
  relaxedSimdSupported,
  type SimdKind,
} from "./_wasm_module.ts";
import { createKernelMemory } from "./memory.ts";
import type { Kernels, Ptr } from "./types.ts";
import { KernelPool, type KernelPoolOptions, MAX_THREADS, threadsAvailable } from "./worker_pool.ts";

export type { SimdKind };

/** Options for {@linkcode createWasmKernels}. */
export interface WasmKernelsOptions {
  /** Which build: "relaxed" (fused multiply-add) or "fixed" (plain SIMD). Default: relaxed where supported. */
  simd?: SimdKind;
  /**
   * Threads to split matmuls and attention across, the caller included (default 1). Where workers or shared
   * memory are missing (a browser's main thread, Deno Deploy, Deno without read access to core) the kernels
   * run on one thread whatever is asked; `threads` on the result says what they got. A pool's workers keep a
   * Deno process alive until {@linkcode Kernels.close} stops them.
   */
  threads?: number;
}

/** Pages a shared kernel memory starts with (it grows as the allocator needs, up to the build's 4 GiB). */
const SHARED_INITIAL_PAGES = 16;
const SHARED_MAXIMUM_PAGES = 65536;

/**
 * Creates a new, independent instance of the WASM-SIMD kernels with its own memory.
 *
 * @param opts Build choice and threads; by default the relaxed-SIMD build where `WebAssembly.validate` accepts
 *   it, else fixed, on one thread.
 * @returns The kernels, named "wasm-relaxed-simd" or "wasm-simd". Their `mem` is the instance's memory.
 * @throws {Error} If "relaxed" is asked for and the engine does not support relaxed SIMD.
 * @throws {RangeError} If `threads` is not an integer from 1 to 64.
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
 *
 * @example Two threads
 * ```ts
 * import { createWasmKernels } from "./wasm_kernels.ts";
 * using k = { ...createWasmKernels({ threads: 2 }), [Symbol.dispose]() { this.close(); } };
 * k.threads; // 2 where workers can run, else 1
 * ```
 */
export function createWasmKernels(opts: WasmKernelsOptions = {}): Kernels {
  const k = prepareKernels(opts);
  return k.pooled ? k.withPool(new KernelPool(k.poolOptions)) : k.single;
}

/**
 * {@linkcode createWasmKernels}, with the worker pool started without blocking this thread (see
 * {@linkcode KernelPool.start}): what a browser's worker must use, where workers start only while it returns to
 * its event loop. On one thread the same as `createWasmKernels`.
 *
 * @param opts Build choice and threads.
 * @returns The kernels, once every worker is ready.
 * @throws {Error} As `createWasmKernels`, or if the workers do not start.
 * @example Usage
 * ```ts
 * import { createWasmKernelsAsync } from "./wasm_kernels.ts";
 * const k = await createWasmKernelsAsync({ threads: 2 });
 * k.threads >= 1; // true
 * k.close();
 * ```
 */
export async function createWasmKernelsAsync(opts: WasmKernelsOptions = {}): Promise<Kernels> {
  const k = prepareKernels(opts);
  return k.pooled ? k.withPool(await KernelPool.start(k.poolOptions)) : k.single;
}

/** The instance, its memory and bindings, and (for threads) how to bind a pool to them. */
function prepareKernels(opts: WasmKernelsOptions):
  | { pooled: false; single: Kernels }
  | { pooled: true; poolOptions: KernelPoolOptions; withPool: (pool: KernelPool) => Kernels } {
  const kind: SimdKind = opts.simd ?? (relaxedSimdSupported() ? "relaxed" : "fixed");
  if (kind === "relaxed" && opts.simd === "relaxed" && !relaxedSimdSupported()) {
    throw new Error('Relaxed SIMD is not supported by this engine: use { simd: "fixed" }');
  }
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  const name = kind === "relaxed" ? "wasm-relaxed-simd" : "wasm-simd";
  const pooled = threads > 1 && threadsAvailable();
  const shared = pooled
    ? new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAXIMUM_PAGES, shared: true })
    : undefined;
  const w = instantiateKernels(kind, shared);
  // zero-fill: the build's bulk memory.fill, split across the pool once there is one
  let zero = (ptr: Ptr, bytes: number) => w.zero_bytes(ptr, bytes);
  const mem = createKernelMemory(w.memory, w.heap_base(), (ptr, bytes) => zero(ptr, bytes));
  // Fixed-size matmul scratch (packed panels), allocated first so no caller's mark/release can free it; the
  // single-threaded attention exports use the same block (they never run inside a matmul).
  const matmulScratch = mem.alloc(w.matmul_scratch_bytes());
  w.set_gemm_scratch(matmulScratch);
  const kernels = bindWasmKernels(w, { matmulScratch });
  if (!pooled) return { pooled: false, single: { name, mem, threads: 1, close() {}, ...kernels } };
  const poolOptions = { module: compiledKernels(kind, true), main: w, mem, mainScratch: matmulScratch, threads };
  // the pool's methods over the same instance and memory (the pool starts blocking or not: the caller's choice)
  const withPool = (pool: KernelPool): Kernels => {
    zero = (ptr, bytes) => pool.zero(ptr, bytes);
    return {
      name,
      mem,
      get threads() {
        return pool.threads;
      },
      close: () => pool.close(),
      ...kernels,
      matmul: pool.matmul.bind(pool),
      attentionForward: pool.attentionForward.bind(pool),
      attentionBackward: pool.attentionBackward.bind(pool),
      geluForward: pool.geluForward.bind(pool),
      geluBackward: pool.geluBackward.bind(pool),
      add: pool.add.bind(pool),
      layerNormForward: pool.layerNormForward.bind(pool),
      layerNormBackward: pool.layerNormBackward.bind(pool),
      attentionEntropy: pool.attentionEntropy.bind(pool),
      siluForward: pool.siluForward.bind(pool),
      siluBackward: pool.siluBackward.bind(pool),
      mulForward: pool.mulForward.bind(pool),
      rmsNormForward: pool.rmsNormForward.bind(pool),
      rmsNormBackward: pool.rmsNormBackward.bind(pool),
    };
  };
  return { pooled: true, poolOptions, withPool };
}
