// RMSNorm forward/backward (HF LlamaRMSNorm, in f32): y = x·rstd·(offset + γ), rstd = 1/sqrt(mean(x²) + eps),
// SIMD over the channel axis. `offset` is 0 for Llama, Qwen2, Mistral (Gemma's 1 + γ would be 1).

import { hsum, madd } from "./simd";

export function rms_norm_forward(out: usize, rstd: usize, inp: usize, weight: usize, rows: i32, C: i32, eps: f32, offset: f32): void {
  const rowBytes = <usize>C << 2;
  const invC: f32 = 1 / <f32>C;
  const voff = f32x4.splat(offset);
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes;
    const y = out + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= C; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      acc = madd(v, v, acc);
    }
    let s = hsum(acc);
    for (; i < C; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      s += v * v;
    }
    const rs: f32 = <f32>(1.0 / Math.sqrt(<f64>(s * invC) + <f64>eps));
    const vr = f32x4.splat(rs);
    i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(v128.load(x + o), vr);
      v128.store(y + o, f32x4.mul(n, f32x4.add(v128.load(weight + o), voff)));
    }
    for (; i < C; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, load<f32>(x + o) * rs * (load<f32>(weight + o) + offset));
    }
    store<f32>(rstd + (<usize>r << 2), rs);
  }
}

// dx = rstd·(ĝ − x̂·mean(ĝ·x̂)) with x̂ = x·rstd, ĝ = (offset + γ)·dy; dγ += dy·x̂. dweight may be 0: not wanted.
export function rms_norm_backward(dinp: usize, dweight: usize, dout: usize, inp: usize, weight: usize, rstd: usize, rows: i32, C: i32, offset: f32): void {
  const rowBytes = <usize>C << 2;
  const invC: f32 = 1 / <f32>C;
  const voff = f32x4.splat(offset);
  for (let r = 0; r < rows; r++) {
    const x = inp + <usize>r * rowBytes;
    const dy = dout + <usize>r * rowBytes;
    const dx = dinp + <usize>r * rowBytes;
    const rs = load<f32>(rstd + (<usize>r << 2));
    const vr = f32x4.splat(rs);
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(v128.load(x + o), vr);
      const g = v128.load(dy + o);
      acc = madd(f32x4.mul(f32x4.add(v128.load(weight + o), voff), g), n, acc);
      if (dweight) v128.store(dweight + o, madd(n, g, v128.load(dweight + o)));
    }
    let s = hsum(acc);
    for (; i < C; i++) {
      const o = <usize>i << 2;
      const n = load<f32>(x + o) * rs;
      const g = load<f32>(dy + o);
      s += (load<f32>(weight + o) + offset) * g * n;
      if (dweight) store<f32>(dweight + o, load<f32>(dweight + o) + n * g);
    }
    const m = s * invC;
    const vm = f32x4.splat(m);
    i = 0;
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const n = f32x4.mul(v128.load(x + o), vr);
      const gh = f32x4.mul(f32x4.add(v128.load(weight + o), voff), v128.load(dy + o));
      v128.store(dx + o, madd(f32x4.sub(gh, f32x4.mul(n, vm)), vr, v128.load(dx + o)));
    }
    for (; i < C; i++) {
      const o = <usize>i << 2;
      const n = load<f32>(x + o) * rs;
      const gh = (load<f32>(weight + o) + offset) * load<f32>(dy + o);
      store<f32>(dx + o, load<f32>(dx + o) + (gh - n * m) * rs);
    }
  }
}
