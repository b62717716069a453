// The contract table against everything that follows from it: both backends, the compiled WASM (export names and
// parameter types read from the binary itself), the documented interface in types.ts, the generated
// AssemblyScript flags, and the table's own forward/backward pairing.
import assert from "node:assert/strict";
import { HELPER_EXPORTS, kernelsWasmBytes } from "./_wasm_module.ts";
import {
  type ArgKind,
  isPointerKind,
  KERNEL_CONTRACT,
  KERNEL_NAMES,
  type KernelName,
  type KernelSpec,
  MATMUL_FLAG_BITS,
  MatmulFlags,
  savedArgs,
} from "./contract.ts";
import { createReferenceKernels } from "./reference_kernels.ts";
import type { Kernels } from "./types.ts";
import { createWasmKernels } from "./wasm_kernels.ts";

const spec = (name: KernelName): KernelSpec => KERNEL_CONTRACT[name];

/** The WASM value type each argument kind is passed as (`gelu` picks the export and is not passed). */
function wasmType(kind: ArgKind): string | undefined {
  if (isPointerKind(kind)) return "i32";
  return ({ i32: "i32", u32: "i32", flags: "i32", bool: "i32", f32: "f32", f64: "f64", gelu: undefined } as const)[
    kind
  ];
}

/** Function exports of a WASM binary with their parameter and result types, read from its sections. */
function wasmFunctionTypes(bytes: Uint8Array): Map<string, { params: string[]; results: string[] }> {
  let at = 0;
  const u32 = () => {
    let result = 0, shift = 0, byte = 0;
    do {
      byte = bytes[at++]!;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  };
  const VALUE_TYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" };
  const valueTypes = () => Array.from({ length: u32() }, () => VALUE_TYPES[bytes[at++]!] ?? "?");
  const types: { params: string[]; results: string[] }[] = [];
  const functionTypes: number[] = [];
  const exports = new Map<string, { params: string[]; results: string[] }>();
  at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at++]!, size = u32(), end = at + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        assert.equal(bytes[at++], 0x60, "a function type");
        types.push({ params: valueTypes(), results: valueTypes() });
      }
    } else if (id === 2) {
      assert.equal(u32(), 0, "the kernels import nothing, so function indices start at 0");
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) functionTypes.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const length = u32();
        const name = new TextDecoder().decode(bytes.subarray(at, at + length));
        at += length;
        const kind = bytes[at++]!, index = u32();
        if (kind === 0) exports.set(name, types[functionTypes[index]!]!);
      }
    }
    at = end;
  }
  return exports;
}

/** The WASM exports one table row names, with the parameter types it must have. */
function expectedExports(name: KernelName): { exportName: string; params: string[]; results: string[] }[] {
  const s = spec(name);
  const params = s.args.map(([, kind]) => wasmType(kind)).filter((t) => t !== undefined);
  if (s.wasmTail !== undefined) params.push("i32");
  const results = s.returns === "f64" ? ["f64"] : [];
  const names = typeof s.wasm === "string" ? [s.wasm] : Object.values(s.wasm);
  return names.map((exportName) => ({ exportName, params, results }));
}

for (const simd of ["relaxed", "fixed"] as const) {
  Deno.test(`the ${simd} WASM build exports exactly the table's kernels, with its parameter types`, () => {
    const exports = wasmFunctionTypes(kernelsWasmBytes(simd));
    const expected = new Set(HELPER_EXPORTS);
    for (const name of KERNEL_NAMES) {
      for (const { exportName, params, results } of expectedExports(name)) {
        expected.add(exportName);
        const got = exports.get(exportName);
        assert.ok(got, `kernel ${name}: WASM export "${exportName}" is missing`);
        assert.deepEqual(got, { params, results }, `kernel ${name}: WASM export "${exportName}" types`);
      }
    }
    const unexpected = [...exports.keys()].filter((e) => !expected.has(e));
    assert.deepEqual(unexpected, [], "WASM function exports that no table row names");
  });
}

const BACKENDS: [string, () => Kernels][] = [
  ["wasm-relaxed-simd", () => createWasmKernels()],
  ["wasm-simd", () => createWasmKernels({ simd: "fixed" })],
  ["wasm-relaxed-simd, 2 threads", () => createWasmKernels({ threads: 2 })],
  ["reference", () => createReferenceKernels()],
];

/** The members of {@linkcode Kernels} that are not kernels of the table. */
const NOT_KERNELS = new Set(["name", "mem", "threads", "close"]);

for (const [label, create] of BACKENDS) {
  Deno.test(`[${label}] implements exactly the table's kernels, each taking the table's argument count`, () => {
    const k = create();
    try {
      const methods = Object.keys(k).filter((key) => !NOT_KERNELS.has(key)).sort();
      assert.deepEqual(methods, [...KERNEL_NAMES].sort());
      for (const name of KERNEL_NAMES) {
        const fn: unknown = k[name];
        assert.equal(typeof fn, "function", name);
        assert.equal((fn as (...args: unknown[]) => unknown).length, spec(name).args.length, `${name} arity`);
      }
    } finally {
      k.close();
    }
  });
}

Deno.test("the Kernels interface in types.ts names every argument as the table does", async () => {
  const source = await Deno.readTextFile(new URL("./types.ts", import.meta.url));
  const body = source.slice(source.indexOf("export interface Kernels {"));
  const code = body.replace(/\/\*\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const documented = new Map<string, string[]>();
  for (const [, method, params] of code.matchAll(/(\w+)\(([^)]*)\)\s*:\s*\w+;/g)) {
    if (NOT_KERNELS.has(method!)) continue;
    documented.set(method!, params!.split(",").map((p) => p.split(":")[0]!.trim()).filter((p) => p !== ""));
  }
  assert.deepEqual([...documented.keys()].sort(), [...KERNEL_NAMES].sort());
  for (const name of KERNEL_NAMES) {
    assert.deepEqual(documented.get(name), spec(name).args.map(([arg]) => arg), `${name}() argument names`);
  }
});

Deno.test("every forward's saved values are inputs of its backward, and every backward has a forward", () => {
  const backwards = new Set<string>();
  for (const name of KERNEL_NAMES) {
    const s = spec(name);
    if (s.backward === undefined) {
      assert.deepEqual(savedArgs(name), [], `${name} saves values but names no backward`);
      continue;
    }
    assert.ok(s.backward in KERNEL_CONTRACT, `${name}: backward "${s.backward}" is not in the table`);
    backwards.add(s.backward);
    const backwardArgs = new Map<string, ArgKind>(spec(s.backward as KernelName).args.map(([a, k]) => [a, k]));
    for (const saved of savedArgs(name)) {
      assert.equal(backwardArgs.get(saved), "in", `${name} saves "${saved}": ${s.backward} must read it`);
    }
  }
  for (const name of KERNEL_NAMES.filter((n) => n.endsWith("Backward"))) {
    assert.ok(backwards.has(name), `${name} is no forward's backward`);
  }
});

Deno.test("MatmulFlags are distinct bits and assembly/_contract.ts defines the same constants", async () => {
  const bits = Object.values(MatmulFlags);
  for (const bit of bits) assert.equal(bit & (bit - 1), 0, `${bit} is one bit`);
  assert.equal(bits.reduce((a, b) => a + b, 0), MATMUL_FLAG_BITS, "no two flags share a bit");
  const generated = await Deno.readTextFile(new URL("../../assembly/_contract.ts", import.meta.url));
  const constants = Object.fromEntries(
    [...generated.matchAll(/export const (\w+): i32 = (\d+);/g)].map(([, name, value]) => [name, Number(value)]),
  );
  assert.deepEqual(constants, { ...MatmulFlags }, "run `deno task build:wasm`");
});

Deno.test("createReferenceKernels() refuses calls outside the contract, naming the kernel and argument", () => {
  const k = createReferenceKernels();
  const a = k.mem.alloc(64), b = k.mem.alloc(64), out = k.mem.alloc(64);
  const call = (name: KernelName, ...args: unknown[]) => () => (k[name] as (...args: unknown[]) => unknown)(...args);
  assert.throws(call("fill", out, 1), /fill\(\) takes 3 arguments, got 2/);
  assert.throws(call("fill", out + 2, 1, 4), /fill\(\) argument "out" \(out\) must be a 4-byte aligned byte offset/);
  assert.throws(call("fill", 0, 1, 4), /argument "out" \(out\) must be a pointer/);
  assert.throws(call("fill", 1 << 30, 1, 4), /must be inside the memory/);
  assert.throws(call("fill", out, 1, 2.5), /argument "n" \(i32\) must be a 32-bit integer, got 2.5/);
  assert.throws(call("matmul", out, a, b, 0, 2, 2, 2, 8), /argument "flags" \(flags\) must be MatmulFlags bits/);
  assert.throws(call("geluForward", out, a, 4, "relu"), /argument "kind" \(gelu\) must be one of \["erf","tanh"\]/);
  assert.throws(call("dropoutForward", out, b, a, 4, 0.5, -1), /argument "seed" \(u32\)/);
  const attention = (causal: unknown) =>
    call("attentionForward", out, b, a, a, a, 1, 1, 0, 0, 0, 1, 2, 0, 1, 1, 1, 1, causal, 0, 0);
  assert.throws(attention(1), /argument "causal" \(bool\) must be a boolean, got 1/);
  attention(true)(); // optional pointers (keyMask, headMask, kvHead, scratch) may be 0
  k.matmul(out, a, b, 0, 2, 2, 2, MatmulFlags.TRANS_B | MatmulFlags.ACCUMULATE);
});
