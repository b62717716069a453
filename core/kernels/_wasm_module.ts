/**
 * Instantiates the embedded kernel binaries (internal: `wasm_kernels.ts` wraps the exports as {@linkcode Kernels}).
 *
 * @module
 */
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_SIMD_WASM_BASE64 } from "./wasm/_embedded.ts";

/**
 * The raw exports of `assembly/index.ts`; pointers are byte offsets into `memory`. The kernels themselves are
 * looked up by the export names in `contract.ts` (and checked there by arity when bound); the helpers below are
 * the only other exports.
 */
export interface KernelExports {
  readonly [name: string]: WebAssembly.ExportValue;
  /** The instance's linear memory. */
  readonly memory: WebAssembly.Memory;
  /** First byte past the module's static data. */
  heap_base(): number;
  /** Bytes of packed-panel scratch `matmul_forward` needs (its last argument). */
  matmul_scratch_bytes(): number;
  /** The scalar erf the GELU kernels use (exported for its accuracy test). */
  erf(x: number): number;
}

/** The exports of the module that are not contract kernels. */
export const HELPER_EXPORTS: readonly string[] = ["memory", "heap_base", "matmul_scratch_bytes", "erf"];

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
  return new WebAssembly.Instance(module, {}).exports as KernelExports;
}

// Compiled code is immutable and shareable: every instance gets its own memory, but they share one compile, so
// V8's tier-up to optimised code (which happens per module) is paid once per process, not once per model.
const COMPILED = new Map<SimdKind, WebAssembly.Module>();
