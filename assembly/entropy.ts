// Attention entropy per head: out[h] += Σ_b Σ_{i: queryMask[b, i] ≠ 0} −Σ_j p ln p, with 0 ln 0 = 0.
// probs [B, H, T, T]; queryMask f32 [B, T] (0 pointer = every query counts). Accumulates in f64.

export function attention_entropy(out: usize, probs: usize, queryMask: usize, B: i32, H: i32, T: i32): void {
  attention_entropy_heads(out, probs, queryMask, B, H, T, 0, H);
}

/** attention_entropy for heads [h0, h1) only (the worker pool's split: each head's sum in the same order). */
export function attention_entropy_heads(
  out: usize, probs: usize, queryMask: usize, B: i32, H: i32, T: i32, h0: i32, h1: i32,
): void {
  const rowBytes = <usize>T << 2;
  for (let h = h0; h < h1; h++) {
    let acc: f64 = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < T; i++) {
        if (queryMask && load<f32>(queryMask + (<usize>(b * T + i) << 2)) == 0) continue;
        const row = probs + <usize>((b * H + h) * T + i) * rowBytes;
        let e: f64 = 0;
        for (let j = 0; j < T; j++) {
          const p = <f64>load<f32>(row + (<usize>j << 2));
          if (p > 0) e -= p * Math.log(p);
        }
        acc += e;
      }
    }
    const o = out + (<usize>h << 2);
    store<f32>(o, <f32>(<f64>load<f32>(o) + acc));
  }
}
