import assert from "node:assert/strict";
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from "../checkpoint/half.ts";
import { createReferenceKernels } from "./reference_kernels.ts";
import { createWasmKernels } from "./wasm_kernels.ts";

/** Every 16-bit pattern, widened by `k.halfToFloat` (from element `first`, so the SIMD body and tail both run). */
function widenAll(simd: "relaxed" | "fixed" | "reference", bfloat: boolean, first: number): Float32Array {
  const k = simd === "reference" ? createReferenceKernels() : createWasmKernels({ simd });
  const n = 65536 - first;
  const inp = k.mem.alloc(2 * 65536);
  const out = k.mem.alloc(4 * 65536);
  const bits = new Uint16Array(k.mem.memory.buffer, inp, 65536);
  for (let i = 0; i < 65536; i++) bits[i] = (i + 65536 - first) & 0xffff; // element first + j holds pattern j
  k.halfToFloat(out, inp, first, n, bfloat);
  return k.mem.f32(out, n).slice();
}

for (const backend of ["relaxed", "fixed", "reference"] as const) {
  for (const bfloat of [false, true]) {
    const format = bfloat ? "bfloat16" : "half";
    Deno.test(`halfToFloat() ${backend}: every ${format} bit pattern widens exactly (NaN stays NaN)`, () => {
      const expected = bfloat ? bfloat16BitsToFloat32 : float16BitsToFloat32;
      for (const first of [0, 3]) {
        const got = widenAll(backend, bfloat, first);
        for (let j = 0; j < got.length; j++) {
          const want = expected(j);
          if (Number.isNaN(want)) assert.ok(Number.isNaN(got[j]!), `${format} 0x${j.toString(16)} → ${got[j]}`);
          else if (!Object.is(got[j], Math.fround(want))) {
            assert.fail(`${format} 0x${j.toString(16)} (first ${first}): got ${got[j]}, want ${want}`);
          }
        }
      }
    });
  }
}

Deno.test("halfToFloat() writes exactly n floats (odd counts end in the scalar tail)", () => {
  const k = createWasmKernels();
  const inp = k.mem.alloc(64), out = k.mem.alloc(64);
  new Uint16Array(k.mem.memory.buffer, inp, 16).fill(0x3c00); // 1.0
  k.mem.f32(out, 16).fill(-7);
  k.halfToFloat(out, inp, 0, 11, false);
  assert.deepEqual([...k.mem.f32(out, 16)], [...Array(11).fill(1), ...Array(5).fill(-7)]);
});
