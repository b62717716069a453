import assert from "node:assert/strict";
import { kernelsWasmBytes } from "./_wasm_module.ts";
import { createWasmKernels } from "./wasm_kernels.ts";
import { MatmulFlags } from "./types.ts";
import { defaultThreads, threadsAvailable } from "./worker_pool.ts";
import { copyIn as put, fusedAttention } from "../../tests/helpers/kernel_cases.ts";

const { TRANS_A, TRANS_B, ACCUMULATE } = MatmulFlags;

function random(seed: number): () => number {
  return () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2;
}

/** Asserts two float arrays are bit-identical, naming the first element that is not. */
function assertBitIdentical(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) assert.fail(`${what}[${i}]: ${got[i]} (threaded) vs ${want[i]} (one thread)`);
  }
}

for (const kind of ["relaxed", "fixed"] as const) {
  Deno.test(`kernelsWasmBytes() ${kind} shared build imports one shared memory and exports what the plain one does`, () => {
    const shared = new WebAssembly.Module(kernelsWasmBytes(kind, true));
    const plain = new WebAssembly.Module(kernelsWasmBytes(kind));
    assert.deepEqual(WebAssembly.Module.imports(shared), [{ module: "env", name: "memory", kind: "memory" }]);
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name).sort();
    assert.deepEqual(names(shared), names(plain));
  });
}

Deno.test("threadsAvailable() holds here (Deno, read access) and defaultThreads() is the cores", () => {
  assert.equal(threadsAvailable(), true);
  assert.equal(defaultThreads(), Math.max(1, navigator.hardwareConcurrency));
});

Deno.test("createWasmKernels() refuses a thread count that is not an integer from 1 to 64, naming it", () => {
  for (const threads of [0, -1, 1.5, 65, NaN]) {
    assert.throws(() => createWasmKernels({ threads }), /threads must be an integer from 1 to 64/);
  }
  const k = createWasmKernels({ threads: 1 });
  assert.equal(k.threads, 1);
  k.close(); // a no-op on one thread
});

// Shapes: the nn.Linear fast path (M % 8, N % 6), its edges, the packed path with partial panels and tiles, K
// over one KC slice, blocks fewer than threads (runs on the caller), tiny (below the split size) and K = 0.
const MATMUL_SHAPES: [number, number, number][] = [
  [128, 768, 96],
  [64, 200, 48],
  [136, 1000, 30],
  [300, 50, 1600],
  [130, 100, 90],
  [127, 769, 131],
  [7, 300, 1000],
  [600, 64, 7],
  [12, 12, 12],
  [96, 0, 18],
  [128, 128, 32],
  [80, 32, 128],
  [8, 64, 6],
];

for (const threads of [2, 3]) {
  Deno.test(`matmul() on ${threads} threads is bit-identical to one thread, every flag, bias, edge shapes`, () => {
    const one = createWasmKernels({ threads: 1 });
    const many = createWasmKernels({ threads });
    try {
      assert.equal(many.threads, threads);
      const rnd = random(threads);
      for (const [M, K, N] of MATMUL_SHAPES) {
        const a = Float32Array.from({ length: M * K }, rnd), b = Float32Array.from({ length: K * N }, rnd);
        const bias = Float32Array.from({ length: N }, rnd), c0 = Float32Array.from({ length: M * N }, rnd);
        for (const flags of [0, TRANS_A, TRANS_B, TRANS_A | TRANS_B, TRANS_B | ACCUMULATE, TRANS_A | ACCUMULATE]) {
          for (const withBias of [false, true]) {
            const outs = [one, many].map((k) => {
              const mark = k.mem.mark();
              const out = put(k, c0);
              k.matmul(out, put(k, a), put(k, b), withBias ? put(k, bias) : 0, M, K, N, flags);
              const result = k.mem.f32(out, M * N).slice();
              k.mem.release(mark);
              return result;
            });
            assertBitIdentical(outs[1]!, outs[0]!, `matmul ${M}×${K}×${N} flags ${flags} bias ${withBias}`);
          }
        }
      }
    } finally {
      many.close();
    }
  });
}

Deno.test("geluForward()/geluBackward() on 2 and 3 threads are bit-identical to one thread (sizes around the split)", () => {
  const one = createWasmKernels({ threads: 1 });
  for (const threads of [2, 3]) {
    const many = createWasmKernels({ threads });
    try {
      const rnd = random(10 + threads);
      // below the split size (caller alone), odd sizes (slices cut at multiples of 4, a partial last quad)
      for (const n of [1000, 65_536, 100_003, 393_217]) {
        const x = Float32Array.from({ length: n }, () => 6 * rnd()), dy = Float32Array.from({ length: n }, rnd);
        const d0 = Float32Array.from({ length: n }, rnd);
        for (const kind of ["erf", "tanh"] as const) {
          const outs = [one, many].map((k) => {
            const mark = k.mem.mark();
            const out = put(k, new Float32Array(n)), dx = put(k, d0), px = put(k, x);
            k.geluForward(out, px, n, kind);
            k.geluBackward(dx, px, put(k, dy), n, kind);
            const r = [k.mem.f32(out, n).slice(), k.mem.f32(dx, n).slice()];
            k.mem.release(mark);
            return r;
          });
          assertBitIdentical(outs[1]![0]!, outs[0]![0]!, `gelu ${kind} forward n=${n} threads ${threads}`);
          assertBitIdentical(outs[1]![1]!, outs[0]![1]!, `gelu ${kind} backward n=${n} threads ${threads}`);
        }
      }
    } finally {
      many.close();
    }
  }
});

Deno.test("add(), layerNormForward/Backward() and attentionEntropy() on 2 and 3 threads are bit-identical", () => {
  const one = createWasmKernels({ threads: 1 });
  for (const threads of [2, 3]) {
    const many = createWasmKernels({ threads });
    try {
      const rnd = random(20 + threads);
      // below and above the split size; rows that do not divide by the threads; a partial last quad for add
      for (const [rows, C] of [[7, 64], [1025, 768], [341, 769]] as const) {
        const n = rows * C;
        const x = Float32Array.from({ length: n }, rnd), y = Float32Array.from({ length: n }, rnd);
        const w = Float32Array.from({ length: C }, rnd), b = Float32Array.from({ length: C }, rnd);
        const d0 = Float32Array.from({ length: n }, rnd);
        const outs = [one, many].map((k) => {
          const mark = k.mem.mark();
          const sum = put(k, new Float32Array(n)), px = put(k, x), py = put(k, y);
          k.add(sum, px, py, n);
          const out = put(k, new Float32Array(n)), mean = put(k, new Float32Array(rows));
          const rstd = put(k, new Float32Array(rows)), pw = put(k, w);
          k.layerNormForward(out, mean, rstd, px, pw, put(k, b), rows, C, 1e-12);
          const dx = put(k, d0);
          k.layerNormBackward(dx, 0, 0, py, px, pw, mean, rstd, rows, C);
          // with weight gradients: one order over the rows, whatever the threads
          const dx2 = put(k, d0), dw = put(k, new Float32Array(C)), db = put(k, new Float32Array(C));
          k.layerNormBackward(dx2, dw, db, py, px, pw, mean, rstd, rows, C);
          const r = [sum, out, mean, rstd, dx, dx2].map((p, i) => k.mem.f32(p, i === 2 || i === 3 ? rows : n).slice());
          r.push(k.mem.f32(dw, C).slice(), k.mem.f32(db, C).slice());
          k.mem.release(mark);
          return r;
        });
        const names = ["add", "layerNorm out", "mean", "rstd", "layerNorm dx", "dx with dW", "dW", "dB"];
        names.forEach((what, i) =>
          assertBitIdentical(outs[1]![i]!, outs[0]![i]!, `${what} ${rows}×${C} threads ${threads}`)
        );
      }
      for (const [B, H, T] of [[1, 2, 8], [8, 12, 64], [3, 5, 33]] as const) {
        const probs = Float32Array.from({ length: B * H * T * T }, () => Math.abs(rnd()));
        const qmask = Float32Array.from({ length: B * T }, (_, i) => (i % 5 === 4 ? 0 : 1));
        const outs = [one, many].map((k) => {
          const mark = k.mem.mark();
          const out = put(k, Float32Array.from({ length: H }, (_, h) => h));
          k.attentionEntropy(out, put(k, probs), put(k, qmask), B, H, T);
          const r = k.mem.f32(out, H).slice();
          k.mem.release(mark);
          return r;
        });
        assertBitIdentical(outs[1]!, outs[0]!, `entropy ${B}×${H}×${T} threads ${threads}`);
      }
    } finally {
      many.close();
    }
  }
});

Deno.test("attentionForward()/attentionBackward() on 2 and 3 threads are bit-identical to one thread", () => {
  const kernels = [
    createWasmKernels({ threads: 1 }),
    createWasmKernels({ threads: 2 }),
    createWasmKernels({ threads: 3 }),
  ];
  try {
    // the last three are grouped-query attention: kv heads 3 (groups of 2), 2 (groups of 4: fewer kv heads than
    // 3 threads) and a pruned layer's map (groups of 2, 1, 2, 1: the backward splits by kv head)
    const shapes: Array<[B: number, T: number, H: number, D: number, Hkv?: number, kvHead?: number[]]> = [
      [2, 37, 3, 16],
      [1, 128, 4, 64],
      [3, 9, 1, 8],
      [2, 37, 6, 16, 3],
      [1, 64, 8, 32, 2],
      [2, 21, 6, 8, 4, [0, 0, 1, 2, 2, 3]],
    ];
    for (const [B, T, H, D, kvHeads = H, kvHead] of shapes) {
      const ld = (H + 2 * kvHeads) * D, n = B * T * ld, scale = 1 / Math.sqrt(D);
      const rnd = random(B * 100 + T);
      const qkv = Float32Array.from({ length: n }, rnd);
      const dctx = Float32Array.from({ length: B * T * H * D }, rnd);
      const keyMask = Float32Array.from({ length: B * T }, (_, i) => (i % T < T - 3 * (i >= T ? 1 : 0) ? 1 : 0));
      const headMask = Float32Array.from({ length: H }, (_, h) => [1, 0, 0.5][h % 3]!);
      for (const [causal, window] of [[false, 0], [true, 0], [true, 5]] as const) {
        const outs = kernels.map((k) => {
          const o = fusedAttention(k, {
            ...{ qkv, dctx, keyMask, headMask, B, T, H, D, scale, causal, window, kvHeads, kvHead },
          });
          return [o.ctx, o.probs, o.dqkv, o.dheadMask!, o.ctxUnsaved];
        });
        for (let t = 0; t < 3; t++) {
          assertBitIdentical(outs[t]![4]!, outs[0]![0]!, `ctx without saved probs B=${B} T=${T}, ${t + 1} threads`);
        }
        for (const t of [1, 2]) {
          ["ctx", "probs", "dqkv", "dheadMask"].forEach((name, i) => {
            assertBitIdentical(
              outs[t]![i]!,
              outs[0]![i]!,
              `${name} B=${B} T=${T} H=${H} Hkv=${kvHeads} causal ${causal} window ${window}, ${t + 1} threads`,
            );
          });
        }
      }
    }
  } finally {
    for (const k of kernels) k.close();
  }
});

Deno.test("close() stops the workers: the kernels then run on the caller alone, with the same results", () => {
  const k = createWasmKernels({ threads: 2 });
  const M = 128, K = 256, N = 96;
  const rnd = random(5);
  const a = put(k, Float32Array.from({ length: M * K }, rnd)), b = put(k, Float32Array.from({ length: N * K }, rnd));
  const out = k.mem.alloc(4 * M * N);
  k.matmul(out, a, b, 0, M, K, N, TRANS_B);
  const threaded = k.mem.f32(out, M * N).slice();
  k.close();
  assert.equal(k.threads, 1);
  k.close(); // idempotent
  k.matmul(out, a, b, 0, M, K, N, TRANS_B);
  assertBitIdentical(k.mem.f32(out, M * N).slice(), threaded, "matmul after close");
});

Deno.test("a pooled kernel memory grows past its first pages and the workers see the new memory", () => {
  const one = createWasmKernels({ threads: 1 });
  const many = createWasmKernels({ threads: 2 });
  try {
    const M = 512, K = 1024, N = 768; // ≈ 6 MB of operands: beyond the shared memory's first 1 MiB
    const rnd = random(9);
    const a = Float32Array.from({ length: M * K }, rnd), b = Float32Array.from({ length: N * K }, rnd);
    const outs = [one, many].map((k) => {
      const out = k.mem.alloc(4 * M * N);
      k.matmul(out, put(k, a), put(k, b), 0, M, K, N, TRANS_B);
      return k.mem.f32(out, M * N).slice();
    });
    assertBitIdentical(outs[1]!, outs[0]!, "matmul in grown memory");
  } finally {
    many.close();
  }
});

Deno.test("a pooled kernel memory zeroes a large allocation across the threads, to its last byte", () => {
  const k = createWasmKernels({ threads: 2 });
  try {
    const bytes = 4 * (3 << 20) + 52; // above the split size, not a whole number of 64-byte lines
    const mark = k.mem.mark();
    const p = k.mem.allocUninitialized(bytes + 64);
    new Uint8Array(k.mem.memory.buffer, p, bytes + 64).fill(0xab);
    k.mem.release(mark);
    const q = k.mem.alloc(bytes);
    assert.equal(q, p);
    const view = new Uint8Array(k.mem.memory.buffer, q, bytes + 64);
    assert.equal(view.subarray(0, bytes).findIndex((b) => b !== 0), -1, "every byte zeroed");
    assert.ok(view.subarray(bytes).every((b) => b === 0xab), "nothing past the allocation touched");
  } finally {
    k.close();
  }
});

Deno.test("siluForward/Backward(), mulForward() and rmsNormForward/Backward() on 2 and 3 threads are bit-identical", () => {
  const one = createWasmKernels({ threads: 1 });
  for (const threads of [2, 3]) {
    const many = createWasmKernels({ threads });
    try {
      const rnd = random(40 + threads);
      // below and above the split size; rows that do not divide by the threads; a partial last quad
      for (const [rows, C] of [[7, 64], [1025, 768], [341, 769]] as const) {
        const n = rows * C;
        const x = Float32Array.from({ length: n }, () => 8 * rnd()), y = Float32Array.from({ length: n }, rnd);
        const w = Float32Array.from({ length: C }, rnd), d0 = Float32Array.from({ length: n }, rnd);
        const outs = [one, many].map((k) => {
          const mark = k.mem.mark();
          const px = put(k, x), py = put(k, y), pw = put(k, w);
          const s = put(k, new Float32Array(n)), ds = put(k, d0), prod = put(k, new Float32Array(n));
          k.siluForward(s, px, n);
          k.siluBackward(ds, px, py, n);
          k.mulForward(prod, px, py, n);
          const out = put(k, new Float32Array(n)), rstd = put(k, new Float32Array(rows));
          k.rmsNormForward(out, rstd, px, pw, rows, C, 1e-6, 0);
          const dx = put(k, d0);
          k.rmsNormBackward(dx, 0, py, px, pw, rstd, rows, C, 0);
          // with the weight gradient: one order over the rows, whatever the threads
          const dx2 = put(k, d0), dw = put(k, new Float32Array(C));
          k.rmsNormBackward(dx2, dw, py, px, pw, rstd, rows, C, 0);
          const r = [s, ds, prod, out, rstd, dx, dx2].map((p, i) => k.mem.f32(p, i === 4 ? rows : n).slice());
          r.push(k.mem.f32(dw, C).slice());
          k.mem.release(mark);
          return r;
        });
        const names = ["silu", "silu dx", "mul", "rmsNorm out", "rstd", "rmsNorm dx", "dx with dW", "dW"];
        names.forEach((what, i) =>
          assertBitIdentical(outs[1]![i]!, outs[0]![i]!, `${what} ${rows}×${C} threads ${threads}`)
        );
      }
    } finally {
      many.close();
    }
  }
});
