// Softmax cross-entropy over rows of width V; a negative target means "ignore" (loss 0, gradient 0).

import { expShift, rowMax, scaleInPlace } from "./softmax";

export function cross_entropy_forward(losses: usize, probs: usize, logits: usize, targets: usize, rows: i32, V: i32): void {
  const rowBytes = <usize>V << 2;
  for (let r = 0; r < rows; r++) {
    const x = logits + <usize>r * rowBytes;
    const p = probs + <usize>r * rowBytes;
    const t = load<i32>(targets + (<usize>r << 2));
    const m = rowMax(x, V);
    const xt: f32 = t >= 0 ? load<f32>(x + (<usize>t << 2)) : 0;
    const s = expShift(p, x, m, V);
    scaleInPlace(p, <f32>(1.0 / s), V);
    store<f32>(losses + (<usize>r << 2), t >= 0 ? <f32>(Math.log(s) - <f64>(xt - m)) : 0);
  }
}

export function cross_entropy_backward(dlogits: usize, probs: usize, targets: usize, rows: i32, V: i32, scale: f32): void {
  const rowBytes = <usize>V << 2;
  const vs = f32x4.splat(scale);
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t < 0) continue;
    const d = dlogits + <usize>r * rowBytes;
    const p = probs + <usize>r * rowBytes;
    let i = 0;
    for (; i + 4 <= V; i += 4) {
      const o = <usize>i << 2;
      v128.store(d + o, f32x4.add(v128.load(d + o), f32x4.mul(vs, v128.load(p + o))));
    }
    for (; i < V; i++) {
      const o = <usize>i << 2;
      store<f32>(d + o, load<f32>(d + o) + scale * load<f32>(p + o));
    }
    const o = <usize>t << 2;
    store<f32>(d + o, load<f32>(d + o) - scale);
  }
}
