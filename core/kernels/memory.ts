/**
 * {@linkcode KernelMemory} over a `WebAssembly.Memory`: a bump allocator with mark/release.
 *
 * @module
 */
import type { KernelMemory, Ptr } from "./types.ts";

const ALIGN = 64;
const PAGE = 65536;

/**
 * Creates a bump allocator over `memory`, starting at `base` (rounded up to 64 bytes, and never 0, so that 0 stays
 * the "absent" pointer). Allocations are 64-byte aligned and zero-filled (`allocUninitialized`: not zeroed); the
 * memory grows as needed.
 *
 * @param memory The linear memory to allocate in (e.g. a WASM instance's exported memory).
 * @param base First byte the allocator may hand out (e.g. the module's heap base).
 * @param zero How to zero a fresh allocation (default: a JS fill; the WASM kernels pass their bulk
 *   `memory.fill`, about twice as fast on a shared memory).
 * @returns The allocator.
 * @throws {RangeError} If an allocation size is negative or not an integer, or if the memory cannot grow.
 *
 * @example Usage
 * ```ts
 * import { createKernelMemory } from "./memory.ts";
 * const mem = createKernelMemory(new WebAssembly.Memory({ initial: 1 }));
 * const mark = mem.mark();
 * const x = mem.alloc(4 * 16);
 * mem.f32(x, 16).fill(1);
 * mem.release(mark);
 * ```
 */
export function createKernelMemory(
  memory: WebAssembly.Memory,
  base = ALIGN,
  zero: (ptr: Ptr, bytes: number) => void = (ptr, bytes) => new Uint8Array(memory.buffer, ptr, bytes).fill(0),
): KernelMemory {
  const start = Math.max(ALIGN, alignUp(base));
  let top = start;
  const allocUninitialized = (bytes: number): Ptr => {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`Cannot allocate "${bytes}" bytes`);
    const ptr = alignUp(top);
    const end = ptr + bytes;
    const have = memory.buffer.byteLength;
    if (end > have) {
      try {
        memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new RangeError(`Cannot grow kernel memory to ${end} bytes: ${(e as Error).message}`);
      }
    }
    top = end;
    return ptr;
  };
  return {
    memory,
    alloc(bytes: number): Ptr {
      const ptr = allocUninitialized(bytes);
      zero(ptr, bytes);
      return ptr;
    },
    allocUninitialized,
    mark(): number {
      return top;
    },
    release(mark: number): void {
      if (!Number.isInteger(mark) || mark < start || mark > top) {
        throw new RangeError(`Cannot release to mark "${mark}": expected ${start} ≤ mark ≤ ${top}`);
      }
      top = mark;
    },
    f32(ptr: Ptr, length: number): Float32Array {
      return new Float32Array(memory.buffer, ptr, length);
    },
    i32(ptr: Ptr, length: number): Int32Array {
      return new Int32Array(memory.buffer, ptr, length);
    },
  };
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
