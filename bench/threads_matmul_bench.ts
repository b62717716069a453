/**
 * Matmul throughput of the kernel worker pool: our WASM matmul at 1 and 2 threads (and more with `--threads N`)
 * on BERT-base projections at batch 1 and batch 8 (seq 128), forward (nn.Linear, TRANS_B) and the two backward
 * matmuls (dx = dy·W, dW += dyᵀ·x), interleaved in one run so background load hits every thread count alike.
 *
 * `deno run --allow-read bench/threads_matmul_bench.ts [--threads N]`
 *
 * @module
 */
import { createWasmKernels, type Kernels, MatmulFlags } from "@bertology/core/kernels";

/** One measured shape. */
export interface ThreadsMatmulRow {
  /** Which matmul. */
  name: string;
  /** M×K×N. */
  shape: string;
  /** GFLOP/s by thread count. */
  gflops: Record<number, number>;
  /** GFLOP/s at the most threads ÷ at 1 thread. */
  speedup: number;
}

const { TRANS_A, TRANS_B, ACCUMULATE } = MatmulFlags;
const SHAPES: [string, number, number, number, number][] = [
  ["q/k/v forward, b1", 128, 768, 768, TRANS_B],
  ["ffn in forward, b1", 128, 768, 3072, TRANS_B],
  ["ffn out forward, b8", 1024, 3072, 768, TRANS_B],
  ["dx = dy·W, b8", 1024, 768, 768, ACCUMULATE],
  ["dW += dyᵀ·x, b8", 768, 1024, 768, TRANS_A | ACCUMULATE],
];
const ROUNDS = 9;

/**
 * Measures every shape at 1 and `threads` threads, prints a table and returns the rows.
 *
 * @param threads The pooled thread count to compare with 1 (default 2).
 * @returns One row per shape.
 */
export function benchThreadsMatmul(threads = 2): ThreadsMatmulRow[] {
  const counts = [1, threads];
  const kernels: Kernels[] = counts.map((t) => createWasmKernels({ threads: t }));
  try {
    const calls = SHAPES.map(([, M, K, N, flags]) =>
      kernels.map((k) => {
        const a = k.mem.alloc(4 * M * K), b = k.mem.alloc(4 * K * N), out = k.mem.alloc(4 * M * N);
        k.mem.f32(a, M * K).fill(0.25);
        k.mem.f32(b, K * N).fill(0.5);
        return () => k.matmul(out, a, b, 0, M, K, N, flags);
      })
    );
    for (const cs of calls) for (const c of cs) for (let i = 0; i < 3; i++) c();
    const times = calls.map((cs) => cs.map(() => [] as number[]));
    for (let r = 0; r < ROUNDS; r++) {
      calls.forEach((cs, i) =>
        cs.forEach((c, j) => {
          const t = performance.now();
          c();
          times[i]![j]!.push(performance.now() - t);
        })
      );
    }
    const rows = SHAPES.map(([name, M, K, N], i) => {
      const gflops: Record<number, number> = {};
      counts.forEach((_t, j) => {
        const ms = times[i]![j]!.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)]!;
        gflops[kernels[j]!.threads] = 2 * M * K * N / ms / 1e6;
      });
      const got = kernels[1]!.threads;
      return { name, shape: `${M}×${K}×${N}`, gflops, speedup: gflops[got]! / gflops[1]! };
    });
    console.log(
      `matmul at 1 and ${kernels[1]!.threads} threads (${kernels[0]!.name}), median of ${ROUNDS} interleaved rounds`,
    );
    console.table(rows.map((r) => ({
      name: r.name,
      "M×K×N": r.shape,
      ...Object.fromEntries(Object.entries(r.gflops).map(([t, g]) => [`GFLOP/s ${t}t`, g.toFixed(1)])),
      speedup: r.speedup.toFixed(2),
    })));
    return rows;
  } finally {
    for (const k of kernels) k.close();
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--threads");
  benchThreadsMatmul(i >= 0 ? Number(Deno.args[i + 1]) : 2);
}
