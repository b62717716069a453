/**
 * The key/value cache of incremental decoding: per attention layer, the keys and values of every position run
 * so far, in kernel memory that outlives each run, so that a generation step runs only its new tokens — their
 * queries attend to the cached keys (`attention` with a query offset, `core/ops/attention.ts`) — and gives the
 * logits a recomputation of the whole sequence gives. Sized once for the prompt and the tokens to come.
 *
 * @module
 */

import type { KernelMemory, Ptr } from "../kernels/types.ts";

/** One attention layer's cached keys and values: f32 [batch, capacity, width] each. */
export interface KvCacheLayer {
  /** The keys (after any rotary embedding: what attention reads). */
  readonly k: Ptr;
  /** The values. */
  readonly v: Ptr;
  /** Floats per position: the layer's kv heads × d_head. */
  readonly width: number;
}

/**
 * Keys and values of every position run so far, per attention layer, in the model's kernel memory. Made by
 * `TransformerModel.createKvCache`; pass it to `model.run({ kvCache })`, whose batch then holds only the next
 * positions (their position ids start at {@linkcode KvCache.length}); free it with {@linkcode KvCache.dispose}.
 * The kernel memory is a stack: a cache is allocated between runs and freed before anything allocated after it
 * outlives it (free caches in the reverse order of their making).
 *
 * @example Usage
 * ```ts
 * import { loadModel } from "./load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const cache = model.createKvCache({ capacity: 8 });
 * try {
 *   model.run({ batch: { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([5, 9, 2]) }, kvCache: cache });
 *   const next = model.run({ batch: { batchSize: 1, seqLen: 1, inputIds: Int32Array.from([7]) }, kvCache: cache, lastLogits: true });
 *   next.logits!.shape; // [1, 50257]: position 3's, as a run of all four tokens gives them
 *   cache.length; // 4
 * } finally {
 *   cache.dispose();
 * }
 * ```
 */
export class KvCache {
  /** Rows of the batches it serves. */
  readonly batchSize: number;
  /** Positions it holds per row (the prompt and every token to be generated). */
  readonly capacity: number;
  /** f32 [batch, capacity]: 1 for a real token, 0 for padding, per cached position. */
  readonly keyMask: Ptr;
  /** Positions run so far: the next run's tokens are positions `length`, `length + 1`, … */
  length = 0;
  readonly #mem: KernelMemory;
  readonly #layers: ReadonlyMap<number, KvCacheLayer>;
  readonly #mark: number;
  readonly #end: number;
  #disposed = false;

  /**
   * Allocates the cache in `mem` (zeroed). Use `TransformerModel.createKvCache`, which reads each layer's width
   * off the model.
   *
   * @param mem the model's kernel memory
   * @param widths per attention layer index, its kv heads × d_head
   * @param batchSize rows
   * @param capacity positions per row
   * @throws {Error} for a batch size or capacity that is not a positive integer
   */
  constructor(mem: KernelMemory, widths: ReadonlyMap<number, number>, batchSize: number, capacity: number) {
    for (const [name, n] of [["batchSize", batchSize], ["capacity", capacity]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`KV cache: ${name} must be a positive integer, got ${n}`);
    }
    this.#mem = mem;
    this.batchSize = batchSize;
    this.capacity = capacity;
    this.#mark = mem.mark();
    const rows = batchSize * capacity;
    this.keyMask = mem.alloc(4 * rows);
    const layers = new Map<number, KvCacheLayer>();
    for (const [l, width] of widths) {
      layers.set(l, {
        k: mem.alloc(4 * Math.max(1, rows * width)),
        v: mem.alloc(4 * Math.max(1, rows * width)),
        width,
      });
    }
    this.#layers = layers;
    this.#end = mem.mark();
  }

  /** Bytes of kernel memory the cache holds. */
  get bytes(): number {
    return this.#end - this.#mark;
  }

  /** Whether {@linkcode KvCache.dispose} has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Layer `l`'s keys and values.
   *
   * @throws {Error} for a layer the cache was not made for, or a disposed cache
   */
  layer(l: number): KvCacheLayer {
    if (this.#disposed) throw new Error("KV cache: used after dispose()");
    const slot = this.#layers.get(l);
    if (slot === undefined) throw new Error(`KV cache: no attention layer ${l} (made for another model?)`);
    return slot;
  }

  /** Forgets every cached position (the memory stays, for a new sequence). */
  clear(): void {
    this.length = 0;
  }

  /**
   * Frees the cache's kernel memory. Safe to call twice.
   *
   * @throws {Error} when something allocated after the cache still lives above it (a cache made later, not yet
   *   freed): the stack allocator can free only its top
   */
  dispose(): void {
    if (this.#disposed) return;
    if (this.#mem.mark() !== this.#end) {
      throw new Error("KV cache: dispose() must follow the disposal of everything allocated after the cache");
    }
    this.#disposed = true;
    this.#mem.release(this.#mark);
  }
}
