// Shared SIMD helpers. `madd` is a fused multiply-add in the relaxed-SIMD build (ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant set by `--enable relaxed-simd`) and mul + add in the fixed-SIMD build.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Σ a[i]·b[i] over n floats. */
export function dot(a: usize, b: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    acc0 = madd(v128.load(a + o), v128.load(b + o), acc0);
    acc1 = madd(v128.load(a + o, 16), v128.load(b + o, 16), acc1);
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    acc0 = madd(v128.load(a + o), v128.load(b + o), acc0);
  }
  let s = hsum(f32x4.add(acc0, acc1));
  for (; i < n; i++) {
    const o = <usize>i << 2;
    s += load<f32>(a + o) * load<f32>(b + o);
  }
  return s;
}

/** y[i] += alpha·x[i] over n floats. */
export function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, madd(va, v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

/** Stores the 4×4 transpose of rows r0..r3: column q goes to dst + q·stride. */
// @ts-ignore: decorator
@inline export function transpose4Store(dst: usize, stride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, i32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, i32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, i32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

// Constants of expv, read with load32_splat (one broadcast each; a v128.const costs V8 several instructions).
const EXP_K: usize = memory.data<f32>([
  88.0, -87.3, 12582912.0, 1.44269504088896341, -0.693359375, 2.12194440e-4, 1.9875691500e-4, 1.3981999507e-3,
  8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, 1, reinterpret<f32>(127 << 23),
]);

// @ts-ignore: decorator
@inline function kc(i: i32): v128 {
  return v128.load32_splat(EXP_K + (<usize>i << 2));
}

/**
 * exp(x) per lane in f32 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial; ≈ 1–2 ulp).
 * x is clamped to ≤ 88 (exp(88) = 1.65e38); lanes with x < −87.3 (results below f32's normal range, −∞ included)
 * give 0; NaN stays NaN. Uses only pmin/pmax (single instructions) and the 1.5·2²³ rounding trick for n.
 */
// @ts-ignore: decorator
@inline export function expv(x: v128): v128 {
  const xc = f32x4.pmax(f32x4.pmin(x, kc(0)), kc(1));
  // t = x·log2(e) + 1.5·2²³ rounds x·log2(e) to the nearest integer n in t's low mantissa bits.
  const magic = kc(2);
  const t = madd(xc, kc(3), magic);
  const n = f32x4.sub(t, magic);
  let r = madd(n, kc(4), xc);
  r = madd(n, kc(5), r);
  let p = madd(kc(6), r, kc(7));
  p = madd(p, r, kc(8));
  p = madd(p, r, kc(9));
  p = madd(p, r, kc(10));
  p = madd(p, r, kc(11));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, kc(12)));
  // 2^n (n ∈ [−126, 127]): t's bits shifted left by 23 are n << 23 (the magic's bits shift out).
  const scale = i32x4.add(i32x4.shl(t, 23), kc(13));
  const res = f32x4.mul(p, scale);
  // Below the normal range (and −∞): 0.
  return v128.andnot(res, f32x4.lt(x, kc(1)));
}

/** Loads cnt (0–3) floats from p into lanes 0..cnt−1; the other lanes are `fill`. */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, cnt: i32, fill: f32): v128 {
  let v = f32x4.splat(fill);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores lanes 0..cnt−1 (cnt 0–3) of v to p. */
// @ts-ignore: decorator
@inline export function storePartial(p: usize, v: v128, cnt: i32): void {
  if (cnt > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}
