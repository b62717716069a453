// Row softmax (in place, max-subtracted) and softmax cross-entropy with ignored (negative) targets.

import { hmax } from "./simd";

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

/** out[i] = exp(x[i] − m); returns Σ out (f64). `out` may equal `x`. */
export function expShift(out: usize, x: usize, m: f32, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const e = Mathf.exp(load<f32>(x + o) - m);
    store<f32>(out + o, e);
    s += <f64>e;
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
