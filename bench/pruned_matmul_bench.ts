/**
 * Does a pruned model's matmul stay as fast per FLOP as the unpruned one? After pruning heads, Q/K/V have
 * N = kept·d_head and the attention output dense K = kept·d_head, so these shapes must stay on the fast nn.Linear
 * path (TRANS_B) for a pruned model to be faster in proportion to the FLOPs it lost. Prints GFLOP/s per shape
 * (one thread, median of interleaved rounds) and each shape's GFLOP/s relative to the unpruned shape's.
 *
 * `deno run --allow-read bench/pruned_matmul_bench.ts`
 *
 * @module
 */
import { createWasmKernels, MatmulFlags } from "@bertology/core/kernels";

/** One measured shape. */
export interface PrunedMatmulRow {
  /** Which model and projection, with the heads kept. */
  name: string;
  /** M×K×N. */
  shape: string;
  /** Median milliseconds per call. */
  ms: number;
  /** 2·M·K·N / median time. */
  gflops: number;
  /** GFLOP/s relative to the same projection with every head kept (1 = as fast per FLOP). */
  perFlopVsFull: number;
}

/** [name, M, K, N, the unpruned row's index in this list]. */
const SHAPES: [string, number, number, number, number][] = [
  ["BERT-base q/k/v, 12 heads", 128, 768, 768, 0],
  ["BERT-base q/k/v, 10 heads", 128, 768, 640, 0],
  ["BERT-base q/k/v, 8 heads", 128, 768, 512, 0],
  ["BERT-base q/k/v, 7 heads", 128, 768, 448, 0],
  ["BERT-base attn out, 12 heads", 128, 768, 768, 4],
  ["BERT-base attn out, 10 heads", 128, 640, 768, 4],
  ["BERT-base attn out, 7 heads", 128, 448, 768, 4],
  ["bert-sst2 q/k/v, 8 heads", 128, 128, 128, 7],
  ["bert-sst2 q/k/v, 3 heads", 128, 128, 48, 7],
  ["bert-sst2 q/k/v, 2 heads", 128, 128, 32, 7],
  ["bert-sst2 attn out, 2 heads", 128, 32, 128, 7],
  ["BERT-base q/k/v, 12 heads, T=100", 100, 768, 768, 0],
];

const WARMUP = 10;
const ROUNDS = 21;

/**
 * Measures every shape (TRANS_B, as nn.Linear), prints a table and returns the rows.
 *
 * @returns One row per shape.
 */
export function benchPrunedMatmul(): PrunedMatmulRow[] {
  const k = createWasmKernels({ threads: 1 });
  const calls = SHAPES.map(([, M, K, N]) => {
    const a = k.mem.alloc(4 * M * K), b = k.mem.alloc(4 * K * N), out = k.mem.alloc(4 * M * N);
    k.mem.f32(a, M * K).fill(0.25);
    k.mem.f32(b, K * N).fill(0.5);
    return () => k.matmul(out, a, b, 0, M, K, N, MatmulFlags.TRANS_B);
  });
  for (const call of calls) for (let i = 0; i < WARMUP; i++) call();
  const times: number[][] = calls.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    calls.forEach((call, i) => {
      const t = performance.now();
      for (let j = 0; j < 5; j++) call();
      times[i]!.push((performance.now() - t) / 5);
    });
  }
  const ms = times.map((t) => t.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)]!);
  const gflops = SHAPES.map(([, M, K, N], i) => 2 * M * K * N / ms[i]! / 1e6);
  const rows = SHAPES.map(([name, M, K, N, full], i) => ({
    name,
    shape: `${M}×${K}×${N}`,
    ms: ms[i]!,
    gflops: gflops[i]!,
    perFlopVsFull: gflops[i]! / gflops[full]!,
  }));
  console.log(`pruned projections (TRANS_B, ${k.name}, 1 thread), median of ${ROUNDS} interleaved rounds`);
  console.table(rows.map((r) => ({
    name: r.name,
    "M×K×N": r.shape,
    ms: r.ms.toFixed(3),
    "GFLOP/s": r.gflops.toFixed(1),
    "per FLOP vs all heads": r.perFlopVsFull.toFixed(2),
  })));
  return rows;
}

if (import.meta.main) benchPrunedMatmul();
