// Multi-head scaled dot-product attention, forward and backward, per (batch, head, query row).
// q/k/v rows are strided by ldqkv floats; probs [B, H, T, T] are saved without the head-mask multiplier.

import { axpy, dot } from "./simd";
import { expShift, scaleInPlace } from "./softmax";

export function attention_forward(
  ctx: usize, probs: usize, q: usize, k: usize, v: usize, ldqkv: i32, keyMask: usize, headMask: usize,
  B: i32, T: i32, H: i32, D: i32, scale: f32, causal: i32,
): void {
  const ld = <usize>ldqkv << 2;
  const ldc = <usize>(H * D) << 2;
  const rowBytes = <usize>T << 2;
  const uniform: f32 = 1 / <f32>T;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const m: f32 = headMask ? load<f32>(headMask + (<usize>h << 2)) : 1;
      const hoff = <usize>(h * D) << 2;
      const qb = q + <usize>(b * T) * ld + hoff;
      const kb = k + <usize>(b * T) * ld + hoff;
      const vb = v + <usize>(b * T) * ld + hoff;
      const mb = keyMask ? keyMask + (<usize>(b * T) << 2) : 0;
      for (let i = 0; i < T; i++) {
        const qi = qb + <usize>i * ld;
        const prow = probs + <usize>((b * H + h) * T + i) * rowBytes;
        const jEnd = causal ? i + 1 : T;
        let mx: f32 = -Infinity;
        for (let j = 0; j < jEnd; j++) {
          let s: f32 = -Infinity;
          if (!mb || load<f32>(mb + (<usize>j << 2)) != 0) {
            s = scale * dot(qi, kb + <usize>j * ld, D);
            mx = max(mx, s);
          }
          store<f32>(prow + (<usize>j << 2), s);
        }
        const c = ctx + <usize>(b * T + i) * ldc + hoff;
        memory.fill(c, 0, <usize>D << 2);
        if (mx == -Infinity) {
          // Every key masked: uniform over all T keys.
          for (let j = 0; j < T; j++) store<f32>(prow + (<usize>j << 2), uniform);
          if (m != 0) {
            for (let j = 0; j < T; j++) axpy(c, m * uniform, vb + <usize>j * ld, D);
          }
          continue;
        }
        for (let j = jEnd; j < T; j++) store<f32>(prow + (<usize>j << 2), 0);
        const sum = expShift(prow, prow, mx, jEnd);
        scaleInPlace(prow, <f32>(1.0 / sum), jEnd);
        if (m != 0) {
          for (let j = 0; j < jEnd; j++) {
            const p = load<f32>(prow + (<usize>j << 2));
            if (p != 0) axpy(c, m * p, vb + <usize>j * ld, D);
          }
        }
      }
    }
  }
}

export function attention_backward(
  dq: usize, dk: usize, dv: usize, dheadMask: usize, dctx: usize, probs: usize, q: usize, k: usize, v: usize,
  ldqkv: i32, headMask: usize, scratch: usize, B: i32, T: i32, H: i32, D: i32, scale: f32,
): void {
  const ld = <usize>ldqkv << 2;
  const ldc = <usize>(H * D) << 2;
  const rowBytes = <usize>T << 2;
  for (let h = 0; h < H; h++) {
    const m: f32 = headMask ? load<f32>(headMask + (<usize>h << 2)) : 1;
    const hoff = <usize>(h * D) << 2;
    let dm: f64 = 0;
    for (let b = 0; b < B; b++) {
      const base = <usize>(b * T) * ld + hoff;
      for (let i = 0; i < T; i++) {
        const prow = probs + <usize>((b * H + h) * T + i) * rowBytes;
        const dci = dctx + <usize>(b * T + i) * ldc + hoff;
        const qi = q + base + <usize>i * ld;
        const dqi = dq + base + <usize>i * ld;
        // dP'[j] = dctx_i · v_j;  dv_j += m·P[j]·dctx_i;  dm += dP'[j]·P[j];  Σ_j P[j]·dP[j] with dP = m·dP'.
        let rowDot: f64 = 0;
        for (let j = 0; j < T; j++) {
          const p = load<f32>(prow + (<usize>j << 2));
          if (p == 0) continue;
          const dpp = dot(dci, v + base + <usize>j * ld, D);
          store<f32>(scratch + (<usize>j << 2), dpp);
          rowDot += <f64>(p * dpp);
          axpy(dv + base + <usize>j * ld, m * p, dci, D);
        }
        dm += rowDot;
        const mdot = <f32>(<f64>m * rowDot);
        for (let j = 0; j < T; j++) {
          const p = load<f32>(prow + (<usize>j << 2));
          if (p == 0) continue;
          const ds = scale * p * (m * load<f32>(scratch + (<usize>j << 2)) - mdot);
          axpy(dqi, ds, k + base + <usize>j * ld, D);
          axpy(dk + base + <usize>j * ld, ds, qi, D);
        }
      }
    }
    if (dheadMask) {
      const o = dheadMask + (<usize>h << 2);
      store<f32>(o, load<f32>(o) + <f32>dm);
    }
  }
}
