// AdamW (torch.optim.AdamW semantics, decoupled weight decay).

export function adamw_update(
  param: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32,
): void {
  const bc1 = <f32>(1.0 - Math.pow(<f64>beta1, <f64>step));
  const bc2 = <f32>(1.0 - Math.pow(<f64>beta2, <f64>step));
  const decay = f32x4.splat(1 - lr * weightDecay);
  const vb1 = f32x4.splat(beta1), vb1c = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2), vb2c = f32x4.splat(1 - beta2);
  const vlr = f32x4.splat(lr / bc1);
  const vbc2 = f32x4.splat(1 / bc2);
  const veps = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const mm = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vb1c, g));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vb2c, f32x4.mul(g, g)));
    v128.store(m + o, mm);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.sqrt(f32x4.mul(vv, vbc2)), veps);
    const p = f32x4.mul(v128.load(param + o), decay);
    v128.store(param + o, f32x4.sub(p, f32x4.div(f32x4.mul(vlr, mm), denom)));
  }
  const lrs: f32 = lr / bc1;
  const ibc2: f32 = 1 / bc2;
  const dec: f32 = 1 - lr * weightDecay;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const mm = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vv = beta2 * load<f32>(v + o) + (1 - beta2) * (g * g);
    store<f32>(m + o, mm);
    store<f32>(v + o, vv);
    const denom = Mathf.sqrt(vv * ibc2) + eps;
    store<f32>(param + o, load<f32>(param + o) * dec - (lrs * mm) / denom);
  }
}
