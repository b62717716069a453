import assert from "node:assert/strict";
import { createKernelMemory } from "./memory.ts";

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
