/**
 * Bit-level conversions between float32 and the 16-bit float formats (IEEE half, bfloat16) and the 8-bit
 * floats (`F8_E4M3` = e4m3fn, `F8_E5M2`) that checkpoints store. Narrowing rounds to nearest, ties to even.
 *
 * @module
 */

const scratch = new DataView(new ArrayBuffer(4));

function f32Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  return scratch.getUint32(0, true);
}

function bitsF32(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}

/**
 * Rounds a number to IEEE 754 half precision and returns its 16 bits (round to nearest, ties to even;
 * overflow gives ±Infinity, NaN stays NaN).
 *
 * @param x The value (first rounded to float32, as a Float32Array would).
 * @returns The half-precision bit pattern, 0..0xffff.
 *
 * @example Usage
 * ```ts
 * import { float32ToFloat16Bits } from "./half.ts";
 * float32ToFloat16Bits(1); // 0x3c00
 * float32ToFloat16Bits(65520); // 0x7c00 (Infinity: ties to even overflow)
 * ```
 */
export function float32ToFloat16Bits(x: number): number {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
    return sign | out; // a carry into bit 10 correctly yields the smallest normal
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1; // may carry into Infinity: correct
  return sign | out;
}

/**
 * Expands IEEE half-precision bits to a number.
 *
 * @param h The 16-bit pattern.
 * @returns The exact value.
 *
 * @example Usage
 * ```ts
 * import { float16BitsToFloat32 } from "./half.ts";
 * float16BitsToFloat32(0x3c00); // 1
 * float16BitsToFloat32(0x0001); // 2 ** -24
 * ```
 */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Rounds a number to bfloat16 and returns its 16 bits (round to nearest, ties to even; NaN stays NaN).
 *
 * @param x The value (first rounded to float32).
 * @returns The bfloat16 bit pattern, 0..0xffff.
 *
 * @example Usage
 * ```ts
 * import { float32ToBfloat16Bits } from "./half.ts";
 * float32ToBfloat16Bits(1); // 0x3f80
 * ```
 */
export function float32ToBfloat16Bits(x: number): number {
  const bits = f32Bits(x);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Expands bfloat16 bits to a number.
 *
 * @param b The 16-bit pattern.
 * @returns The exact value.
 *
 * @example Usage
 * ```ts
 * import { bfloat16BitsToFloat32 } from "./half.ts";
 * bfloat16BitsToFloat32(0x3f80); // 1
 * ```
 */
export function bfloat16BitsToFloat32(b: number): number {
  return bitsF32((b & 0xffff) << 16);
}

/**
 * Expands an 8-bit float in the e4m3fn layout (`F8_E4M3`: bias 7, no infinities, 0x7f/0xff are NaN).
 *
 * @param b The byte.
 * @returns The exact value.
 *
 * @example Usage
 * ```ts
 * import { float8E4M3BitsToFloat32 } from "./half.ts";
 * float8E4M3BitsToFloat32(0x38); // 1
 * float8E4M3BitsToFloat32(0x7e); // 448
 * ```
 */
export function float8E4M3BitsToFloat32(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >>> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/**
 * Expands an 8-bit float in the e5m2 layout (`F8_E5M2`: the top byte of an IEEE half).
 *
 * @param b The byte.
 * @returns The exact value.
 *
 * @example Usage
 * ```ts
 * import { float8E5M2BitsToFloat32 } from "./half.ts";
 * float8E5M2BitsToFloat32(0x3c); // 1
 * ```
 */
export function float8E5M2BitsToFloat32(b: number): number {
  return float16BitsToFloat32((b & 0xff) << 8);
}
