/**
 * Instantiates the embedded kernel binaries and binds their exports to the contract table (internal:
 * `wasm_kernels.ts` puts the two together as {@linkcode Kernels}).
 *
 * @module
 */
import { type ContractKernels, GELU_KINDS, KERNEL_CONTRACT, KERNEL_NAMES, type KernelName } from "./contract.ts";
import {
  KERNELS_RELAXED_SHARED_WASM_BASE64,
  KERNELS_RELAXED_WASM_BASE64,
  KERNELS_SIMD_SHARED_WASM_BASE64,
  KERNELS_SIMD_WASM_BASE64,
} from "./wasm/_embedded.ts";

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
  /** Zeroes `bytes` bytes at `out` (bulk `memory.fill`): the kernel memory's zero-fill. */
  zero_bytes(out: number, bytes: number): void;
  /** Sets the gemm scratch (`matmul_scratch_bytes()` bytes) of the single-threaded attention exports. */
  set_gemm_scratch(scratch: number): void;
  /** Part `part` of `parts` of `matmul_forward` (the worker pool's split; bit-identical in union). */
  matmul_part(
    out: number,
    a: number,
    b: number,
    bias: number,
    M: number,
    K: number,
    N: number,
    flags: number,
    scratch: number,
    part: number,
    parts: number,
  ): void;
  /** The contract's matmul, with the packing scratch last (see `wasmTail`). */
  matmul_forward(...args: number[]): void;
  /** The contract's attentionForward. */
  attention_forward(...args: (number | boolean)[]): void;
  /** The contract's attentionBackward. */
  attention_backward(...args: number[]): void;
  /** Part `part` of `parts` of `attention_forward`: (batch, head) items, with this thread's gemm scratch. */
  attention_forward_part(...args: number[]): void;
  /** Part `part` of `parts` of `attention_backward`: kv heads, with this thread's T·T and gemm scratch. */
  attention_backward_part(...args: number[]): void;
}

/** The exports of the module that are not contract kernels. */
export const HELPER_EXPORTS: readonly string[] = [
  "memory",
  "heap_base",
  "matmul_scratch_bytes",
  "erf",
  "set_gemm_scratch",
  "zero_bytes",
  "attention_entropy_heads",
  "matmul_part",
  "attention_forward_part",
  "attention_backward_part",
];

/** Which SIMD build: relaxed SIMD (fused multiply-add) or fixed-width SIMD only. */
export type SimdKind = "relaxed" | "fixed";

/**
 * The embedded binary of one build.
 *
 * @param kind Which build.
 * @param shared The build on an imported shared memory (`env.memory`, for the worker pool), not its own memory.
 * @returns The .wasm bytes.
 */
export function kernelsWasmBytes(kind: SimdKind, shared = false): Uint8Array<ArrayBuffer> {
  const b64 = shared
    ? (kind === "relaxed" ? KERNELS_RELAXED_SHARED_WASM_BASE64 : KERNELS_SIMD_SHARED_WASM_BASE64)
    : (kind === "relaxed" ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_SIMD_WASM_BASE64);
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
 * The compiled module of one build, compiled once per process (synchronously: the binaries are small).
 *
 * @param kind Which build.
 * @param shared The shared-memory build (for the worker pool).
 * @returns The module.
 */
export function compiledKernels(kind: SimdKind, shared = false): WebAssembly.Module {
  const key = `${kind}${shared ? "-shared" : ""}`;
  let module = COMPILED.get(key);
  if (module === undefined) {
    module = new WebAssembly.Module(kernelsWasmBytes(kind, shared));
    COMPILED.set(key, module);
  }
  return module;
}

/**
 * A new instance of one build.
 *
 * @param kind Which build.
 * @param sharedMemory A shared memory to run the shared-memory build on (default: the plain build, with its own).
 * @returns The instance's exports.
 */
export function instantiateKernels(kind: SimdKind, sharedMemory?: WebAssembly.Memory): KernelExports {
  if (sharedMemory === undefined) return new WebAssembly.Instance(compiledKernels(kind), {}).exports as KernelExports;
  const imports = { env: { memory: sharedMemory } };
  const exports = new WebAssembly.Instance(compiledKernels(kind, true), imports).exports;
  return { ...exports, memory: sharedMemory } as KernelExports;
}

// Compiled code is immutable and shareable: every instance gets its own memory, but they share one compile, so
// V8's tier-up to optimised code (which happens per module) is paid once per process, not once per model.
const COMPILED = new Map<string, WebAssembly.Module>();

/** A WASM export taking numbers (JS → WASM conversion does ToInt32 / f32 rounding). */
type WasmFunction = (...args: (number | boolean)[]) => number | undefined;

/** Values the instance passes to WASM exports after the contract's arguments (see `wasmTail` in the table). */
export interface WasmTails {
  /** The instance's fixed packed-panel scratch for `matmul_forward` (`matmul_scratch_bytes()` bytes). */
  readonly matmulScratch: number;
}

/**
 * Binds every kernel of the contract table to an instance's exports. Kernels whose export takes exactly the
 * table's arguments are the export itself (no JS wrapper); matmul (scratch appended) and GELU (export picked by
 * kind) get a fixed-arity closure.
 *
 * @param w The instance's exports.
 * @param tails The values appended for rows with a `wasmTail`.
 * @returns Every kernel of the table.
 * @throws {Error} If an export is missing or takes another number of arguments than its row gives.
 */
export function bindWasmKernels(w: KernelExports, tails: WasmTails): ContractKernels {
  const kernels: Partial<Record<KernelName, unknown>> = {};
  for (const name of KERNEL_NAMES) kernels[name] = bindKernel(w, name, tails);
  // Every name is now bound to its export(s) with the table's arity; contract_test.ts checks the exports'
  // parameter types against the table's kinds.
  return kernels as ContractKernels;
}

/**
 * Binds one kernel of the contract to the instance's exports, checking once that each export exists and takes
 * exactly the table's arguments (WASM functions report their parameter count as `length`).
 */
function bindKernel(w: KernelExports, name: KernelName, tails: WasmTails): unknown {
  const spec = KERNEL_CONTRACT[name];
  const arity = spec.args.length;
  if (typeof spec.wasm === "string") {
    const extra = "wasmTail" in spec ? 1 : 0;
    const fn = wasmExport(w, spec.wasm, name, arity + extra);
    if (!("wasmTail" in spec)) return fn; // the export itself: no wrapper, no per-call cost
    return appendArgument(fn, arity, tails[spec.wasmTail], name);
  }
  // A `gelu` argument picks the export and is not passed on; the table puts it last.
  const last = spec.args[arity - 1];
  if (last?.[1] !== "gelu") throw new Error(`Kernel "${name}" maps to several exports but has no last gelu argument`);
  const byKind = Object.fromEntries(GELU_KINDS.map((g) => [g, wasmExport(w, spec.wasm[g], name, arity - 1)]));
  return selectByLastArgument(byKind, arity, name);
}

function wasmExport(w: KernelExports, exportName: string, kernel: KernelName, params: number): WasmFunction {
  const fn = w[exportName];
  if (typeof fn !== "function") throw new Error(`WASM export "${exportName}" (kernel "${kernel}") is missing`);
  if (fn.length !== params) {
    throw new Error(`WASM export "${exportName}" takes ${fn.length} arguments, kernel "${kernel}" passes ${params}`);
  }
  return fn as WasmFunction;
}

// Fixed-arity closures rather than rest parameters, so a call allocates nothing; each arity the table needs has
// its case, and a new one fails at binding time, not at a call.

function appendArgument(fn: WasmFunction, arity: number, tail: number, kernel: KernelName): unknown {
  switch (arity) {
    case 8:
      return (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number) =>
        fn(a, b, c, d, e, f, g, h, tail);
    default:
      throw new Error(`No ${arity}-argument wrapper to append the WASM tail of kernel "${kernel}"`);
  }
}

function selectByLastArgument(byKind: Record<string, WasmFunction>, arity: number, kernel: KernelName): unknown {
  switch (arity) {
    case 4:
      return (a: number, b: number, c: number, kind: string) => byKind[kind]!(a, b, c);
    case 5:
      return (a: number, b: number, c: number, d: number, kind: string) => byKind[kind]!(a, b, c, d);
    default:
      throw new Error(`No ${arity}-argument wrapper to select the WASM export of kernel "${kernel}"`);
  }
}
