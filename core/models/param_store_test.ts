import assert from "node:assert/strict";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../checkpoint/half.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { ParamStore } from "./param_store.ts";

const half = (x: number) => float16BitsToFloat32(float32ToFloat16Bits(x));

Deno.test("ParamStore.f32() widens into its scratch, or past it into the caller's arena for a weight too large", () => {
  const k = createWasmKernels();
  const store = new ParamStore(k);
  const big = Float32Array.from({ length: 96 }, (_, i) => i / 7 - 3);
  const small = Float32Array.from({ length: 8 }, (_, i) => 1 / (i + 1));
  const table = store.addTensor("table", { shape: [12, 8], data: big }, "F16");
  const matrix = store.addTensor("matrix", { shape: [2, 4], data: small }, "BF16");
  const vector = store.addTensor("vector", { shape: [8], data: small }, "F16");
  assert.equal(store.storedBytes(), 2 * (96 + 8 + 8));
  store.seal(new Set(["matrix", "vector"])); // the table is read row by row: the scratch need not fit it
  assert.throws(() => store.add("late", [1], "F32"), /sealed/);
  const top = k.mem.mark();
  const m = store.f32(matrix, 0), v = store.f32(vector, 1);
  assert.ok(m < top && v < top && m !== v, "both fit their slots");
  assert.equal(k.mem.mark(), top);
  assert.deepEqual(k.mem.f32(v, 8), Float32Array.from(small, half));
  const t = store.f32(table, 0);
  assert.ok(t >= top, "the table was widened above the scratch");
  assert.deepEqual(k.mem.f32(t, 96), Float32Array.from(big, half));
  k.mem.release(top);
  // toTensors widens every weight and leaves kernel memory as it found it
  const out = store.toTensors();
  assert.equal(k.mem.mark(), top);
  assert.deepEqual(out.get("table")!.data, Float32Array.from(big, half));
  assert.equal(out.get("matrix")!.data[0], 1);
});

Deno.test("ParamStore from f32 tensors keeps them F32, needs no scratch, and can train", () => {
  const k = createWasmKernels();
  const store = new ParamStore(k, [["w", { shape: [3], data: new Float32Array([1, 2, 3]) }]]);
  const w = store.get("w");
  assert.equal(w.dtype, "F32");
  assert.equal(store.f32(w, 0), w.ptr);
  assert.equal(store.hasHalfWeights(), false);
  store.enableGrads();
  assert.notEqual(w.grad, 0);
});
