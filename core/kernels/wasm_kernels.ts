/**
 * The fast backend: the AssemblyScript kernels (`assembly/`) compiled to WASM SIMD, wrapped as
 * {@linkcode Kernels}. The methods are bound by walking the contract table (`contract.ts`): most are the WASM
 * export itself, with no JS wrapper at all; the few that need one (matmul's scratch, GELU's variant) get a
 * fixed-arity closure. Everything is checked once, when bound; calls pass pointers and dimensions only, and
 * all float work happens in WASM.
 *
 * @module
 */
import { instantiateKernels, type KernelExports, relaxedSimdSupported, type SimdKind } from "./_wasm_module.ts";
import { type ContractKernels, GELU_KINDS, KERNEL_CONTRACT, KERNEL_NAMES, type KernelName } from "./contract.ts";
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
  const tails = { matmulScratch: mem.alloc(w.matmul_scratch_bytes()) };
  const kernels: Partial<Record<KernelName, unknown>> = {};
  for (const name of KERNEL_NAMES) kernels[name] = bindKernel(w, name, tails);
  return {
    name: kind === "relaxed" ? "wasm-relaxed-simd" : "wasm-simd",
    mem,
    // Every name was bound above to its export(s) with the table's arity; contract_test.ts checks the exports'
    // parameter types against the table's kinds.
    ...kernels as ContractKernels,
  };
}

/** A WASM export taking numbers (JS → WASM conversion does ToInt32 / f32 rounding). */
type WasmFunction = (...args: (number | boolean)[]) => number | undefined;

/**
 * Binds one kernel of the contract to the instance's exports, checking once that each export exists and takes
 * exactly the table's arguments (WASM functions report their parameter count as `length`).
 */
function bindKernel(w: KernelExports, name: KernelName, tails: { matmulScratch: number }): unknown {
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
