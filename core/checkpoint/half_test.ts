import assert from "node:assert/strict";
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  float8E4M3BitsToFloat32,
  float8E5M2BitsToFloat32,
} from "./half.ts";

Deno.test("float32ToFloat16Bits() rounds to nearest, ties to even", () => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00],
    [-2, 0xc000],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [65504, 0x7bff], // largest half
    [65519, 0x7bff],
    [65520, 0x7c00], // tie with the next (infinite) step: overflow
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 1 subnormal: even
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: even
    [1.5 * 2 ** -25, 0x0001],
    [2 ** -14 - 2 ** -25, 0x0400], // tie between the largest subnormal and the smallest normal
    [2 ** -30, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [x, bits] of cases) assert.equal(float32ToFloat16Bits(x), bits, `f16(${x})`);
  const nan = float32ToFloat16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
});

Deno.test("float16BitsToFloat32() inverts float32ToFloat16Bits() on every finite half", () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00) continue;
    assert.equal(float32ToFloat16Bits(float16BitsToFloat32(h)), h, `0x${h.toString(16)}`);
  }
  assert.equal(float16BitsToFloat32(0x7c00), Infinity);
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
});

Deno.test("float32ToBfloat16Bits() rounds to nearest, ties to even", () => {
  const cases: Array<[number, number]> = [
    [1, 0x3f80],
    [-1, 0xbf80],
    [1 + 2 ** -8, 0x3f80], // tie: even
    [1 + 3 * 2 ** -8, 0x3f82], // tie: even (up)
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to Infinity
    [Infinity, 0x7f80],
    [-0, 0x8000],
  ];
  for (const [x, bits] of cases) assert.equal(float32ToBfloat16Bits(x), bits, `bf16(${x})`);
  assert.equal(float32ToBfloat16Bits(NaN), 0x7fc0);
  assert.equal(bfloat16BitsToFloat32(0x3f80), 1);
  assert.equal(bfloat16BitsToFloat32(0xc040), -3);
});

Deno.test("float8E4M3BitsToFloat32() and float8E5M2BitsToFloat32() decode known values", () => {
  assert.equal(float8E4M3BitsToFloat32(0x38), 1);
  assert.equal(float8E4M3BitsToFloat32(0x7e), 448);
  assert.equal(float8E4M3BitsToFloat32(0x01), 2 ** -9);
  assert.equal(float8E4M3BitsToFloat32(0xb8), -1);
  assert.ok(Number.isNaN(float8E4M3BitsToFloat32(0x7f)));
  assert.equal(float8E5M2BitsToFloat32(0x3c), 1);
  assert.equal(float8E5M2BitsToFloat32(0x7b), 57344);
  assert.equal(float8E5M2BitsToFloat32(0x7c), Infinity);
});
