/**
 * Matmul throughput: our WASM kernel (relaxed and fixed SIMD; plain and TRANS_B as nn.Linear) next to
 * onnxruntime-web's single-threaded wasm MatMul on the same shapes. Shapes are M×K×N: out[M, N] = x[M, K]·w[K, N].
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { createWasmKernels, MatmulFlags } from "@bertology/core/kernels";
import { matmulModel } from "./_onnx.ts";

/** One measured row. */
export interface BenchRow {
  /** What ran, e.g. "ours wasm-relaxed-simd TRANS_B". */
  name: string;
  /** M×K×N. */
  shape: string;
  /** Median milliseconds per call. */
  ms: number;
  /** 2·M·K·N / median time. */
  gflops: number;
  /** ours / ORT GFLOP/s on the same shape (ORT rows: 1). */
  ratioVsOrt: number;
}

/** The benchmarked shapes as [M, K, N]: BERT-base attention/FFN projections at 128 tokens. */
export const SHAPES: [number, number, number][] = [[128, 768, 768], [128, 3072, 768], [128, 768, 3072]];

const WARMUP = 10; // enough calls for V8 to tier both engines up to optimised code
const ROUNDS = 15;

/**
 * Median milliseconds per call of each contestant. Rounds interleave the contestants (one call each per round),
 * so background load on a shared machine hits them alike.
 */
async function interleavedMedians(fns: (() => unknown)[]): Promise<number[]> {
  for (const fn of fns) for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < fns.length; i++) {
      const t = performance.now();
      await fns[i]!();
      times[i]!.push(performance.now() - t);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!);
}

function fillRandom(a: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1;
}

/**
 * Measures every shape, prints a table and returns the rows.
 *
 * @returns One row per (implementation, shape).
 */
export async function benchMatmul(): Promise<BenchRow[]> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const rows: BenchRow[] = [];
  for (const [M, K, N] of SHAPES) {
    const shape = `${M}×${K}×${N}`;
    const flops = 2 * M * K * N;
    const w = new Float32Array(K * N);
    fillRandom(w);
    const session = await ort.InferenceSession.create(matmulModel(M, K, N, w), { executionProviders: ["wasm"] });
    const xData = new Float32Array(M * K);
    fillRandom(xData);
    const x = new ort.Tensor("float32", xData, [M, K]);
    const names = ["onnxruntime-web wasm MatMul"];
    const fns: (() => unknown)[] = [() => session.run({ x })];
    for (const simd of ["relaxed", "fixed"] as const) {
      const k = createWasmKernels({ simd });
      const a = k.mem.alloc(4 * M * K), b = k.mem.alloc(4 * K * N), out = k.mem.alloc(4 * M * N);
      k.mem.f32(a, M * K).set(xData);
      fillRandom(k.mem.f32(b, K * N));
      for (const flags of [0, MatmulFlags.TRANS_B]) {
        names.push(`ours ${k.name} ${flags ? "TRANS_B (nn.Linear)" : "plain"}`);
        fns.push(() => k.matmul(out, a, b, 0, M, K, N, flags));
      }
    }
    const ms = await interleavedMedians(fns);
    await session.release();
    const ortGflops = flops / ms[0]! / 1e6;
    names.forEach((name, i) => {
      const gflops = flops / ms[i]! / 1e6;
      rows.push({ name, shape, ms: ms[i]!, gflops, ratioVsOrt: gflops / ortGflops });
    });
  }
  console.log(
    "matmul, shapes M×K×N (out[M,N] = x[M,K]·w[K,N]), single thread, median of 15 interleaved rounds after 10 warm-ups",
  );
  console.table(rows.map((r) => ({
    name: r.name,
    "M×K×N": r.shape,
    ms: r.ms.toFixed(2),
    "GFLOP/s": r.gflops.toFixed(1),
    "ours/ort": r.ratioVsOrt.toFixed(2),
  })));
  return rows;
}
