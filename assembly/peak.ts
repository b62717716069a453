// The WASM-SIMD peak that matmul's GFLOP/s are measured against: a loop of f32x4 multiply-adds on registers only
// (`madd`, the instruction of matmul's inner loop: a fused multiply-add in the relaxed-SIMD build, mul + add in the
// fixed one). Eight independent accumulators hide the multiply-add latency; nothing in the loop touches memory.
import { madd } from "./simd";

/** Runs `iterations` rounds of 16 f32x4 multiply-adds (128 FLOPs a round); returns the sum of the lanes. */
export function fma_peak(iterations: i32): f64 {
  // x ← x·a + c converges to 1 from anywhere: no overflow, no denormals, however long it runs
  const a = f32x4.splat(0.75), c = f32x4.splat(0.25);
  let x0 = f32x4.splat(0.0), x1 = f32x4.splat(0.125), x2 = f32x4.splat(0.25), x3 = f32x4.splat(0.375);
  let x4 = f32x4.splat(0.5), x5 = f32x4.splat(0.625), x6 = f32x4.splat(0.75), x7 = f32x4.splat(0.875);
  for (let i = 0; i < iterations; i++) {
    x0 = madd(x0, a, c); x1 = madd(x1, a, c); x2 = madd(x2, a, c); x3 = madd(x3, a, c);
    x4 = madd(x4, a, c); x5 = madd(x5, a, c); x6 = madd(x6, a, c); x7 = madd(x7, a, c);
    x0 = madd(x0, a, c); x1 = madd(x1, a, c); x2 = madd(x2, a, c); x3 = madd(x3, a, c);
    x4 = madd(x4, a, c); x5 = madd(x5, a, c); x6 = madd(x6, a, c); x7 = madd(x7, a, c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  return <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) + <f64>f32x4.extract_lane(s, 2) +
    <f64>f32x4.extract_lane(s, 3);
}
