/**
 * A pool of worker threads that run the heavy kernels (matmul, attention, and the element-wise and row-wise ones:
 * add, GELU, layer norm, entropy, zero-fill) together with the calling thread, on one shared `WebAssembly.Memory`,
 * so the synchronous {@linkcode Kernels} API stays synchronous: the caller posts a job into a shared control block,
 * wakes the workers with `Atomics.notify`, runs part 0 itself and waits (polling briefly, then `Atomics.wait`).
 * Matmuls are split by output-row blocks (or by output-column blocks on the weight-stationary nn.Linear path),
 * attention forward by (batch, head) and backward by kv head, the others by rows or slices of elements, so every
 * output element is computed exactly as on one thread: the results are bit-identical.
 *
 * Workers keep a Deno process alive until {@linkcode KernelPool.close} (or `using`) stops them.
 *
 * @module
 */
import {
  ARG_SLOTS,
  ARGS_BYTE_OFFSET,
  ATTENTION_BACKWARD_ARGS,
  ATTENTION_FORWARD_ARGS,
  CONTROL_BYTES,
  JOB_ATTENTION_BACKWARD,
  JOB_ATTENTION_FORWARD,
  JOB_MATMUL,
  JOB_ROWS,
  MAX_WORKERS,
  pollWhileEquals,
  ROW_KERNELS,
  runAttentionPart,
  runRowsPart,
  SLOT_DONE,
  SLOT_ERROR,
  SLOT_JOB,
  SLOT_PARTS,
  SLOT_READY,
  SLOT_STATE,
  STATE_JOB,
  STATE_STOP,
  type WorkerInit,
} from "./_pool_protocol.ts";
import type { KernelExports } from "./_wasm_module.ts";
import { MatmulFlags } from "./contract.ts";
import type { GeluKind, KernelMemory, Ptr } from "./types.ts";

/** The most threads a pool runs on (the caller and {@linkcode MAX_WORKERS} workers). */
export const MAX_THREADS: number = MAX_WORKERS + 1;

/** Multiply-adds under which a matmul runs on the caller alone (waking the workers costs ≈ 10–50 µs). */
const MIN_SPLIT_MACS = 1 << 18;

/**
 * Work (in floats touched, weighted by cost) under which a row-split kernel runs on the caller alone: add and
 * layer norm count 1 a float (memory-bound, short), GELU 4 (an erf or tanh a float), entropy 16 (a log).
 */
const MIN_SPLIT_ROWS_ELEMENTS = 1 << 18;

/** How long pool creation waits for its workers to start before giving up. */
const START_TIMEOUT_MS = 20_000;

const WORKER_URL = new URL("./_kernel_worker.ts", import.meta.url);

/**
 * Whether this thread can run a worker pool: `SharedArrayBuffer`, `Atomics.wait` on this thread (not a browser's
 * main thread), module `Worker`s (not on Deno Deploy) and, under Deno, read access to the worker's module.
 *
 * @returns true when {@linkcode KernelPool} can start.
 *
 * @example Usage
 * ```ts
 * import { threadsAvailable } from "./worker_pool.ts";
 * const threads = threadsAvailable() ? 2 : 1;
 * ```
 */
export function threadsAvailable(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined" || typeof Worker === "undefined") {
    return false;
  }
  if ("document" in globalThis) return false; // a browser's main thread may not Atomics.wait
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno?.permissions?.querySync && WORKER_URL.protocol === "file:") {
    try {
      if (deno.permissions.querySync({ name: "read", path: WORKER_URL }).state !== "granted") return false;
    } catch {
      return false;
    }
  }
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return false;
  }
  return true;
}

/**
 * The threads to use by default: the cores this runtime reports (`navigator.hardwareConcurrency`), or 1 where
 * threads cannot run ({@linkcode threadsAvailable}).
 *
 * @returns A thread count ≥ 1.
 *
 * @example Usage
 * ```ts
 * import { defaultThreads } from "./worker_pool.ts";
 * defaultThreads() >= 1; // true
 * ```
 */
export function defaultThreads(): number {
  if (!threadsAvailable()) return 1;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(MAX_THREADS, Number.isInteger(cores) ? cores! : 1));
}

/** What a pool needs from the caller's kernel instance. */
export interface KernelPoolOptions {
  /** The compiled shared-memory build the workers instantiate. */
  readonly module: WebAssembly.Module;
  /** The caller's instance of that build, on `mem.memory`. */
  readonly main: KernelExports;
  /** The kernel memory (its `memory` is shared); worker scratch is allocated in it. */
  readonly mem: KernelMemory;
  /** The caller's gemm scratch (`matmul_scratch_bytes()` bytes). */
  readonly mainScratch: Ptr;
  /** Threads in all, the caller included (2 ≤ threads ≤ {@linkcode MAX_THREADS}). */
  readonly threads: number;
}

/** The worker pool: see the module doc. */
export class KernelPool {
  /** Threads the pool splits work across, the caller included; 1 once closed. */
  get threads(): number {
    return this.#workers.length === 0 ? 1 : this.#workers.length + 1;
  }

  readonly #main: KernelExports;
  readonly #mem: KernelMemory;
  readonly #mainScratch: Ptr;
  readonly #ctrl: Int32Array;
  readonly #args: Float64Array;
  #workers: Worker[] = [];

  /**
   * Starts `threads − 1` workers on the shared memory and waits (blocking, `Atomics.wait`) until each has
   * instantiated its kernels. Where the workers can only start while this thread returns to its event loop — a
   * browser's worker starting workers of its own — use {@linkcode KernelPool.start} instead.
   *
   * @param opts The caller's instance, memory and thread count.
   * @throws {RangeError} If `threads` is not an integer in [2, MAX_THREADS].
   * @throws {Error} If the workers do not start (their errors are reported by the runtime).
   */
  constructor(opts: KernelPoolOptions) {
    this.#main = opts.main;
    this.#mem = opts.mem;
    this.#mainScratch = opts.mainScratch;
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.#ctrl = new Int32Array(control);
    this.#args = new Float64Array(control, ARGS_BYTE_OFFSET, ARG_SLOTS);
    this.#spawn(opts, control);
    if (KernelPool.#deferWait) return;
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (let ready = this.#ready(); ready >= 0; ready = this.#ready()) {
      const left = deadline - performance.now();
      if (left <= 0) this.#failStart(ready);
      Atomics.wait(this.#ctrl, SLOT_READY, ready, left);
    }
  }

  /** Set while {@linkcode KernelPool.start} constructs: the constructor then returns without waiting. */
  static #deferWait = false;

  /**
   * Starts the pool without blocking this thread: the workers' readiness is awaited on the event loop
   * (`Atomics.waitAsync` where the runtime has it, else short timers), so it works where `new KernelPool` would
   * wait for ever — a browser's worker, whose own workers start only while it returns to its event loop.
   *
   * @param opts The caller's instance, memory and thread count.
   * @returns the started pool
   * @throws {RangeError} If `threads` is not an integer in [2, MAX_THREADS].
   * @throws {Error} If the workers do not start within the start timeout.
   */
  static async start(opts: KernelPoolOptions): Promise<KernelPool> {
    KernelPool.#deferWait = true;
    let pool: KernelPool;
    try {
      pool = new KernelPool(opts);
    } finally {
      KernelPool.#deferWait = false;
    }
    const waitAsync =
      (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { value: unknown } })
        .waitAsync;
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (let ready = pool.#ready(); ready >= 0; ready = pool.#ready()) {
      const left = deadline - performance.now();
      if (left <= 0) pool.#failStart(ready);
      if (waitAsync !== undefined) await waitAsync(pool.#ctrl, SLOT_READY, ready, Math.min(left, 50)).value;
      else await new Promise((resolve) => setTimeout(resolve, Math.min(left, 5)));
    }
    return pool;
  }

  /** Creates the workers and posts each its start message. */
  #spawn(opts: KernelPoolOptions, control: SharedArrayBuffer): void {
    const { threads } = opts;
    if (!Number.isInteger(threads) || threads < 2 || threads > MAX_THREADS) {
      throw new RangeError(`A kernel pool needs 2 to ${MAX_THREADS} threads, got ${threads}`);
    }
    const scratchBytes = opts.main.matmul_scratch_bytes();
    try {
      for (let index = 1; index < threads; index++) {
        const init: WorkerInit = {
          module: opts.module,
          memory: opts.mem.memory,
          control,
          index,
          gemmScratch: opts.mem.alloc(scratchBytes),
        };
        const worker = new Worker(WORKER_URL, { type: "module" });
        this.#workers.push(worker);
        worker.postMessage(init);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The count of workers that said they are ready, or −1 once all have. */
  #ready(): number {
    const ready = Atomics.load(this.#ctrl, SLOT_READY);
    return ready >= this.#workers.length ? -1 : ready;
  }

  /** Closes a pool whose workers did not all start in time, and says so. */
  #failStart(ready: number): never {
    const n = this.#workers.length;
    this.close();
    throw new Error(`Kernel pool: ${n - ready} of ${n} workers did not start`);
  }

  /**
   * {@linkcode Kernels.matmul} across the pool; a matmul too small to split runs on the caller alone.
   *
   * @param out Output [M, N].
   * @param a A.
   * @param b B.
   * @param bias Bias [N] or 0.
   * @param M Rows.
   * @param K Inner size.
   * @param N Columns.
   * @param flags MatmulFlags bits.
   */
  matmul(out: Ptr, a: Ptr, b: Ptr, bias: Ptr, M: number, K: number, N: number, flags: number): void {
    const threads = this.threads;
    if (threads === 1 || M * N * K < MIN_SPLIT_MACS || splitBlocks(M, N, flags) < threads) {
      this.#main.matmul_forward(out, a, b, bias, M, K, N, flags, this.#mainScratch);
      return;
    }
    const x = this.#args;
    x[0] = out, x[1] = a, x[2] = b, x[3] = bias, x[4] = M, x[5] = K, x[6] = N, x[7] = flags;
    this.#post(JOB_MATMUL);
    try {
      this.#main.matmul_part(out, a, b, bias, M, K, N, flags, this.#mainScratch, 0, threads);
    } finally {
      this.#join();
    }
  }

  /**
   * {@linkcode Kernels.geluForward} across the pool, split into slices of the elements (cut at multiples of 4).
   *
   * @param out Output.
   * @param inp Input.
   * @param n Elements.
   * @param kind The GELU variant.
   */
  geluForward(out: Ptr, inp: Ptr, n: number, kind: GeluKind): void {
    const x = this.#args;
    x[1] = out, x[2] = inp, x[3] = n;
    this.#rows(kind === "erf" ? "gelu_erf_forward" : "gelu_tanh_forward", 4 * n);
  }

  /**
   * {@linkcode Kernels.geluBackward} across the pool (dinp += gelu'(inp) ⊙ dout, element-wise).
   *
   * @param dinp Input gradient (accumulated).
   * @param inp Input.
   * @param dout Output gradient.
   * @param n Elements.
   * @param kind The GELU variant.
   */
  geluBackward(dinp: Ptr, inp: Ptr, dout: Ptr, n: number, kind: GeluKind): void {
    const x = this.#args;
    x[1] = dinp, x[2] = inp, x[3] = dout, x[4] = n;
    this.#rows(kind === "erf" ? "gelu_erf_backward" : "gelu_tanh_backward", 4 * n);
  }

  /**
   * {@linkcode Kernels.add} across the pool, split into slices of the elements (cut at multiples of 4).
   *
   * @param out Output.
   * @param a First input.
   * @param b Second input.
   * @param n Elements.
   */
  add(out: Ptr, a: Ptr, b: Ptr, n: number): void {
    const x = this.#args;
    x[1] = out, x[2] = a, x[3] = b, x[4] = n;
    this.#rows("add_forward", n);
  }

  /**
   * {@linkcode Kernels.layerNormForward} across the pool, split by rows.
   *
   * @param out Output [rows, C].
   * @param mean Row means saved.
   * @param rstd Row reciprocal deviations saved.
   * @param inp Input [rows, C].
   * @param weight γ [C].
   * @param bias β [C].
   * @param rows Rows.
   * @param C Row size.
   * @param eps ε.
   */
  layerNormForward(
    out: Ptr,
    mean: Ptr,
    rstd: Ptr,
    inp: Ptr,
    weight: Ptr,
    bias: Ptr,
    rows: number,
    C: number,
    eps: number,
  ): void {
    const x = this.#args;
    x[1] = out, x[2] = mean, x[3] = rstd, x[4] = inp, x[5] = weight, x[6] = bias, x[7] = rows, x[8] = C, x[9] = eps;
    this.#rows("layer_norm_forward", rows * C);
  }

  /**
   * {@linkcode Kernels.layerNormBackward} across the pool, split by rows when no weight gradient is asked for
   * (dγ and dβ sum over the rows: with them the caller runs it alone, in one order).
   *
   * @param dinp Input gradient (accumulated).
   * @param dweight dγ or 0.
   * @param dbias dβ or 0.
   * @param dout Output gradient.
   * @param inp Input.
   * @param weight γ.
   * @param mean Saved means.
   * @param rstd Saved reciprocal deviations.
   * @param rows Rows.
   * @param C Row size.
   */
  layerNormBackward(
    dinp: Ptr,
    dweight: Ptr,
    dbias: Ptr,
    dout: Ptr,
    inp: Ptr,
    weight: Ptr,
    mean: Ptr,
    rstd: Ptr,
    rows: number,
    C: number,
  ): void {
    if (dweight !== 0 || dbias !== 0) {
      const serial = this.#main["layer_norm_backward"] as (...args: number[]) => void;
      serial(dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C);
      return;
    }
    const x = this.#args;
    x[1] = dinp, x[2] = 0, x[3] = 0, x[4] = dout, x[5] = inp, x[6] = weight, x[7] = mean, x[8] = rstd;
    x[9] = rows, x[10] = C;
    this.#rows("layer_norm_backward", rows * C);
  }

  /**
   * {@linkcode Kernels.siluForward} across the pool, split into slices of the elements (cut at multiples of 4).
   *
   * @param out Output.
   * @param inp Input.
   * @param n Elements.
   */
  siluForward(out: Ptr, inp: Ptr, n: number): void {
    const x = this.#args;
    x[1] = out, x[2] = inp, x[3] = n;
    this.#rows("silu_forward", 4 * n);
  }

  /**
   * {@linkcode Kernels.siluBackward} across the pool (dinp += silu'(inp) ⊙ dout, element-wise).
   *
   * @param dinp Input gradient (accumulated).
   * @param inp Input.
   * @param dout Output gradient.
   * @param n Elements.
   */
  siluBackward(dinp: Ptr, inp: Ptr, dout: Ptr, n: number): void {
    const x = this.#args;
    x[1] = dinp, x[2] = inp, x[3] = dout, x[4] = n;
    this.#rows("silu_backward", 4 * n);
  }

  /**
   * {@linkcode Kernels.mulForward} across the pool, split into slices of the elements.
   *
   * @param out Output.
   * @param a First factor.
   * @param b Second factor.
   * @param n Elements.
   */
  mulForward(out: Ptr, a: Ptr, b: Ptr, n: number): void {
    const x = this.#args;
    x[1] = out, x[2] = a, x[3] = b, x[4] = n;
    this.#rows("mul_forward", n);
  }

  /**
   * {@linkcode Kernels.rmsNormForward} across the pool, split by rows.
   *
   * @param out Output [rows, C].
   * @param rstd Row reciprocal RMS saved.
   * @param inp Input [rows, C].
   * @param weight γ [C].
   * @param rows Rows.
   * @param C Row size.
   * @param eps ε.
   * @param offset Added to γ.
   */
  rmsNormForward(
    out: Ptr,
    rstd: Ptr,
    inp: Ptr,
    weight: Ptr,
    rows: number,
    C: number,
    eps: number,
    offset: number,
  ): void {
    const x = this.#args;
    x[1] = out, x[2] = rstd, x[3] = inp, x[4] = weight, x[5] = rows, x[6] = C, x[7] = eps, x[8] = offset;
    this.#rows("rms_norm_forward", rows * C);
  }

  /**
   * {@linkcode Kernels.rmsNormBackward} across the pool, split by rows when no weight gradient is asked for (dγ
   * sums over the rows: with it the caller runs it alone, in one order).
   *
   * @param dinp Input gradient (accumulated).
   * @param dweight dγ or 0.
   * @param dout Output gradient.
   * @param inp Input.
   * @param weight γ.
   * @param rstd Saved reciprocal RMS.
   * @param rows Rows.
   * @param C Row size.
   * @param offset Added to γ.
   */
  rmsNormBackward(
    dinp: Ptr,
    dweight: Ptr,
    dout: Ptr,
    inp: Ptr,
    weight: Ptr,
    rstd: Ptr,
    rows: number,
    C: number,
    offset: number,
  ): void {
    if (dweight !== 0) {
      const serial = this.#main["rms_norm_backward"] as (...args: number[]) => void;
      serial(dinp, dweight, dout, inp, weight, rstd, rows, C, offset);
      return;
    }
    const x = this.#args;
    x[1] = dinp, x[2] = 0, x[3] = dout, x[4] = inp, x[5] = weight, x[6] = rstd, x[7] = rows, x[8] = C, x[9] = offset;
    this.#rows("rms_norm_backward", rows * C);
  }

  /**
   * Zeroes `bytes` bytes at `ptr` across the pool (the kernel memory's zero-fill of a large allocation: gradient
   * buffers, hundreds of MB per BERT-base importance batch).
   *
   * @param ptr First byte.
   * @param bytes Bytes.
   */
  zero(ptr: Ptr, bytes: number): void {
    const x = this.#args;
    x[1] = ptr, x[2] = bytes;
    this.#rows("zero_bytes", bytes / 4);
  }

  /**
   * {@linkcode Kernels.attentionEntropy} across the pool, split by head.
   *
   * @param out Per-head sums [H] (accumulated).
   * @param probs Probabilities [B, H, T, T].
   * @param queryMask Query mask [B, T] or 0.
   * @param B Batch.
   * @param H Heads.
   * @param T Tokens.
   */
  attentionEntropy(out: Ptr, probs: Ptr, queryMask: Ptr, B: number, H: number, T: number): void {
    const x = this.#args;
    x[1] = out, x[2] = probs, x[3] = queryMask, x[4] = B, x[5] = H, x[6] = T;
    this.#rows("attention_entropy_heads", H < this.threads ? 0 : 16 * B * H * T * T);
  }

  /** Runs the {@linkcode JOB_ROWS} job whose arguments are in slots 1…, split when `work` floats are enough. */
  #rows(kernel: typeof ROW_KERNELS[number], work: number): void {
    const x = this.#args, threads = this.threads;
    x[0] = ROW_KERNELS.indexOf(kernel);
    if (threads === 1 || work < MIN_SPLIT_ROWS_ELEMENTS) return runRowsPart(this.#main, x, 0, 1);
    this.#post(JOB_ROWS);
    try {
      runRowsPart(this.#main, x, 0, threads);
    } finally {
      this.#join();
    }
  }

  /**
   * {@linkcode Kernels.attentionForward} across the pool, split by (batch, query head): k and v are only read,
   * so the query heads of one kv group may run on different threads.
   *
   * @param ctx Context out.
   * @param probs Probabilities saved.
   * @param q Queries.
   * @param k Keys.
   * @param v Values.
   * @param ldq Row stride of q.
   * @param ldkv Row stride of k and v.
   * @param keyMask Key mask or 0.
   * @param headMask Head mask or 0.
   * @param kvHead Each query head's kv head (i32 [H]) or 0 (contiguous groups).
   * @param B Batch.
   * @param T Tokens.
   * @param past Positions before the queries' (a KV cache's; k, v, keyMask hold past + T per row).
   * @param H Query heads.
   * @param Hkv Key/value heads.
   * @param D Head size.
   * @param scale Score scale.
   * @param causal Causal mask.
   * @param window Sliding window (keys j ≤ past + i − window masked), 0 for none.
   * @param scratch The caller's T·(past + T) scratch when `probs` is 0 (each worker gets its own for the call).
   */
  attentionForward(
    ctx: Ptr,
    probs: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    ldq: number,
    ldkv: number,
    keyMask: Ptr,
    headMask: Ptr,
    kvHead: Ptr,
    B: number,
    T: number,
    past: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    causal: boolean,
    window: number,
    scratch: Ptr,
  ): void {
    const threads = this.threads;
    if (threads === 1 || B * H < threads) {
      this.#main.attention_forward(
        ctx,
        probs,
        q,
        k,
        v,
        ldq,
        ldkv,
        keyMask,
        headMask,
        kvHead,
        B,
        T,
        past,
        H,
        Hkv,
        D,
        scale,
        causal,
        window,
        scratch,
      );
      return;
    }
    const x = this.#args;
    x[0] = ctx, x[1] = probs, x[2] = q, x[3] = k, x[4] = v, x[5] = ldq, x[6] = ldkv, x[7] = keyMask;
    x[8] = headMask, x[9] = kvHead, x[10] = B, x[11] = T, x[12] = past, x[13] = H, x[14] = Hkv, x[15] = D;
    x[16] = scale, x[17] = causal ? 1 : 0, x[18] = window;
    x[ATTENTION_FORWARD_ARGS] = scratch; // part 0's
    const mark = this.#mem.mark();
    if (probs === 0) {
      for (let i = 1; i < threads; i++) {
        x[ATTENTION_FORWARD_ARGS + i] = this.#mem.allocUninitialized(4 * T * (past + T));
      }
    }
    this.#post(JOB_ATTENTION_FORWARD);
    try {
      runAttentionPart(this.#main, JOB_ATTENTION_FORWARD, x, this.#mainScratch, 0, threads);
    } finally {
      this.#join();
      this.#mem.release(mark);
    }
  }

  /**
   * {@linkcode Kernels.attentionBackward} across the pool, split by kv head: each thread runs every query head
   * its kv heads serve, so no two threads accumulate into the same dk, dv rows and every sum keeps the order of
   * one thread (bit-identical). Each worker's T·T scratch is taken from the kernel memory for the call and
   * released before it returns.
   *
   * @param dq Query gradient.
   * @param dk Key gradient.
   * @param dv Value gradient.
   * @param dheadMask Head-mask gradient or 0.
   * @param dctx Context gradient.
   * @param probs Saved probabilities.
   * @param q Queries.
   * @param k Keys.
   * @param v Values.
   * @param ldq Row stride of q and dq.
   * @param ldkv Row stride of k, v, dk and dv.
   * @param headMask Head mask or 0.
   * @param kvHead Each query head's kv head (i32 [H]) or 0 (contiguous groups).
   * @param scratch The caller's T·T scratch.
   * @param B Batch.
   * @param T Tokens.
   * @param H Query heads.
   * @param Hkv Key/value heads.
   * @param D Head size.
   * @param scale Score scale.
   */
  attentionBackward(
    dq: Ptr,
    dk: Ptr,
    dv: Ptr,
    dheadMask: Ptr,
    dctx: Ptr,
    probs: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    ldq: number,
    ldkv: number,
    headMask: Ptr,
    kvHead: Ptr,
    scratch: Ptr,
    B: number,
    T: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
  ): void {
    const threads = this.threads;
    // fewer kv heads than threads still split (a thread whose range is empty returns at once); one kv head
    // (multi-query attention) runs on the caller alone
    if (threads === 1 || Hkv < 2) {
      this.#main.attention_backward(
        dq,
        dk,
        dv,
        dheadMask,
        dctx,
        probs,
        q,
        k,
        v,
        ldq,
        ldkv,
        headMask,
        kvHead,
        scratch,
        B,
        T,
        H,
        Hkv,
        D,
        scale,
      );
      return;
    }
    const x = this.#args;
    x[0] = dq, x[1] = dk, x[2] = dv, x[3] = dheadMask, x[4] = dctx, x[5] = probs, x[6] = q, x[7] = k, x[8] = v;
    x[9] = ldq, x[10] = ldkv, x[11] = headMask, x[12] = kvHead, x[13] = 0, x[14] = B, x[15] = T, x[16] = H;
    x[17] = Hkv, x[18] = D, x[19] = scale;
    x[ATTENTION_BACKWARD_ARGS] = scratch; // part 0's
    const mark = this.#mem.mark();
    for (let i = 1; i < threads; i++) x[ATTENTION_BACKWARD_ARGS + i] = this.#mem.allocUninitialized(4 * T * T);
    try {
      this.#post(JOB_ATTENTION_BACKWARD);
      runAttentionPart(this.#main, JOB_ATTENTION_BACKWARD, x, this.#mainScratch, 0, threads);
    } finally {
      this.#join();
      this.#mem.release(mark);
    }
  }

  /** Stops and terminates the workers; the kernels then run on the caller alone. Idempotent. */
  close(): void {
    const workers = this.#workers;
    this.#workers = [];
    for (let i = 0; i < workers.length; i++) {
      Atomics.store(this.#ctrl, SLOT_STATE + i, STATE_STOP);
      Atomics.notify(this.#ctrl, SLOT_STATE + i);
    }
    for (const w of workers) w.terminate();
  }

  /** {@linkcode KernelPool.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Posts the job whose arguments are in place to every worker. */
  #post(job: number): void {
    const ctrl = this.#ctrl;
    ctrl[SLOT_JOB] = job;
    ctrl[SLOT_PARTS] = this.#workers.length + 1;
    Atomics.store(ctrl, SLOT_DONE, 0);
    for (let i = 0; i < this.#workers.length; i++) {
      Atomics.store(ctrl, SLOT_STATE + i, STATE_JOB);
      Atomics.notify(ctrl, SLOT_STATE + i, 1);
    }
  }

  /** Waits until every worker has finished its part; throws if one failed. */
  #join(): void {
    const ctrl = this.#ctrl, n = this.#workers.length;
    for (;;) {
      const done = Atomics.load(ctrl, SLOT_DONE);
      if (done >= n) break;
      if (!pollWhileEquals(ctrl, SLOT_DONE, done)) Atomics.wait(ctrl, SLOT_DONE, done);
    }
    if (Atomics.load(ctrl, SLOT_ERROR) !== 0) {
      Atomics.store(ctrl, SLOT_ERROR, 0);
      throw new Error("Kernel pool: a worker's part of the kernel failed (a pointer outside the memory?)");
    }
  }
}

/**
 * Blocks matmul_part splits a matmul into: 6-column blocks on the nn.Linear path (TRANS_B, plain A, M ≥ 8, N ≥ 6
 * and a multiple of 6 or ≥ 96 — the test `isLinearFastPath` makes in assembly/matmul.ts), else 6-row panels.
 */
function splitBlocks(M: number, N: number, flags: number): number {
  const linear = (flags & MatmulFlags.TRANS_B) !== 0 && (flags & MatmulFlags.TRANS_A) === 0 && M >= 8 && N >= 6 &&
    (N % 6 === 0 || N >= 96);
  return linear ? Math.floor(N / 6) : Math.ceil(M / 6);
}
