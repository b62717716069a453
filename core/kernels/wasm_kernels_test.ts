import assert from "node:assert/strict";
import { erfReference } from "./_reference_math.ts";
import { instantiateKernels, kernelsWasmBytes } from "./_wasm_module.ts";
import { createWasmKernels } from "./wasm_kernels.ts";
import { MatmulFlags } from "./types.ts";

for (const kind of ["relaxed", "fixed"] as const) {
  Deno.test(`kernelsWasmBytes() ${kind} build imports nothing and exports a memory`, () => {
    const module = new WebAssembly.Module(kernelsWasmBytes(kind));
    assert.deepEqual(WebAssembly.Module.imports(module), []);
    assert.ok(WebAssembly.Module.exports(module).some((e) => e.name === "memory" && e.kind === "memory"));
  });

  Deno.test(`erf() in the ${kind} build is within 1e-7 of the reference on [-8, 8]`, () => {
    const w = instantiateKernels(kind);
    let worst = 0;
    for (let i = 0; i <= 160_000; i++) {
      const x = -8 + i * 1e-4;
      worst = Math.max(worst, Math.abs(w.erf(x) - erfReference(x)));
    }
    assert.ok(worst < 1e-7, `max |erf error| ${worst}`);
    assert.equal(w.erf(Infinity), 1);
    assert.equal(w.erf(-Infinity), -1);
    assert.ok(Number.isNaN(w.erf(NaN)));
  });
}

Deno.test("createWasmKernels() picks relaxed SIMD where the engine validates it", () => {
  const k = createWasmKernels();
  const relaxed = WebAssembly.validate(kernelsWasmBytes("relaxed"));
  assert.equal(k.name, relaxed ? "wasm-relaxed-simd" : "wasm-simd");
  assert.equal(createWasmKernels({ simd: "fixed" }).name, "wasm-simd");
});

Deno.test("createWasmKernels() instances are independent", () => {
  const a = createWasmKernels(), b = createWasmKernels();
  assert.notEqual(a.mem.memory, b.mem.memory);
  const pa = a.mem.alloc(16), pb = b.mem.alloc(16);
  a.fill(pa, 1, 4);
  b.fill(pb, 2, 4);
  assert.deepEqual([...a.mem.f32(pa, 4)], [1, 1, 1, 1]);
  assert.deepEqual([...b.mem.f32(pb, 4)], [2, 2, 2, 2]);
});

Deno.test("matmul() scratch survives the caller's release() and memory growth", () => {
  const k = createWasmKernels();
  const M = 3, K = 2, N = 2;
  const mark = k.mem.mark();
  const a = k.mem.alloc(4 * M * K), b = k.mem.alloc(4 * K * N), out = k.mem.alloc(4 * M * N);
  k.mem.f32(a, 6).set([1, 2, 3, 4, 5, 6]);
  k.mem.f32(b, 4).set([1, 0, 0, 1]);
  k.matmul(out, a, b, 0, M, K, N, MatmulFlags.TRANS_B);
  assert.deepEqual([...k.mem.f32(out, 6)], [1, 2, 3, 4, 5, 6]);
  k.mem.release(mark);
  const big = k.mem.alloc(64 << 20); // forces growth
  k.mem.f32(big, 4).fill(3);
  const a2 = k.mem.alloc(4 * M * K), out2 = k.mem.alloc(4 * M * N);
  k.mem.f32(a2, 6).set([1, 1, 1, 1, 1, 1]);
  k.matmul(out2, a2, big, 0, M, K, N, 0);
  assert.deepEqual([...k.mem.f32(out2, 6)], [6, 6, 6, 6, 6, 6]);
});
