// Layer norm forward/backward (llm.c's layernorm_forward / layernorm_backward), SIMD over the channel axis.

import { hsum, madd } from "./simd";

export function layer_norm_forward(out: usize, mean: usize, rstd: usize, inp: usize, weight: usize, bias: usize, rows: i32, C: i32, eps: f32): void {
  const rowBytes = <usize>C << 2;
  const invC: f32 = 1 / <f32>C;
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes;
    const y = out + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= C; i += 4) acc = f32x4.add(acc, v128.load(x + (<usize>i << 2)));
    let s = hsum(acc);
    for (; i < C; i++) s += load<f32>(x + (<usize>i << 2));
    const m = s * invC;
    const vm = f32x4.splat(m);
    acc = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= C; i += 4) {
      const d = f32x4.sub(v128.load(x + (<usize>i << 2)), vm);
      acc = madd(d, d, acc);
    }
    let v = hsum(acc);
    for (; i < C; i++) {
      const d = load<f32>(x + (<usize>i << 2)) - m;
      v += d * d;
    }
    const rs: f32 = <f32>(1.0 / Math.sqrt(<f64>(v * invC) + <f64>eps));
    const vr = f32x4.splat(rs);
    i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
      v128.store(y + o, madd(n, v128.load(weight + o), v128.load(bias + o)));
    }
    for (; i < C; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, (load<f32>(x + o) - m) * rs * load<f32>(weight + o) + load<f32>(bias + o));
    }
    store<f32>(mean + (<usize>r << 2), m);
    store<f32>(rstd + (<usize>r << 2), rs);
  }
}

// dweight / dbias may be 0: that gradient is not wanted and not computed (the importance pass wants none)
export function layer_norm_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, mean: usize, rstd: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  const invC: f32 = 1 / <f32>C;
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes;
    const dy = dout + <usize>r * rowBytes;
    const dx = dinp + <usize>r * rowBytes;
    const m = load<f32>(mean + (<usize>r << 2));
    const rs = load<f32>(rstd + (<usize>r << 2));
    const vm = f32x4.splat(m), vr = f32x4.splat(rs);
    // dnorm = weight·dout; need mean(dnorm) and mean(dnorm·norm).
    let a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
      const g = v128.load(dy + o);
      const dn = f32x4.mul(v128.load(weight + o), g);
      a1 = f32x4.add(a1, dn);
      a2 = madd(dn, n, a2);
      if (dbias) v128.store(dbias + o, f32x4.add(v128.load(dbias + o), g));
      if (dweight) v128.store(dweight + o, madd(n, g, v128.load(dweight + o)));
    }
    let s1 = hsum(a1), s2 = hsum(a2);
    for (; i < C; i++) {
      const o = <usize>i << 2;
      const n = (load<f32>(x + o) - m) * rs;
      const g = load<f32>(dy + o);
      const dn = load<f32>(weight + o) * g;
      s1 += dn;
      s2 += dn * n;
      if (dbias) store<f32>(dbias + o, load<f32>(dbias + o) + g);
      if (dweight) store<f32>(dweight + o, load<f32>(dweight + o) + n * g);
    }
    const mdn = s1 * invC, mdnn = s2 * invC;
    const vmdn = f32x4.splat(mdn), vmdnn = f32x4.splat(mdnn);
    i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
      const dn = f32x4.mul(v128.load(weight + o), v128.load(dy + o));
      const t = f32x4.sub(f32x4.sub(dn, vmdn), f32x4.mul(n, vmdnn));
      v128.store(dx + o, madd(t, vr, v128.load(dx + o)));
    }
    for (; i < C; i++) {
      const o = <usize>i << 2;
      const n = (load<f32>(x + o) - m) * rs;
      const dn = load<f32>(weight + o) * load<f32>(dy + o);
      store<f32>(dx + o, load<f32>(dx + o) + (dn - mdn - n * mdnn) * rs);
    }
  }
}
