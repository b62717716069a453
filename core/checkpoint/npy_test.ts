import { deepStrictEqual, throws } from "node:assert/strict";
import { readNpy, writeNpy } from "./npy.ts";

Deno.test("writeNpy() writes a 64-byte aligned v1.0 header that readNpy() reads back", () => {
  const t = { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) };
  const bytes = writeNpy(t);
  const headerLen = new DataView(bytes.buffer).getUint16(8, true);
  deepStrictEqual((10 + headerLen) % 64, 0);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  deepStrictEqual(header.trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
  deepStrictEqual(header.endsWith("\n"), true);
  const back = readNpy(bytes, "t.npy");
  deepStrictEqual(back.shape, [3, 4]);
  deepStrictEqual([...back.data], [...t.data]);
});

Deno.test("writeNpy() writes 1-D shapes as a one-element tuple", () => {
  const bytes = writeNpy({ shape: [5], data: new Float32Array(5) });
  const header = new TextDecoder().decode(bytes.subarray(10, 80));
  deepStrictEqual(header.includes("'shape': (5,)"), true);
});

Deno.test("readNpy() names the file for bad input", () => {
  throws(() => readNpy(new Uint8Array([1, 2, 3]), "x.npy"), /x\.npy: not a \.npy file/);
  const good = writeNpy({ shape: [2], data: new Float32Array(2) });
  throws(() => readNpy(good.subarray(0, good.length - 1), "cut.npy"), /cut\.npy: truncated/);
});

Deno.test("readNpy() quotes a long malformed header as a short excerpt", () => {
  const header = "{" + "x".repeat(100_000);
  const bytes = new Uint8Array(12 + header.length);
  bytes.set([0x93, ...new TextEncoder().encode("NUMPY"), 2, 0]);
  new DataView(bytes.buffer).setUint32(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 12);
  throws(
    () => readNpy(bytes, "h.npy"),
    (e: Error) => /malformed .npy header \{x+… \(100001 characters\)$/.test(e.message) && e.message.length < 300,
  );
});

Deno.test("readNpy() refuses a negative or non-integer dimension with a sentence, not an engine error", () => {
  for (const shape of ["(-1, 32)", "(2.5,)", "(1e3,)"]) {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }\n`;
    const bytes = new Uint8Array(10 + header.length + 256);
    bytes.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 10);
    throws(
      () => readNpy(bytes, "m.npy"),
      (e: Error) =>
        e.message.startsWith("m.npy: the .npy header's shape") && e.message.includes("non-negative integer"),
      shape,
    );
  }
});
