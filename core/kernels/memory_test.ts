import assert from "node:assert/strict";
import { createKernelMemory } from "./memory.ts";
import { createWasmKernels } from "./wasm_kernels.ts";

Deno.test("createKernelMemory() allocates 64-byte aligned, zero-filled, never at 0", () => {
  const mem = createKernelMemory(new WebAssembly.Memory({ initial: 1 }), 0);
  const a = mem.alloc(3);
  const b = mem.alloc(100);
  assert.ok(a > 0);
  assert.equal(a % 64, 0);
  assert.equal(b % 64, 0);
  assert.ok(b >= a + 3);
  mem.f32(b, 25).fill(7);
  const m = mem.mark();
  mem.release(m);
  assert.ok(mem.f32(b, 25).every((x) => x === 7));
});

Deno.test("createKernelMemory() grows the memory and release() reuses zeroed space", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const mem = createKernelMemory(memory, 1000);
  const mark = mem.mark();
  const big = mem.alloc(200_000);
  assert.ok(memory.buffer.byteLength >= big + 200_000);
  mem.f32(big, 50_000).fill(1);
  mem.release(mark);
  const again = mem.alloc(200_000);
  assert.equal(again, big);
  assert.ok(mem.f32(again, 50_000).every((x) => x === 0));
});

Deno.test("createKernelMemory() rejects bad sizes and marks", () => {
  const mem = createKernelMemory(new WebAssembly.Memory({ initial: 1 }));
  assert.throws(() => mem.alloc(-1), RangeError);
  assert.throws(() => mem.alloc(1.5), RangeError);
  assert.throws(() => mem.release(mem.mark() + 64), RangeError);
  assert.throws(() => mem.release(0), RangeError);
});

Deno.test("createKernelMemory() gives i32 views over the same bytes", () => {
  const mem = createKernelMemory(new WebAssembly.Memory({ initial: 1 }));
  const p = mem.alloc(8);
  mem.i32(p, 2).set([1, -2]);
  assert.deepEqual([...mem.i32(p, 2)], [1, -2]);
});

Deno.test("allocUninitialized() leaves a released allocation's bytes; alloc() zeroes them through `zero`", () => {
  const zeroed: [number, number][] = [];
  const memory = new WebAssembly.Memory({ initial: 1 });
  const mem = createKernelMemory(memory, 64, (ptr, bytes) => {
    zeroed.push([ptr, bytes]);
    new Uint8Array(memory.buffer, ptr, bytes).fill(0);
  });
  const mark = mem.mark();
  const p = mem.alloc(16);
  assert.deepEqual(zeroed, [[p, 16]]);
  mem.f32(p, 4).set([1, 2, 3, 4]);
  mem.release(mark);
  const q = mem.allocUninitialized(16);
  assert.equal(q, p);
  assert.deepEqual([...mem.f32(q, 4)], [1, 2, 3, 4]);
  assert.equal(zeroed.length, 1);
  assert.throws(() => mem.allocUninitialized(-4), RangeError);
  mem.release(mark);
  assert.deepEqual([...mem.f32(mem.alloc(16), 4)], [0, 0, 0, 0]);
});

Deno.test("the WASM kernels' memory zeroes allocations with their bulk fill", () => {
  const k = createWasmKernels();
  const mark = k.mem.mark();
  const p = k.mem.allocUninitialized(4 * 1000);
  k.mem.f32(p, 1000).fill(7);
  k.mem.release(mark);
  assert.ok(k.mem.f32(k.mem.alloc(4 * 1000), 1000).every((x) => x === 0));
});
