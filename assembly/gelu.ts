// GELU (erf and tanh forms) and tanh, forward and backward.
//
// The GELU kernels run in f32 SIMD. erf form: with z = |x|/√2, the lower tail q = Φ(−|x|) is
//   z < 1:  0.5 − 0.5·z·P(z²)             (P: degree-6 fit of erf(z)/z, rel. error 1.4e-9)
//   z ≥ 1:  0.5·exp(−z²)·R(1/z)           (R: degree-8 fit of erfcx(z) = e^{z²}·erfc(z) on [1, 4.5], rel. 1.3e-7;
//                                          z is clamped to 4.5 inside R, where e^{−z²} has made q negligible)
// and gelu(x) = x·(x ≥ 0 ? 1 − q : q), with no cancellation in either tail (|error| < 4e-7 on [-10, 10], < 1 ulp
// of the result; checked densely in wasm_kernels_test.ts); gelu' = Φ(x) + x·e^{−z²}/√(2π) reuses e^{−z²}. The tanh
// form is x·sigmoid(2y) with the SIMD exp. The scalar f64 `erf` below is kept as an export (tests, reference):
//
// erf is evaluated in f64 from piecewise Chebyshev-fitted polynomials (|error| < 3e-10 on the real line):
//   |x| < 1: x·P(x²); 1 ≤ |x| < 2.5 and 2.5 ≤ |x| < 4: polynomials in (|x| − mid)/half; |x| ≥ 4: ±1
// (1 − erf(4) = 1.5e-8). (0.5x(1 + tanh(y)) = x·sigmoid(2y) has no cancellation.)

import { expv, loadPartial, madd, storePartial } from "./simd";

const SQRT1_2: f64 = 0.7071067811865476;
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

export function erf(x: f64): f64 {
  const a = Math.abs(x);
  let r: f64;
  if (a < 1.0) {
    const t = 2.0 * a * a - 1.0;
    r = -7.552377683236693e-08;
    r = r * t + 1.2316395995004997e-06;
    r = r * t - 1.7536914195197008e-05;
    r = r * t + 0.00021751199061995638;
    r = r * t - 0.002285485612205569;
    r = r * t + 0.019852497722455294;
    r = r * t - 0.1405360890211219;
    r = r * t + 0.9654687386375693;
    return x * r;
  } else if (a < 2.5) {
    const t = (a - 1.75) / 0.75;
    r = 1.9002242474228355e-06;
    r = r * t - 1.3381170293800226e-06;
    r = r * t - 2.4586905197492366e-05;
    r = r * t + 6.842349163073113e-05;
    r = r * t + 7.287951689440023e-05;
    r = r * t - 0.0008094881575564411;
    r = r * t + 0.0015952902059205665;
    r = r * t + 0.001572204230004631;
    r = r * t - 0.015219847426634514;
    r = r * t + 0.03803507825227745;
    r = r * t - 0.051950386347367185;
    r = r * t + 0.039581247880515605;
    r = r * t + 0.9866716712191823;
  } else if (a < 4.0) {
    const t = (a - 3.25) / 0.75;
    r = 3.323750474450674e-08;
    r = r * t + 1.5566420391398172e-06;
    r = r * t - 8.33761503939917e-06;
    r = r * t + 2.309736293211279e-05;
    r = r * t - 4.6831002850859305e-05;
    r = r * t + 7.428447137393137e-05;
    r = r * t - 9.068506383765587e-05;
    r = r * t + 8.263984987742623e-05;
    r = r * t - 5.336055065865778e-05;
    r = r * t + 2.189013201758547e-05;
    r = r * t + 0.9999956972205358;
  } else if (a < Infinity) {
    r = 1.0;
  } else {
    return a != a ? x : (x > 0 ? 1.0 : -1.0);
  }
  return x < 0 ? -r : r;
}

// erf(z)/z ≈ P(z²) on [0, 1] (increasing powers).
const P0: f32 = 1.1283791665100527;
const P1: f32 = -0.37612628843325213;
const P2: f32 = 0.11283612428246276;
const P3: f32 = -0.026854808537287694;
const P4: f32 = 0.005190053577975047;
const P5: f32 = -0.0008024354130074968;
const P6: f32 = 7.898210212254208e-05;
// erfcx(z) ≈ R(1/z) on [1, 4.5] (increasing powers).
const R0: f32 = 0.00018471311291230497;
const R1: f32 = 0.560419718277692;
const R2: f32 = 0.03263779470791206;
const R3: f32 = -0.43639496767667435;
const R4: f32 = 0.4167499664667091;
const R5: f32 = -0.12877684156866506;
const R6: f32 = -0.07296608016996542;
const R7: f32 = 0.07446094337879659;
const R8: f32 = -0.018731726652161936;

// The SIMD constants, read with load32_splat (a v128.const costs V8 several instructions per use).
const K: usize = memory.data<f32>([
  P6, P5, P4, P3, P2, P1, P0, 0.5, 1, 4.5, R8, R7, R6, R5, R4, R3, R2, R1, R0, 0, <f32>SQRT1_2, <f32>INV_SQRT_2PI,
  SQRT_2_OVER_PI, GELU_C, -2, 3 * GELU_C, 2,
]);

// @ts-ignore: decorator
@inline function kc(i: i32): v128 {
  return v128.load32_splat(K + (<usize>i << 2));
}

/** Φ(−|x|) per lane, given z = |x|/√2 and e = exp(−z²). */
// @ts-ignore: decorator
@inline function lowerTail(z: v128, e: v128): v128 {
  const u = f32x4.mul(z, z);
  let p = madd(kc(0), u, kc(1));
  p = madd(p, u, kc(2));
  p = madd(p, u, kc(3));
  p = madd(p, u, kc(4));
  p = madd(p, u, kc(5));
  p = madd(p, u, kc(6));
  const small = f32x4.sub(kc(7), f32x4.mul(f32x4.mul(kc(7), z), p));
  const t = f32x4.div(kc(8), f32x4.pmin(f32x4.pmax(z, kc(8)), kc(9)));
  let r = madd(kc(10), t, kc(11));
  r = madd(r, t, kc(12));
  r = madd(r, t, kc(13));
  r = madd(r, t, kc(14));
  r = madd(r, t, kc(15));
  r = madd(r, t, kc(16));
  r = madd(r, t, kc(17));
  r = madd(r, t, kc(18));
  const large = f32x4.mul(f32x4.mul(kc(7), e), r);
  return v128.bitselect(small, large, f32x4.lt(z, kc(8)));
}

/** Φ(x) per lane from q = Φ(−|x|). */
// @ts-ignore: decorator
@inline function cdfFromTail(x: v128, q: v128): v128 {
  return v128.bitselect(f32x4.sub(kc(8), q), q, f32x4.ge(x, kc(19)));
}

// @ts-ignore: decorator
@inline function geluErfV(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), kc(20));
  const e = expv(f32x4.neg(f32x4.mul(z, z)));
  return f32x4.mul(x, cdfFromTail(x, lowerTail(z, e)));
}

// @ts-ignore: decorator
@inline function geluErfGradV(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), kc(20));
  const e = expv(f32x4.neg(f32x4.mul(z, z)));
  // gelu'(x) = Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π) = e/√(2π)
  return madd(x, f32x4.mul(e, kc(21)), cdfFromTail(x, lowerTail(z, e)));
}

// @ts-ignore: decorator
@inline function geluTanhV(x: v128): v128 {
  const y = f32x4.mul(kc(22), madd(f32x4.mul(kc(23), x), f32x4.mul(x, x), x));
  return f32x4.div(x, f32x4.add(kc(8), expv(f32x4.mul(kc(24), y))));
}

// @ts-ignore: decorator
@inline function geluTanhGradV(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const y = f32x4.mul(kc(22), madd(f32x4.mul(kc(23), x), x2, x));
  const s = f32x4.div(kc(8), f32x4.add(kc(8), expv(f32x4.mul(kc(24), y))));
  const dy = f32x4.mul(kc(22), madd(kc(25), x2, kc(8)));
  // s + 2x·s·(1 − s)·dy
  return madd(f32x4.mul(f32x4.mul(kc(26), x), s), f32x4.mul(f32x4.sub(kc(8), s), dy), s);
}

export function gelu_erf_forward(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, geluErfV(v128.load(inp + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(out + o, geluErfV(loadPartial(inp + o, n - i, 0)), n - i);
  }
}

export function gelu_erf_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dinp + o, madd(geluErfGradV(v128.load(inp + o)), v128.load(dout + o), v128.load(dinp + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const c = n - i;
    const g = madd(geluErfGradV(loadPartial(inp + o, c, 0)), loadPartial(dout + o, c, 0), loadPartial(dinp + o, c, 0));
    storePartial(dinp + o, g, c);
  }
}

export function gelu_tanh_forward(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, geluTanhV(v128.load(inp + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(out + o, geluTanhV(loadPartial(inp + o, n - i, 0)), n - i);
  }
}

export function gelu_tanh_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dinp + o, madd(geluTanhGradV(v128.load(inp + o)), v128.load(dout + o), v128.load(dinp + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const c = n - i;
    const g = madd(geluTanhGradV(loadPartial(inp + o, c, 0)), loadPartial(dout + o, c, 0), loadPartial(dinp + o, c, 0));
    storePartial(dinp + o, g, c);
  }
}

// ReLU: max(x, 0); its gradient passes dout where x > 0 (0 at x = 0, as PyTorch).
export function relu_forward(out: usize, inp: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.max(v128.load(inp + o), zero));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(inp + o);
    store<f32>(out + o, x > 0 ? x : 0);
  }
}

export function relu_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pass = f32x4.gt(v128.load(inp + o), zero);
    v128.store(dinp + o, f32x4.add(v128.load(dinp + o), v128.and(v128.load(dout + o), pass)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    if (load<f32>(inp + o) > 0) store<f32>(dinp + o, load<f32>(dinp + o) + load<f32>(dout + o));
  }
}

export function tanh_forward(out: usize, inp: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, Mathf.tanh(load<f32>(inp + o)));
  }
}

export function tanh_backward(dinp: usize, out: usize, dout: usize, n: i32): void {
  let i = 0;
  const one = f32x4.splat(1);
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const y = v128.load(out + o);
    const g = f32x4.mul(f32x4.sub(one, f32x4.mul(y, y)), v128.load(dout + o));
    v128.store(dinp + o, f32x4.add(v128.load(dinp + o), g));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const y = load<f32>(out + o);
    store<f32>(dinp + o, load<f32>(dinp + o) + (1 - y * y) * load<f32>(dout + o));
  }
}
