// Weight upcast: 16-bit floats (IEEE half or bfloat16) stored in kernel memory, widened to f32 just before a
// kernel reads them, so F16/BF16 checkpoints stay half-size in memory. Both conversions are exact.

/**
 * out[i] = f32(inp[first + i]) for i < n, reading IEEE half (bfloat = false) or bfloat16 (bfloat = true).
 * Half: (bits & 0x7fff) << 13 read as f32 and multiplied by 2^112 rebiases the exponent exactly (subnormals
 * included, as WASM floats never flush); exponent 31 (infinity, NaN) keeps an all-ones exponent instead.
 */
export function half_to_float(out: usize, inp: usize, first: i32, n: i32, bfloat: bool): void {
  const src = inp + (<usize>first << 1);
  let i = 0;
  if (bfloat) {
    for (; i + 8 <= n; i += 8) {
      const h = v128.load(src + (<usize>i << 1));
      const o = out + (<usize>i << 2);
      v128.store(o, i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
      v128.store(o + 16, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16));
    }
    for (; i < n; i++) store<u32>(out + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
    return;
  }
  const magic = f32x4.splat(reinterpret<f32>(<u32>0x77800000)); // 2^112
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const o = out + (<usize>i << 2);
    v128.store(o, halfLanes(i32x4.extend_low_i16x8_u(h), magic));
    v128.store(o + 16, halfLanes(i32x4.extend_high_i16x8_u(h), magic));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), halfToFloat(load<u16>(src + (<usize>i << 1))));
}

// @ts-ignore: decorator
@inline
function halfLanes(h: v128, magic: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const body = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(body, magic);
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  const nonFinite = v128.or(body, i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(nonFinite, scaled, special), sign);
}

// @ts-ignore: decorator
@inline
function halfToFloat(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const body = (h & 0x7fff) << 13;
  const value = (h & 0x7c00) == 0x7c00
    ? body | 0x7f800000
    : reinterpret<u32>(reinterpret<f32>(body) * reinterpret<f32>(<u32>0x77800000));
  return reinterpret<f32>(value | sign);
}
