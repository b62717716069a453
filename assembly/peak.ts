// The WASM-SIMD peak that matmul's GFLOP/s are measured against: matmul's micro-kernel instruction mix — per step
// two B vectors and six A splats loaded from a 64-byte block that stays in L1, twelve independent f32x4
// multiply-adds into register accumulators (`madd`: fused in the relaxed-SIMD build, mul + add in the fixed one),
// no packing and no stores. A register-only chain (x ← x·a + c on constants) measured 14 GFLOP/s under V8 here,
// a third of what the matmul itself reaches, so it does not measure the machine; this mix reaches ~49.

import { madd } from "./simd";

// B: two zero vectors; A: six 0.5s. Each step adds 0.5 · 0 to every accumulator, so the result is exact whether
// or not the multiply-add is fused; the constant segment is never written (safe on a shared memory).
const PEAK_DATA: usize = memory.data<f32>([0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0]);

/** Runs `iterations` steps of 12 f32x4 multiply-adds (96 FLOPs a step); returns the sum of the lanes (16.5). */
export function fma_peak(iterations: i32): f64 {
  let x0 = f32x4.splat(0.0), x1 = f32x4.splat(0.0625), x2 = f32x4.splat(0.125), x3 = f32x4.splat(0.1875);
  let x4 = f32x4.splat(0.25), x5 = f32x4.splat(0.3125), x6 = f32x4.splat(0.375), x7 = f32x4.splat(0.4375);
  let x8 = f32x4.splat(0.5), x9 = f32x4.splat(0.5625), x10 = f32x4.splat(0.625), x11 = f32x4.splat(0.6875);
  const p = PEAK_DATA;
  for (let i = 0; i < iterations; i++) {
    const b0 = v128.load(p), b1 = v128.load(p, 16);
    let a = f32x4.splat(load<f32>(p, 32)); x0 = madd(a, b0, x0); x1 = madd(a, b1, x1);
    a = f32x4.splat(load<f32>(p, 36)); x2 = madd(a, b0, x2); x3 = madd(a, b1, x3);
    a = f32x4.splat(load<f32>(p, 40)); x4 = madd(a, b0, x4); x5 = madd(a, b1, x5);
    a = f32x4.splat(load<f32>(p, 44)); x6 = madd(a, b0, x6); x7 = madd(a, b1, x7);
    a = f32x4.splat(load<f32>(p, 48)); x8 = madd(a, b0, x8); x9 = madd(a, b1, x9);
    a = f32x4.splat(load<f32>(p, 52)); x10 = madd(a, b0, x10); x11 = madd(a, b1, x11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  const t = f32x4.add(s, f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11)));
  return <f64>f32x4.extract_lane(t, 0) + <f64>f32x4.extract_lane(t, 1) + <f64>f32x4.extract_lane(t, 2) +
    <f64>f32x4.extract_lane(t, 3);
}
