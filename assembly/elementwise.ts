// Elementwise kernels: fill, zero, copy, add, scale, bias add and its backward, sum of squares.

export function fill_forward(out: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), value);
}

/** Zeroes `bytes` bytes at `out` with the bulk-memory `memory.fill` (the allocator's zero-fill: a JS fill of a
 * shared memory runs at about half this speed). */
export function zero_bytes(out: usize, bytes: i32): void {
  if (bytes > 0) memory.fill(out, 0, <usize>bytes);
}

export function copy_forward(out: usize, a: usize, n: i32): void {
  if (out != a && n > 0) memory.copy(out, a, <usize>n << 2);
}

export function add_forward(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

export function scale_forward(out: usize, a: usize, s: f32, n: i32): void {
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), vs));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * s);
  }
}

export function bias_forward(out: usize, a: usize, bias: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    add_forward(out + <usize>r * rowBytes, a + <usize>r * rowBytes, bias, cols);
  }
}

export function bias_backward(dbias: usize, dout: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    add_forward(dbias, dbias, dout + <usize>r * rowBytes, cols);
  }
}

/** Σ x[i]², squares and sums in f64. */
export function sum_squares(x: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const s2 = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < n; i++) {
    const e = <f64>load<f32>(x + (<usize>i << 2));
    s += e * e;
  }
  return s;
}
