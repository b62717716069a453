/**
 * Instantiates the embedded kernel binaries (internal: `wasm_kernels.ts` wraps the exports as {@linkcode Kernels}).
 *
 * @module
 */
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_SIMD_WASM_BASE64 } from "./wasm/_embedded.ts";

/** The raw exports of `assembly/index.ts`; pointers are byte offsets into `memory`. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  matmul_scratch_bytes(): number;
  matmul_forward(
    out: number,
    a: number,
    b: number,
    bias: number,
    M: number,
    K: number,
    N: number,
    flags: number,
    scratch: number,
  ): void;
  attention_forward(
    ctx: number,
    probs: number,
    q: number,
    k: number,
    v: number,
    ldqkv: number,
    keyMask: number,
    headMask: number,
    B: number,
    T: number,
    H: number,
    D: number,
    scale: number,
    causal: number,
  ): void;
  attention_backward(
    dq: number,
    dk: number,
    dv: number,
    dheadMask: number,
    dctx: number,
    probs: number,
    q: number,
    k: number,
    v: number,
    ldqkv: number,
    headMask: number,
    scratch: number,
    B: number,
    T: number,
    H: number,
    D: number,
    scale: number,
  ): void;
  layer_norm_forward(
    out: number,
    mean: number,
    rstd: number,
    inp: number,
    weight: number,
    bias: number,
    rows: number,
    C: number,
    eps: number,
  ): void;
  layer_norm_backward(
    dinp: number,
    dweight: number,
    dbias: number,
    dout: number,
    inp: number,
    weight: number,
    mean: number,
    rstd: number,
    rows: number,
    C: number,
  ): void;
  erf(x: number): number;
  gelu_erf_forward(out: number, inp: number, n: number): void;
  gelu_erf_backward(dinp: number, inp: number, dout: number, n: number): void;
  gelu_tanh_forward(out: number, inp: number, n: number): void;
  gelu_tanh_backward(dinp: number, inp: number, dout: number, n: number): void;
  tanh_forward(out: number, inp: number, n: number): void;
  tanh_backward(dinp: number, out: number, dout: number, n: number): void;
  softmax_forward(x: number, rows: number, cols: number): void;
  cross_entropy_forward(losses: number, probs: number, logits: number, targets: number, rows: number, V: number): void;
  cross_entropy_backward(dlogits: number, probs: number, targets: number, rows: number, V: number, scale: number): void;
  embedding_forward(out: number, table: number, ids: number, rows: number, C: number): void;
  embedding_backward(dtable: number, dout: number, ids: number, rows: number, C: number): void;
  fill_forward(out: number, value: number, n: number): void;
  copy_forward(out: number, a: number, n: number): void;
  add_forward(out: number, a: number, b: number, n: number): void;
  scale_forward(out: number, a: number, s: number, n: number): void;
  bias_forward(out: number, a: number, bias: number, rows: number, cols: number): void;
  bias_backward(dbias: number, dout: number, rows: number, cols: number): void;
  sum_squares(x: number, n: number): number;
  adamw_update(
    param: number,
    grad: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  dropout_forward(out: number, mask: number, inp: number, n: number, p: number, seed: number): void;
  dropout_backward(dinp: number, mask: number, dout: number, n: number): void;
  attention_entropy(out: number, probs: number, queryMask: number, B: number, H: number, T: number): void;
}

/** Which SIMD build: relaxed SIMD (fused multiply-add) or fixed-width SIMD only. */
export type SimdKind = "relaxed" | "fixed";

/**
 * The embedded binary of one build.
 *
 * @param kind Which build.
 * @returns The .wasm bytes.
 */
export function kernelsWasmBytes(kind: SimdKind): Uint8Array<ArrayBuffer> {
  const b64 = kind === "relaxed" ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_SIMD_WASM_BASE64;
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Whether this engine supports relaxed SIMD (validates the relaxed build).
 *
 * @returns true when the relaxed build validates.
 */
export function relaxedSimdSupported(): boolean {
  RELAXED_SUPPORTED ??= WebAssembly.validate(kernelsWasmBytes("relaxed"));
  return RELAXED_SUPPORTED;
}

let RELAXED_SUPPORTED: boolean | undefined;

/**
 * A new instance of one build (synchronous compile: the binaries are small).
 *
 * @param kind Which build.
 * @returns The instance's exports.
 */
export function instantiateKernels(kind: SimdKind): KernelExports {
  let module = COMPILED.get(kind);
  if (module === undefined) {
    module = new WebAssembly.Module(kernelsWasmBytes(kind));
    COMPILED.set(kind, module);
  }
  return new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
}

// Compiled code is immutable and shareable: every instance gets its own memory, but they share one compile, so
// V8's tier-up to optimised code (which happens per module) is paid once per process, not once per model.
const COMPILED = new Map<SimdKind, WebAssembly.Module>();
