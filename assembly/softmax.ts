// Row softmax (in place, max-subtracted) and softmax cross-entropy with ignored (negative) targets.

import { expv, hmax, loadPartial, storePartial } from "./simd";

/** Max over n floats (n ≥ 1). */
export function rowMax(x: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (n >= 4) {
    let vm = v128.load(x);
    for (i = 4; i + 4 <= n; i += 4) vm = f32x4.max(vm, v128.load(x + (<usize>i << 2)));
    m = hmax(vm);
  }
  for (; i < n; i++) m = max(m, load<f32>(x + (<usize>i << 2)));
  return m;
}

/** out[i] = exp(x[i] − m) (SIMD exp, ≈ 1–2 ulp; exactly 0 for x[i] = −∞); returns Σ out (f64). `out` may equal `x`. */
export function expShift(out: usize, x: usize, m: f32, n: i32): f64 {
  const vm = f32x4.splat(m);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const e = expv(f32x4.sub(v128.load(x + o), vm));
    v128.store(out + o, e);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(e, e, 2, 3, 2, 3)));
  }
  let s: f64 = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1)) + (f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1));
  if (i < n) {
    // Tail through the same SIMD exp (−∞ padding lanes give 0).
    const o = <usize>i << 2;
    const e = expv(f32x4.sub(loadPartial(x + o, n - i, -Infinity), vm));
    storePartial(out + o, e, n - i);
    s += (<f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1)) + <f64>f32x4.extract_lane(e, 2);
  }
  return s;
}

export function scaleInPlace(x: usize, s: f32, n: i32): void {
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), vs));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * s);
  }
}

export function softmax_forward(x: usize, rows: i32, cols: i32): void {
  if (cols <= 0) return;
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const p = x + <usize>r * rowBytes;
    const m = rowMax(p, cols);
    const s = expShift(p, p, m, cols);
    scaleInPlace(p, <f32>(1.0 / s), cols);
  }
}
