// GELU (erf and tanh forms) and tanh, forward and backward.
//
// erf is evaluated in f64 from piecewise Chebyshev-fitted polynomials (|error| < 3e-10 on the real line):
//   |x| < 1: x·P(x²); 1 ≤ |x| < 2.5 and 2.5 ≤ |x| < 4: polynomials in (|x| − mid)/half; |x| ≥ 4: ±1
// (1 − erf(4) = 1.5e-8). The tanh form uses 0.5x(1 + tanh(y)) = x·sigmoid(2y), which has no cancellation.

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

export function gelu_erf_forward(out: usize, inp: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const x = <f64>load<f32>(inp + o);
    store<f32>(out + o, <f32>(0.5 * x * (1.0 + erf(x * SQRT1_2))));
  }
}

export function gelu_erf_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const x = <f64>load<f32>(inp + o);
    const cdf = 0.5 * (1.0 + erf(x * SQRT1_2));
    const pdf = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    store<f32>(dinp + o, load<f32>(dinp + o) + <f32>((cdf + x * pdf) * <f64>load<f32>(dout + o)));
  }
}

export function gelu_tanh_forward(out: usize, inp: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(inp + o);
    const y = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    store<f32>(out + o, x / (<f32>1 + Mathf.exp(<f32>-2 * y)));
  }
}

export function gelu_tanh_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(inp + o);
    const y = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    const s: f32 = <f32>1 / (<f32>1 + Mathf.exp(<f32>-2 * y));
    const dy = SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
    const g: f32 = s + x * <f32>2 * s * (<f32>1 - s) * dy;
    store<f32>(dinp + o, load<f32>(dinp + o) + g * load<f32>(dout + o));
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
