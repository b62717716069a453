// SiLU (swish, HF's `silu`): x·sigmoid(x), forward and backward, with the SIMD exp (sigmoid = 1/(1 + e^{−x}) has no
// cancellation; e^{−x} is clamped at e^{88}), and the gated MLP's element-wise product a ⊙ b and its backward.

import { expv, loadPartial, madd, storePartial } from "./simd";

// @ts-ignore: decorator
@inline function sigmoidV(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline function siluGradV(x: v128): v128 {
  // silu'(x) = s·(1 + x·(1 − s))
  const one = f32x4.splat(1);
  const s = sigmoidV(x);
  return f32x4.mul(s, madd(x, f32x4.sub(one, s), one));
}

export function silu_forward(out: usize, inp: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(inp + o);
    v128.store(out + o, f32x4.mul(x, sigmoidV(x)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const x = loadPartial(inp + o, n - i, 0);
    storePartial(out + o, f32x4.mul(x, sigmoidV(x)), n - i);
  }
}

export function silu_backward(dinp: usize, inp: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dinp + o, madd(siluGradV(v128.load(inp + o)), v128.load(dout + o), v128.load(dinp + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const c = n - i;
    const g = madd(siluGradV(loadPartial(inp + o, c, 0)), loadPartial(dout + o, c, 0), loadPartial(dinp + o, c, 0));
    storePartial(dinp + o, g, c);
  }
}

// Element-wise product out = a ⊙ b (the gated MLP's silu(gate)·up); `out` may alias `a` or `b`.
export function mul_forward(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

// da += dout ⊙ b, db += dout ⊙ a; a 0 da or db is a gradient not wanted. da and db may be one buffer (a ⊙ a).
export function mul_backward(da: usize, db: usize, dout: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dout + o);
    if (da) v128.store(da + o, madd(g, v128.load(b + o), v128.load(da + o)));
    if (db) v128.store(db + o, madd(g, v128.load(a + o), v128.load(db + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dout + o);
    if (da) store<f32>(da + o, load<f32>(da + o) + g * load<f32>(b + o));
    if (db) store<f32>(db + o, load<f32>(db + o) + g * load<f32>(a + o));
  }
}
