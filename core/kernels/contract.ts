/**
 * The kernel contract as one table: for every kernel its arguments (name and kind, in llm.c order), what its
 * forward saves for backward, its forward/backward pairing, which WASM export(s) run it, and the flag enums.
 *
 * Everything else follows from this table: the WASM backend binds each export by walking it
 * (`wasm_kernels.ts`), the reference twin implements exactly its entries (`reference_kernels.ts`), the
 * {@linkcode Kernels} interface in `types.ts` is checked against it at compile time, `assembly/build.ts`
 * generates the AssemblyScript flag constants from {@linkcode MatmulFlags}, and `contract_test.ts` checks the
 * compiled WASM's export names and parameter types against it.
 *
 * @module
 */
import type { Ptr } from "./types.ts";

/**
 * Bit flags for {@linkcode Kernels.matmul}: the one definition, `assembly/_contract.ts` is generated from it.
 *
 * @example Usage
 * ```ts
 * import { MatmulFlags } from "./contract.ts";
 * const dW = MatmulFlags.TRANS_A | MatmulFlags.ACCUMULATE; // dW += dyᵀ·x
 * ```
 */
export const MatmulFlags = {
  /** Read A as stored [K, M] (use Aᵀ). */
  TRANS_A: 1,
  /** Read B as stored [N, K] (use Bᵀ) — the layout of an HF `nn.Linear` weight. */
  TRANS_B: 2,
  /** Add into `out` instead of overwriting it. */
  ACCUMULATE: 4,
} as const;

/**
 * Every bit {@linkcode MatmulFlags} defines, OR-ed: a `flags` argument must not set any other.
 *
 * @example Usage
 * ```ts
 * import { MATMUL_FLAG_BITS } from "./contract.ts";
 * const valid = (flags: number) => (flags & ~MATMUL_FLAG_BITS) === 0;
 * valid(8); // false
 * ```
 */
export const MATMUL_FLAG_BITS: number = Object.values(MatmulFlags).reduce((a, b) => a | b, 0);

/**
 * The GELU variants: `erf` is BERT's / OpenAI GPT's `gelu`, `tanh` is GPT-2's `gelu_new`.
 *
 * @example Usage
 * ```ts
 * import { GELU_KINDS } from "./contract.ts";
 * GELU_KINDS.includes("tanh"); // true
 * ```
 */
export const GELU_KINDS = ["erf", "tanh"] as const;

/** A GELU variant, one of {@linkcode GELU_KINDS}. */
export type GeluKind = typeof GELU_KINDS[number];

/**
 * How a kernel uses a pointer argument. A trailing `?` (e.g. `"in?"`) means 0 is allowed and means "absent".
 *
 * - `out`: overwritten.
 * - `grad`: accumulated into (`+=`); the caller zeroes it first.
 * - `save`: written by a forward kernel for its backward to read back (llm.c's saved activations).
 * - `inout`: read and updated in place.
 * - `in`: read only.
 * - `scratch`: workspace the kernel may clobber.
 */
export type PointerKind = "out" | "grad" | "save" | "inout" | "in" | "scratch";

/**
 * How a kernel uses a scalar argument, and so its WASM type: `i32`, `u32` (passed as the same 32 bits), `flags`
 * (a {@linkcode MatmulFlags} bit set) and `bool` (JS ToInt32 turns `true` into 1) are WASM i32; `f32` and `f64`
 * are WASM f32 and f64. `gelu` is a {@linkcode GeluKind}: it picks the WASM export and is not passed on.
 */
export type ScalarKind = "i32" | "u32" | "f32" | "f64" | "flags" | "bool" | "gelu";

/** The kind of one kernel argument. */
export type ArgKind = PointerKind | `${PointerKind}?` | ScalarKind;

/** One argument: its name (as in `types.ts`) and its kind. */
export type ArgSpec = readonly [name: string, kind: ArgKind];

/** What a kernel returns: nothing, or one f64 number. */
export type ReturnKind = "void" | "f64";

/** One row of the table. */
export interface KernelSpec {
  /** The arguments in call order (llm.c: outputs, saved values, inputs, dimensions). */
  readonly args: readonly ArgSpec[];
  /** What the kernel returns. */
  readonly returns: ReturnKind;
  /** The WASM export that runs it, or one export per {@linkcode GeluKind} for a kernel with a `gelu` argument. */
  readonly wasm: string | { readonly [K in GeluKind]: string };
  /** A value the WASM export takes after the contract's arguments: the instance's fixed matmul scratch. */
  readonly wasmTail?: "matmulScratch";
  /** The kernel that computes this one's gradients (its `save` arguments are that kernel's inputs). */
  readonly backward?: string;
}

/**
 * The table itself. Method names, argument names and order are the ones of {@linkcode Kernels}.
 *
 * @example Usage
 * ```ts
 * import { KERNEL_CONTRACT } from "./contract.ts";
 * const { args, backward } = KERNEL_CONTRACT.layerNormForward;
 * args.map(([name, kind]) => `${name}:${kind}`); // ["out:out", "mean:save", "rstd:save", "inp:in", …]
 * backward; // "layerNormBackward"
 * ```
 */
export const KERNEL_CONTRACT = {
  // ---------------------------------------------------------------- elementwise
  fill: { args: [["out", "out"], ["value", "f32"], ["n", "i32"]], returns: "void", wasm: "fill_forward" },
  copy: { args: [["out", "out"], ["a", "in"], ["n", "i32"]], returns: "void", wasm: "copy_forward" },
  add: { args: [["out", "out"], ["a", "in"], ["b", "in"], ["n", "i32"]], returns: "void", wasm: "add_forward" },
  scale: { args: [["out", "out"], ["a", "in"], ["s", "f32"], ["n", "i32"]], returns: "void", wasm: "scale_forward" },
  addBias: {
    args: [["out", "out"], ["a", "in"], ["bias", "in"], ["rows", "i32"], ["cols", "i32"]],
    returns: "void",
    wasm: "bias_forward",
    backward: "biasBackward",
  },
  biasBackward: {
    args: [["dbias", "grad"], ["dout", "in"], ["rows", "i32"], ["cols", "i32"]],
    returns: "void",
    wasm: "bias_backward",
  },

  // ---------------------------------------------------------------- matmul
  matmul: {
    args: [
      ["out", "out"],
      ["a", "in"],
      ["b", "in"],
      ["bias", "in?"],
      ["M", "i32"],
      ["K", "i32"],
      ["N", "i32"],
      ["flags", "flags"],
    ],
    returns: "void",
    wasm: "matmul_forward",
    wasmTail: "matmulScratch",
    backward: "matmul", // dx and dW are matmuls with TRANS_A / ACCUMULATE flags
  },

  // ---------------------------------------------------------------- layer norm
  layerNormForward: {
    args: [
      ["out", "out"],
      ["mean", "save"],
      ["rstd", "save"],
      ["inp", "in"],
      ["weight", "in"],
      ["bias", "in"],
      ["rows", "i32"],
      ["C", "i32"],
      ["eps", "f32"],
    ],
    returns: "void",
    wasm: "layer_norm_forward",
    backward: "layerNormBackward",
  },
  layerNormBackward: {
    args: [
      ["dinp", "grad"],
      ["dweight", "grad?"],
      ["dbias", "grad?"],
      ["dout", "in"],
      ["inp", "in"],
      ["weight", "in"],
      ["mean", "in"],
      ["rstd", "in"],
      ["rows", "i32"],
      ["C", "i32"],
    ],
    returns: "void",
    wasm: "layer_norm_backward",
  },

  // ---------------------------------------------------------------- activations
  geluForward: {
    args: [["out", "out"], ["inp", "in"], ["n", "i32"], ["kind", "gelu"]],
    returns: "void",
    wasm: { erf: "gelu_erf_forward", tanh: "gelu_tanh_forward" },
    backward: "geluBackward",
  },
  geluBackward: {
    args: [["dinp", "grad"], ["inp", "in"], ["dout", "in"], ["n", "i32"], ["kind", "gelu"]],
    returns: "void",
    wasm: { erf: "gelu_erf_backward", tanh: "gelu_tanh_backward" },
  },
  tanhForward: {
    args: [["out", "save"], ["inp", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "tanh_forward",
    backward: "tanhBackward",
  },
  tanhBackward: {
    args: [["dinp", "grad"], ["out", "in"], ["dout", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "tanh_backward",
  },
  reluForward: {
    args: [["out", "out"], ["inp", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "relu_forward",
    backward: "reluBackward",
  },
  reluBackward: {
    args: [["dinp", "grad"], ["inp", "in"], ["dout", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "relu_backward",
  },
  softmaxRows: { args: [["x", "inout"], ["rows", "i32"], ["cols", "i32"]], returns: "void", wasm: "softmax_forward" },

  // ---------------------------------------------------------------- attention
  attentionForward: {
    args: [
      ["ctx", "out"],
      ["probs", "save?"],
      ["q", "in"],
      ["k", "in"],
      ["v", "in"],
      ["ldq", "i32"],
      ["ldkv", "i32"],
      ["keyMask", "in?"],
      ["headMask", "in?"],
      ["kvHead", "in?"],
      ["B", "i32"],
      ["T", "i32"],
      ["past", "i32"],
      ["H", "i32"],
      ["Hkv", "i32"],
      ["D", "i32"],
      ["scale", "f32"],
      ["causal", "bool"],
      ["window", "i32"],
      ["scratch", "scratch?"],
    ],
    returns: "void",
    wasm: "attention_forward",
    backward: "attentionBackward",
  },
  attentionBackward: {
    args: [
      ["dq", "grad"],
      ["dk", "grad"],
      ["dv", "grad"],
      ["dheadMask", "grad?"],
      ["dctx", "in"],
      ["probs", "in"],
      ["q", "in"],
      ["k", "in"],
      ["v", "in"],
      ["ldq", "i32"],
      ["ldkv", "i32"],
      ["headMask", "in?"],
      ["kvHead", "in?"],
      ["scratch", "scratch"],
      ["B", "i32"],
      ["T", "i32"],
      ["H", "i32"],
      ["Hkv", "i32"],
      ["D", "i32"],
      ["scale", "f32"],
    ],
    returns: "void",
    wasm: "attention_backward",
  },

  // ---------------------------------------------------------------- losses
  crossEntropyForward: {
    args: [["losses", "out"], ["probs", "save"], ["logits", "in"], ["targets", "in"], ["rows", "i32"], ["V", "i32"]],
    returns: "void",
    wasm: "cross_entropy_forward",
    backward: "crossEntropyBackward",
  },
  crossEntropyBackward: {
    args: [["dlogits", "grad"], ["probs", "in"], ["targets", "in"], ["rows", "i32"], ["V", "i32"], ["scale", "f32"]],
    returns: "void",
    wasm: "cross_entropy_backward",
  },

  // ---------------------------------------------------------------- embeddings
  embeddingForward: {
    args: [["out", "out"], ["table", "in"], ["ids", "in"], ["rows", "i32"], ["C", "i32"]],
    returns: "void",
    wasm: "embedding_forward",
    backward: "embeddingBackward",
  },
  embeddingBackward: {
    args: [["dtable", "grad"], ["dout", "in"], ["ids", "in"], ["rows", "i32"], ["C", "i32"]],
    returns: "void",
    wasm: "embedding_backward",
  },

  // ---------------------------------------------------------------- optimiser
  adamw: {
    args: [
      ["param", "inout"],
      ["grad", "in"],
      ["m", "inout"],
      ["v", "inout"],
      ["n", "i32"],
      ["lr", "f32"],
      ["beta1", "f32"],
      ["beta2", "f32"],
      ["eps", "f32"],
      ["weightDecay", "f32"],
      ["step", "i32"],
    ],
    returns: "void",
    wasm: "adamw_update",
  },
  sumSquares: { args: [["x", "in"], ["n", "i32"]], returns: "f64", wasm: "sum_squares" },

  // ---------------------------------------------------------------- dropout (training)
  dropoutForward: {
    args: [["out", "out"], ["mask", "save"], ["inp", "in"], ["n", "i32"], ["p", "f64"], ["seed", "u32"]],
    returns: "void",
    wasm: "dropout_forward",
    backward: "dropoutBackward",
  },
  dropoutBackward: {
    args: [["dinp", "grad"], ["mask", "in"], ["dout", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "dropout_backward",
  },

  // ---------------------------------------------------------------- analysis
  attentionEntropy: {
    args: [["out", "grad"], ["probs", "in"], ["queryMask", "in?"], ["B", "i32"], ["H", "i32"], ["T", "i32"]],
    returns: "void",
    wasm: "attention_entropy",
  },

  // ---------------------------------------------------------------- benchmark
  fmaPeak: { args: [["iterations", "i32"]], returns: "f64", wasm: "fma_peak" },
  // ---------------------------------------------------------------- weight storage
  halfToFloat: {
    args: [["out", "out"], ["inp", "in"], ["first", "i32"], ["n", "i32"], ["bfloat", "bool"]],
    returns: "void",
    wasm: "half_to_float",
  },
  // ---------------------------------------------------------------- decoder families (Llama, Qwen2, Mistral, GPT-NeoX)
  rmsNormForward: {
    args: [
      ["out", "out"],
      ["rstd", "save"],
      ["inp", "in"],
      ["weight", "in"],
      ["rows", "i32"],
      ["C", "i32"],
      ["eps", "f32"],
      ["offset", "f32"],
    ],
    returns: "void",
    wasm: "rms_norm_forward",
    backward: "rmsNormBackward",
  },
  rmsNormBackward: {
    args: [
      ["dinp", "grad"],
      ["dweight", "grad?"],
      ["dout", "in"],
      ["inp", "in"],
      ["weight", "in"],
      ["rstd", "in"],
      ["rows", "i32"],
      ["C", "i32"],
      ["offset", "f32"],
    ],
    returns: "void",
    wasm: "rms_norm_backward",
  },
  siluForward: {
    args: [["out", "out"], ["inp", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "silu_forward",
    backward: "siluBackward",
  },
  siluBackward: {
    args: [["dinp", "grad"], ["inp", "in"], ["dout", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "silu_backward",
  },
  mulForward: {
    args: [["out", "out"], ["a", "in"], ["b", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "mul_forward",
    backward: "mulBackward",
  },
  mulBackward: {
    args: [["da", "grad?"], ["db", "grad?"], ["dout", "in"], ["a", "in"], ["b", "in"], ["n", "i32"]],
    returns: "void",
    wasm: "mul_backward",
  },
  rotaryForward: {
    args: [
      ["out", "out"],
      ["inp", "in"],
      ["positions", "in"],
      ["table", "scratch"],
      ["rows", "i32"],
      ["ld", "i32"],
      ["H", "i32"],
      ["D", "i32"],
      ["rotaryDim", "i32"],
      ["theta", "f32"],
    ],
    returns: "void",
    wasm: "rotary_forward",
    backward: "rotaryBackward",
  },
  rotaryBackward: {
    args: [
      ["dinp", "grad"],
      ["dout", "in"],
      ["positions", "in"],
      ["table", "scratch"],
      ["rows", "i32"],
      ["ld", "i32"],
      ["H", "i32"],
      ["D", "i32"],
      ["rotaryDim", "i32"],
      ["theta", "f32"],
    ],
    returns: "void",
    wasm: "rotary_backward",
  },
} as const satisfies Record<string, KernelSpec>;

/**
 * FLOPs of one iteration of {@linkcode Kernels.fmaPeak}: 12 f32x4 multiply-adds of 2 FLOPs a lane.
 *
 * @example Usage
 * ```ts
 * import { FMA_PEAK_FLOPS_PER_ITERATION } from "./contract.ts";
 * const gflops = (iterations: number, ms: number) => (iterations * FMA_PEAK_FLOPS_PER_ITERATION) / ms / 1e6;
 * gflops(1e6, 1); // 128
 * ```
 */
export const FMA_PEAK_FLOPS_PER_ITERATION = 96;

/** The name of a kernel: a key of {@linkcode KERNEL_CONTRACT} and a method of {@linkcode Kernels}. */
export type KernelName = keyof typeof KERNEL_CONTRACT;

/**
 * Every kernel name, in table order.
 *
 * @example Usage
 * ```ts
 * import { KERNEL_NAMES } from "./contract.ts";
 * KERNEL_NAMES.includes("matmul"); // true
 * ```
 */
export const KERNEL_NAMES: readonly KernelName[] = Object.keys(KERNEL_CONTRACT) as KernelName[];

/**
 * Whether an argument kind is a pointer (a byte offset into the kernel memory).
 *
 * @param kind An argument kind.
 * @returns true for the pointer kinds, optional ones included.
 *
 * @example Usage
 * ```ts
 * import { isPointerKind } from "./contract.ts";
 * isPointerKind("in?"); // true
 * isPointerKind("f32"); // false
 * ```
 */
export function isPointerKind(kind: ArgKind): kind is PointerKind | `${PointerKind}?` {
  return POINTER_KINDS.has(kind.endsWith("?") ? kind.slice(0, -1) : kind);
}

const POINTER_KINDS: ReadonlySet<string> = new Set<PointerKind>(["out", "grad", "save", "inout", "in", "scratch"]);

/**
 * The names of the arguments a forward kernel saves for its backward.
 *
 * @param name A kernel.
 * @returns Its `save` arguments' names, in order (empty for kernels that save nothing).
 *
 * @example Usage
 * ```ts
 * import { savedArgs } from "./contract.ts";
 * savedArgs("attentionForward"); // ["probs"]
 * ```
 */
export function savedArgs(name: KernelName): string[] {
  const args: readonly ArgSpec[] = KERNEL_CONTRACT[name].args;
  return args.filter(([, kind]) => kind === "save").map(([arg]) => arg);
}

/** The TypeScript type of an argument of kind `K`. */
export type ArgType<K extends ArgKind> = K extends "bool" ? boolean
  : K extends "gelu" ? GeluKind
  : K extends PointerKind | `${PointerKind}?` ? Ptr
  : number;

/** The argument types of a list of {@linkcode ArgSpec}s, as a (mutable) tuple. */
export type ArgTypes<A extends readonly ArgSpec[]> = { -readonly [I in keyof A]: ArgType<A[I][1]> };

/** The TypeScript type of a return kind. */
export type KernelReturn<R extends ReturnKind> = R extends "f64" ? number : void;

/** The function type the table gives one kernel. */
export type KernelFunction<N extends KernelName> = (
  ...args: ArgTypes<typeof KERNEL_CONTRACT[N]["args"]>
) => KernelReturn<typeof KERNEL_CONTRACT[N]["returns"]>;

/** Every kernel as the table types it: what {@linkcode Kernels} must equal, less `name` and `mem`. */
export type ContractKernels = { [N in KernelName]: KernelFunction<N> };
