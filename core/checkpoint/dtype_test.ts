import assert from "node:assert/strict";
import { decodeToFloat32, DTYPE_SIZES, isDtype } from "./dtype.ts";

function le(size: number, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  write(new DataView(bytes.buffer));
  return bytes;
}

Deno.test("decodeToFloat32() decodes every numeric dtype little-endian", () => {
  assert.deepEqual(
    [...decodeToFloat32(le(8, (v) => (v.setFloat32(0, 1.5, true), v.setFloat32(4, -2, true))), "F32")],
    [1.5, -2],
  );
  assert.deepEqual([...decodeToFloat32(le(8, (v) => v.setFloat64(0, 0.25, true)), "F64")], [0.25]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), "F16")], [1, -2]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([0x80, 0x3f, 0x40, 0xc0]), "BF16")], [1, -3]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([0x38]), "F8_E4M3")], [1]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([0x3c]), "F8_E5M2")], [1]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([0, 1, 7]), "BOOL")], [0, 1, 1]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([255]), "U8")], [255]);
  assert.deepEqual([...decodeToFloat32(new Uint8Array([255]), "I8")], [-1]);
  assert.deepEqual([...decodeToFloat32(le(2, (v) => v.setInt16(0, -300, true)), "I16")], [-300]);
  assert.deepEqual([...decodeToFloat32(le(2, (v) => v.setUint16(0, 60000, true)), "U16")], [60000]);
  assert.deepEqual([...decodeToFloat32(le(4, (v) => v.setInt32(0, -70000, true)), "I32")], [-70000]);
  assert.deepEqual([...decodeToFloat32(le(4, (v) => v.setUint32(0, 70000, true)), "U32")], [70000]);
  assert.deepEqual([...decodeToFloat32(le(8, (v) => v.setBigInt64(0, -5n, true)), "I64")], [-5]);
  assert.deepEqual([...decodeToFloat32(le(8, (v) => v.setBigInt64(0, 2n ** 40n, true)), "I64")], [2 ** 40]);
  assert.deepEqual([...decodeToFloat32(le(8, (v) => v.setBigUint64(0, 2n ** 33n, true)), "U64")], [2 ** 33]);
});

Deno.test("decodeToFloat32() copies instead of aliasing and accepts unaligned views", () => {
  const file = new Uint8Array(9);
  new DataView(file.buffer).setFloat32(1, 3, true);
  const out = decodeToFloat32(file.subarray(1, 5), "F32");
  assert.deepEqual([...out], [3]);
  file.fill(0);
  assert.deepEqual([...out], [3]);
});

Deno.test("decodeToFloat32() throws on a partial element", () => {
  assert.throws(() => decodeToFloat32(new Uint8Array(3), "F16"), /3 bytes are not a whole number of F16 elements/);
});

Deno.test("isDtype() knows the safetensors dtypes only", () => {
  for (const name of Object.keys(DTYPE_SIZES)) assert.ok(isDtype(name));
  assert.equal(isDtype("Q4_K"), false);
  assert.equal(isDtype("toString"), false);
});
