/**
 * The reference backend: every kernel as plain TypeScript loops with f64 accumulation. It is the oracle the
 * WASM-SIMD kernels are tested against; it is slow and meant for tests and tiny models only.
 *
 * It implements exactly the rows of the contract table (`contract.ts`), and checks every call against them: the
 * argument count, pointers (4-byte aligned, inside the memory, 0 only where the table allows "absent"),
 * integers, flag bits, booleans and GELU kinds. Tests that run a model on this backend thus also check that
 * the model calls every kernel within its contract.
 *
 * @module
 */
import * as ref from "./_reference_math.ts";
import { createKernelMemory } from "./memory.ts";
import {
  type ArgSpec,
  type ContractKernels,
  GELU_KINDS,
  isPointerKind,
  KERNEL_CONTRACT,
  KERNEL_NAMES,
  type KernelName,
  MATMUL_FLAG_BITS,
} from "./contract.ts";
import type { KernelMemory, Kernels } from "./types.ts";

/**
 * Creates the reference (plain TypeScript) kernels.
 *
 * @param mem The memory to work in; a fresh one-page memory when omitted. It may be a WASM backend's memory, so
 *   both backends can run on the same pointers.
 * @returns The reference {@linkcode Kernels}, named "reference".
 *
 * @example Usage
 * ```ts
 * import { createReferenceKernels } from "./reference_kernels.ts";
 * const k = createReferenceKernels();
 * const x = k.mem.alloc(4 * 3);
 * k.mem.f32(x, 3).set([1, 2, 3]);
 * k.softmaxRows(x, 1, 3);
 * ```
 */
export function createReferenceKernels(mem?: KernelMemory): Kernels {
  const m = mem ?? createKernelMemory(new WebAssembly.Memory({ initial: 1 }));
  const kernels: Partial<Record<KernelName, unknown>> = {};
  for (const name of KERNEL_NAMES) kernels[name] = checkedKernel(name, m);
  return {
    name: "reference",
    threads: 1,
    close() {},
    mem: m,
    // Every name was bound above, each to a function checking the arguments its table row gives.
    ...kernels as ContractKernels,
  };
}

/** Typed views of the whole memory, made afresh for each call (the buffer detaches when memory grows). */
interface Views {
  readonly f: Float32Array;
  readonly i: Int32Array;
}

/**
 * The reference math of each kernel, with the table's arguments in the table's order, except that every pointer
 * arrives as an element index (byte offset / 4) into `v.f` / `v.i`, 0 when absent.
 */
type ReferenceImplementations = {
  [N in KernelName]: (v: Views, ...args: Parameters<ContractKernels[N]>) => ReturnType<ContractKernels[N]>;
};

const REFERENCE: ReferenceImplementations = {
  fill: (v, out, value, n) => ref.fill(v.f, out, value, n),
  copy: (v, out, a, n) => ref.copy(v.f, out, a, n),
  add: (v, out, a, b, n) => ref.add(v.f, out, a, b, n),
  scale: (v, out, a, s, n) => ref.scale(v.f, out, a, s, n),
  addBias: (v, out, a, bias, rows, cols) => ref.addBias(v.f, out, a, bias, rows, cols),
  biasBackward: (v, dbias, dout, rows, cols) => ref.biasBackward(v.f, dbias, dout, rows, cols),
  matmul: (v, out, a, b, bias, M, K, N, flags) => ref.matmul(v.f, out, a, b, bias, M, K, N, flags),
  layerNormForward: (v, out, mean, rstd, inp, weight, bias, rows, C, eps) =>
    ref.layerNormForward(v.f, out, mean, rstd, inp, weight, bias, rows, C, eps),
  // The reference math marks an absent gradient with -1 (its index 0 is a real element).
  layerNormBackward: (v, dinp, dweight, dbias, dout, inp, weight, mean, rstd, rows, C) =>
    ref.layerNormBackward(
      v.f,
      dinp,
      dweight === 0 ? -1 : dweight,
      dbias === 0 ? -1 : dbias,
      dout,
      inp,
      weight,
      mean,
      rstd,
      rows,
      C,
    ),
  geluForward: (v, out, inp, n, kind) => ref.geluForward(v.f, out, inp, n, kind),
  geluBackward: (v, dinp, inp, dout, n, kind) => ref.geluBackward(v.f, dinp, inp, dout, n, kind),
  tanhForward: (v, out, inp, n) => ref.tanhForward(v.f, out, inp, n),
  tanhBackward: (v, dinp, out, dout, n) => ref.tanhBackward(v.f, dinp, out, dout, n),
  reluForward: (v, out, inp, n) => ref.reluForward(v.f, out, inp, n),
  reluBackward: (v, dinp, inp, dout, n) => ref.reluBackward(v.f, dinp, inp, dout, n),
  softmaxRows: (v, x, rows, cols) => ref.softmaxRows(v.f, x, rows, cols),
  // `kvHead` is an i32 array, read through the i32 view
  attentionForward: (
    v,
    ctx,
    probs,
    q,
    k,
    vv,
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
  ) =>
    ref.attentionForward(
      v.f,
      v.i,
      ctx,
      probs,
      q,
      k,
      vv,
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
    ),
  // The reference needs no scratch.
  attentionBackward: (
    v,
    dq,
    dk,
    dv,
    dheadMask,
    dctx,
    probs,
    q,
    k,
    vv,
    ldq,
    ldkv,
    headMask,
    kvHead,
    _scratch,
    B,
    T,
    H,
    Hkv,
    D,
    scale,
  ) =>
    ref.attentionBackward(
      v.f,
      v.i,
      dq,
      dk,
      dv,
      dheadMask,
      dctx,
      probs,
      q,
      k,
      vv,
      ldq,
      ldkv,
      headMask,
      kvHead,
      B,
      T,
      H,
      Hkv,
      D,
      scale,
    ),
  crossEntropyForward: (v, losses, probs, logits, targets, rows, V) =>
    ref.crossEntropyForward(v.f, v.i, losses, probs, logits, targets, rows, V),
  crossEntropyBackward: (v, dlogits, probs, targets, rows, V, scale) =>
    ref.crossEntropyBackward(v.f, v.i, dlogits, probs, targets, rows, V, scale),
  embeddingForward: (v, out, table, ids, rows, C) => ref.embeddingForward(v.f, v.i, out, table, ids, rows, C),
  embeddingBackward: (v, dtable, dout, ids, rows, C) => ref.embeddingBackward(v.f, v.i, dtable, dout, ids, rows, C),
  adamw: (v, param, grad, m, vv, n, lr, beta1, beta2, eps, weightDecay, step) =>
    ref.adamw(v.f, param, grad, m, vv, n, lr, beta1, beta2, eps, weightDecay, step),
  sumSquares: (v, x, n) => ref.sumSquares(v.f, x, n),
  dropoutForward: (v, out, mask, inp, n, p, seed) => ref.dropoutForward(v.f, out, mask, inp, n, p, seed),
  dropoutBackward: (v, dinp, mask, dout, n) => ref.dropoutBackward(v.f, dinp, mask, dout, n),
  // The reference math marks an absent query mask with -1 (its index 0 is a real element).
  attentionEntropy: (v, out, probs, queryMask, B, H, T) =>
    ref.attentionEntropy(v.f, out, probs, queryMask === 0 ? -1 : queryMask, B, H, T),
  fmaPeak: (_v, iterations) => ref.fmaPeak(iterations),
  // 16-bit elements are read through a u16 view of the same memory (`inp` is a float index, so ×2)
  halfToFloat: (v, out, inp, first, n, bfloat) =>
    ref.halfToFloat(v.f, new Uint16Array(v.f.buffer), out, 2 * inp + first, n, bfloat),
  rmsNormForward: (v, out, rstd, inp, weight, rows, C, eps, offset) =>
    ref.rmsNormForward(v.f, out, rstd, inp, weight, rows, C, eps, offset),
  rmsNormBackward: (v, dinp, dweight, dout, inp, weight, rstd, rows, C, offset) =>
    ref.rmsNormBackward(v.f, dinp, dweight === 0 ? -1 : dweight, dout, inp, weight, rstd, rows, C, offset),
  siluForward: (v, out, inp, n) => ref.siluForward(v.f, out, inp, n),
  siluBackward: (v, dinp, inp, dout, n) => ref.siluBackward(v.f, dinp, inp, dout, n),
  mulForward: (v, out, a, b, n) => ref.mulForward(v.f, out, a, b, n),
  mulBackward: (v, da, db, dout, a, b, n) =>
    ref.mulBackward(v.f, da === 0 ? -1 : da, db === 0 ? -1 : db, dout, a, b, n),
  // The reference needs no scratch table.
  rotaryForward: (v, out, inp, positions, _table, rows, ld, H, D, rotaryDim, theta) =>
    ref.rotaryForward(v.f, v.i, out, inp, positions, rows, ld, H, D, rotaryDim, theta),
  rotaryBackward: (v, dinp, dout, positions, _table, rows, ld, H, D, rotaryDim, theta) =>
    ref.rotaryBackward(v.f, v.i, dinp, dout, positions, rows, ld, H, D, rotaryDim, theta),
};

/** One kernel of the reference backend: checks each argument against its table row, then runs the math. */
function checkedKernel(name: KernelName, m: KernelMemory): unknown {
  const args: readonly ArgSpec[] = KERNEL_CONTRACT[name].args;
  const impl = REFERENCE[name] as (v: Views, ...args: unknown[]) => number | void;
  const kernel = (...values: unknown[]) => {
    if (values.length !== args.length) {
      throw new Error(`${name}() takes ${args.length} arguments, got ${values.length}`);
    }
    const bytes = m.memory.buffer.byteLength;
    const converted = values.map((value, i) => checkedArgument(name, args[i]!, value, bytes));
    return impl({ f: new Float32Array(m.memory.buffer), i: new Int32Array(m.memory.buffer) }, ...converted);
  };
  // Report the contract's arity, as the WASM exports do.
  Object.defineProperty(kernel, "length", { value: args.length });
  return kernel;
}

/** Checks one argument against its kind; returns it, with a pointer turned into its element index. */
function checkedArgument(kernel: KernelName, [arg, kind]: ArgSpec, value: unknown, memoryBytes: number): unknown {
  const bad = (expected: string) =>
    new Error(`${kernel}() argument "${arg}" (${kind}) must be ${expected}, got ${JSON.stringify(value)}`);
  if (isPointerKind(kind)) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value % 4 !== 0) {
      throw bad("a 4-byte aligned byte offset");
    }
    if (value === 0 && !kind.endsWith("?")) throw bad("a pointer (0 means absent, which this argument cannot be)");
    if (value > memoryBytes) throw bad(`inside the memory (${memoryBytes} bytes)`);
    return value >>> 2;
  }
  switch (kind) {
    case "i32":
      if (typeof value !== "number" || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
        throw bad("a 32-bit integer");
      }
      return value;
    case "u32":
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= 2 ** 32) {
        throw bad("an unsigned 32-bit integer");
      }
      return value;
    case "f32":
    case "f64":
      if (typeof value !== "number") throw bad("a number");
      return value;
    case "flags":
      if (typeof value !== "number" || !Number.isInteger(value) || (value & ~MATMUL_FLAG_BITS) !== 0 || value < 0) {
        throw bad(`MatmulFlags bits (a subset of ${MATMUL_FLAG_BITS})`);
      }
      return value;
    case "bool":
      if (typeof value !== "boolean") throw bad("a boolean");
      return value;
    case "gelu":
      if (!(GELU_KINDS as readonly unknown[]).includes(value)) throw bad(`one of ${JSON.stringify(GELU_KINDS)}`);
      return value;
  }
}
