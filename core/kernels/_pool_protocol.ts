/**
 * The layout of the worker pool's control block (a `SharedArrayBuffer` next to the kernel memory), shared by the
 * pool (`worker_pool.ts`) and its workers (`_kernel_worker.ts`): one job at a time, its arguments as f64, one
 * state word per worker.
 *
 * @module
 */

import type { KernelExports } from "./_wasm_module.ts";

/** Int32 index: the job kind ({@linkcode JOB_MATMUL}, …). */
export const SLOT_JOB = 0;
/** Int32 index: how many parts the job is split into (the caller takes part 0, worker i part i). */
export const SLOT_PARTS = 1;
/** Int32 index: how many workers have finished the current job (the caller waits on it). */
export const SLOT_DONE = 2;
/** Int32 index: how many workers have started (instantiated their kernels). */
export const SLOT_READY = 3;
/** Int32 index: set to 1 by a worker whose part of a job threw (the caller then throws). */
export const SLOT_ERROR = 4;
/** Int32 index of worker i's state word (i from 1): SLOT_STATE + i − 1. */
export const SLOT_STATE = 8;
/** The most workers a pool holds. */
export const MAX_WORKERS = 63;
/** Byte offset of the f64 job arguments. */
export const ARGS_BYTE_OFFSET = 4 * (SLOT_STATE + MAX_WORKERS + 1);
/** f64 slots for the job arguments (the per-worker scratch pointers follow a job's own arguments). */
export const ARG_SLOTS = 32 + MAX_WORKERS;
/** Bytes of the control block. */
export const CONTROL_BYTES = ARGS_BYTE_OFFSET + 8 * ARG_SLOTS;

/**
 * How long a thread polls a control word before it sleeps on it (`Atomics.wait`), in ms. The kernels of one pass
 * follow each other within microseconds to a few ms, and waking a sleeping thread costs tens of µs (more on a
 * VM, where the idle vCPU has halted): polling a little keeps the pool awake through a pass, and bounding it keeps
 * an idle pool from spinning.
 */
export const SPIN_MS = 0.5;

/**
 * Polls `ctrl[index]` until it is no longer `value`, for at most {@linkcode SPIN_MS}.
 *
 * @returns whether it changed (false: the caller should sleep on it)
 */
export function pollWhileEquals(ctrl: Int32Array, index: number, value: number): boolean {
  const end = performance.now() + SPIN_MS;
  for (;;) {
    for (let i = 0; i < 512; i++) if (Atomics.load(ctrl, index) !== value) return true;
    if (performance.now() > end) return false;
  }
}

/** Worker state: waiting for a job. */
export const STATE_IDLE = 0;
/** Worker state: a job is posted for it. */
export const STATE_JOB = 1;
/** Worker state: leave the loop (the pool is closing). */
export const STATE_STOP = 2;

/** Job: `matmul_part` with the 8 matmul arguments. */
export const JOB_MATMUL = 1;
/**
 * Job: `attention_forward_part` with the 19 attention arguments before its scratch; thread i's T·Tk scratch (used
 * when probs is 0) at f64 slot 19 + i.
 */
export const JOB_ATTENTION_FORWARD = 2;
/** Job: `attention_backward_part` with its 20 arguments (slot 13, its scratch, unused); thread i's T·T scratch at f64 slot 20 + i. */
export const JOB_ATTENTION_BACKWARD = 3;

/**
 * Where part `me` of `parts` of an element-wise job over n floats starts (part `me` ends where `me + 1` starts):
 * cut at multiples of 4, so every element goes through the same SIMD path as in one call (bit-identical).
 */
function sliceStart(n: number, me: number, parts: number): number {
  return Math.min(n, 4 * Math.floor((Math.ceil(n / 4) * me) / parts));
}

/**
 * Job: a kernel whose rows are independent, over a contiguous range of them: f64 slot 0 the kernel
 * ({@linkcode ROW_KERNELS} index), slots 1… its arguments in the contract's order.
 */
export const JOB_ROWS = 4;

/**
 * The kernels a {@linkcode JOB_ROWS} job names by index: the element-wise `add_forward` and GELU exports (their
 * rows are their elements, cut at multiples of 4), `layer_norm_forward` and `layer_norm_backward` (rows of C;
 * backward only without weight gradients, which sum over rows), `attention_entropy_heads` (split by head: a head's
 * sum keeps its order), `zero_bytes` (the kernel memory's zero-fill, in 64-byte lines), and the decoders'
 * `silu_forward`, `silu_backward`, `mul_forward` (element-wise) and `rms_norm_forward` / `rms_norm_backward` (rows of
 * C; backward only without the weight gradient).
 */
export const ROW_KERNELS = [
  "add_forward",
  "gelu_erf_forward",
  "gelu_erf_backward",
  "gelu_tanh_forward",
  "gelu_tanh_backward",
  "layer_norm_forward",
  "layer_norm_backward",
  "attention_entropy_heads",
  "zero_bytes",
  // decoder families: element-wise SiLU and product, RMSNorm by rows (backward only without the weight gradient)
  "silu_forward",
  "silu_backward",
  "mul_forward",
  "rms_norm_forward",
  "rms_norm_backward",
] as const;

/** Where part `me` of `parts` of `n` rows starts. */
function rowStart(n: number, me: number, parts: number): number {
  return Math.floor((n * me) / parts);
}

/**
 * Runs part `me` of `parts` of a {@linkcode JOB_ROWS} job on one instance's exports (the caller's part 0 or a
 * worker's); `a` holds the job's slots. Every row goes through the same code as in one call: bit-identical.
 */
export function runRowsPart(w: KernelExports, a: ArrayLike<number>, me: number, parts: number): void {
  const fn = (name: string) => w[name] as (...args: number[]) => void;
  const kernel = ROW_KERNELS[a[0]!];
  switch (kernel) {
    case "gelu_erf_forward":
    case "gelu_tanh_forward":
    case "silu_forward": {
      // (out, inp, n)
      const n = a[3]!, s = sliceStart(n, me, parts), e = sliceStart(n, me + 1, parts), o = 4 * s;
      if (e > s) fn(kernel)(a[1]! + o, a[2]! + o, e - s);
      break;
    }
    case "add_forward":
    case "gelu_erf_backward":
    case "gelu_tanh_backward":
    case "silu_backward":
    case "mul_forward": {
      // (out, a, b, n) and (dinp, inp, dout, n)
      const n = a[4]!, s = sliceStart(n, me, parts), e = sliceStart(n, me + 1, parts), o = 4 * s;
      if (e > s) fn(kernel)(a[1]! + o, a[2]! + o, a[3]! + o, e - s);
      break;
    }
    case "layer_norm_forward": {
      const rows = a[7]!, C = a[8]!, r0 = rowStart(rows, me, parts), r1 = rowStart(rows, me + 1, parts);
      const x = 4 * r0 * C, r = 4 * r0;
      if (r1 > r0) {
        fn("layer_norm_forward")(a[1]! + x, a[2]! + r, a[3]! + r, a[4]! + x, a[5]!, a[6]!, r1 - r0, C, a[9]!);
      }
      break;
    }
    case "layer_norm_backward": {
      const rows = a[9]!, C = a[10]!, r0 = rowStart(rows, me, parts), r1 = rowStart(rows, me + 1, parts);
      const x = 4 * r0 * C, r = 4 * r0;
      if (r1 > r0) {
        fn("layer_norm_backward")(a[1]! + x, 0, 0, a[4]! + x, a[5]! + x, a[6]!, a[7]! + r, a[8]! + r, r1 - r0, C);
      }
      break;
    }
    case "zero_bytes": {
      // slices of whole 64-byte lines: bytes are independent, any cut gives the same result
      const bytes = a[2]!, lines = Math.ceil(bytes / 64);
      const s = Math.min(bytes, 64 * rowStart(lines, me, parts)),
        e = Math.min(bytes, 64 * rowStart(lines, me + 1, parts));
      if (e > s) fn("zero_bytes")(a[1]! + s, e - s);
      break;
    }
    case "attention_entropy_heads": {
      const H = a[5]!, h0 = rowStart(H, me, parts), h1 = rowStart(H, me + 1, parts);
      if (h1 > h0) fn("attention_entropy_heads")(a[1]!, a[2]!, a[3]!, a[4]!, H, a[6]!, h0, h1);
      break;
    }
    case "rms_norm_forward": {
      // (out, rstd, inp, weight, rows, C, eps, offset)
      const rows = a[5]!, C = a[6]!, r0 = rowStart(rows, me, parts), r1 = rowStart(rows, me + 1, parts);
      const x = 4 * r0 * C;
      if (r1 > r0) fn("rms_norm_forward")(a[1]! + x, a[2]! + 4 * r0, a[3]! + x, a[4]!, r1 - r0, C, a[7]!, a[8]!);
      break;
    }
    case "rms_norm_backward": {
      // (dinp, 0, dout, inp, weight, rstd, rows, C, offset)
      const rows = a[7]!, C = a[8]!, r0 = rowStart(rows, me, parts), r1 = rowStart(rows, me + 1, parts);
      const x = 4 * r0 * C;
      if (r1 > r0) {
        fn("rms_norm_backward")(a[1]! + x, 0, a[3]! + x, a[4]! + x, a[5]!, a[6]! + 4 * r0, r1 - r0, C, a[9]!);
      }
      break;
    }
    default:
      throw new Error(`No row kernel ${a[0]}`);
  }
}

/** Arguments of an {@linkcode JOB_ATTENTION_FORWARD} job before the per-thread scratch pointers. */
export const ATTENTION_FORWARD_ARGS = 19;

/** Arguments of an {@linkcode JOB_ATTENTION_BACKWARD} job before the per-thread scratch pointers. */
export const ATTENTION_BACKWARD_ARGS = 20;

/**
 * Runs part `me` of `parts` of an attention job ({@linkcode JOB_ATTENTION_FORWARD} or
 * {@linkcode JOB_ATTENTION_BACKWARD}) on one instance's exports — the caller's (part 0) or a worker's — with that
 * thread's T·T scratch (from its slot after the job's arguments) and gemm scratch.
 */
export function runAttentionPart(
  w: KernelExports,
  job: number,
  a: ArrayLike<number>,
  gemmScratch: number,
  me: number,
  parts: number,
): void {
  const args = (from: number, to: number) => Array.prototype.slice.call(a, from, to) as number[];
  if (job === JOB_ATTENTION_FORWARD) {
    const scratch = a[ATTENTION_FORWARD_ARGS + me]!;
    w.attention_forward_part(...args(0, ATTENTION_FORWARD_ARGS), scratch, gemmScratch, me, parts);
  } else {
    // slot 13 is the contract's scratch argument: each thread's own comes from its slot instead
    const scratch = a[ATTENTION_BACKWARD_ARGS + me]!;
    w.attention_backward_part(...args(0, 13), scratch, ...args(14, ATTENTION_BACKWARD_ARGS), gemmScratch, me, parts);
  }
}

/** What the pool posts to a worker to start it. */
export interface WorkerInit {
  /** The compiled shared-memory build. */
  readonly module: WebAssembly.Module;
  /** The kernel memory (shared). */
  readonly memory: WebAssembly.Memory;
  /** The control block. */
  readonly control: SharedArrayBuffer;
  /** This worker's index, 1-based: it runs part `index` of every job. */
  readonly index: number;
  /** This worker's gemm scratch (`matmul_scratch_bytes()` bytes in the kernel memory). */
  readonly gemmScratch: number;
}
