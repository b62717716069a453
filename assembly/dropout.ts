// Dropout with a stateless, counter-based RNG: element i of a call with `seed` keeps its value when
// u(seed, i) >= p, where u = (hash(seed, i) >>> 8) / 2^24 and
//   hash(seed, i) = mix(mix(i ^ key) + key),  key = mix(seed),
//   mix = "lowbias32" (x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16), all mod 2^32.
// The mask stores the multiplier as f32: 1/(1 − p) where kept, 0 where dropped (torch's inverted dropout).

// @ts-ignore: decorator
@inline function mix(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

// @ts-ignore: decorator
@inline function mix4(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  x = v128.xor(x, i32x4.shr_u(x, 16));
  return x;
}

/** mask[i] = keep ? 1/(1−p) : 0; out[i] = inp[i]·mask[i]. `out` may alias `inp`. */
export function dropout_forward(out: usize, mask: usize, inp: usize, n: i32, p: f64, seed: u32): void {
  const key = mix(seed);
  const scale: f32 = <f32>(1.0 / (1.0 - p));
  // keep when (h >>> 8) >= threshold, threshold = ceil(p · 2^24): identical to u >= p for u = k / 2^24
  const threshold = <i32>Math.ceil(p * 16777216.0);
  const vkey = i32x4.splat(<i32>key);
  const vthr = i32x4.splat(threshold - 1);
  const vscale = f32x4.splat(scale);
  let idx = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const h = mix4(i32x4.add(mix4(v128.xor(idx, vkey)), vkey));
    const keep = i32x4.gt_s(i32x4.shr_u(h, 8), vthr); // (h >>> 8) fits in 24 bits: a signed compare is exact
    const m = v128.and(keep, vscale);
    v128.store(mask + o, m);
    v128.store(out + o, f32x4.mul(v128.load(inp + o), m));
    idx = i32x4.add(idx, four);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const h = mix(mix(<u32>i ^ key) + key);
    const m: f32 = <i32>(h >>> 8) >= threshold ? scale : 0;
    store<f32>(mask + o, m);
    store<f32>(out + o, load<f32>(inp + o) * m);
  }
}

/** dinp[i] += dout[i]·mask[i]. */
export function dropout_backward(dinp: usize, mask: usize, dout: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dinp + o, f32x4.add(v128.load(dinp + o), f32x4.mul(v128.load(dout + o), v128.load(mask + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dinp + o, load<f32>(dinp + o) + load<f32>(dout + o) * load<f32>(mask + o));
  }
}
