import assert from "node:assert/strict";
import {
  loadSafetensors,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  readSafetensorsTensor,
  writeSafetensors,
} from "./safetensors.ts";

import { bytesFile, type RandomAccessFile } from "./files.ts";

const FILE = "test.safetensors";

/** A file with the given header object (padded to 8 bytes) followed by `dataLength` bytes. */
function withHeader(header: unknown, dataLength: number): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify(header).padEnd(8 * Math.ceil(JSON.stringify(header).length / 8)),
  );
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  return out;
}

/** The header object and data section of a valid file. */
/** A parsed header whose tensors `a`, `b` and `z` the tests name directly. */
type Header = Record<"a" | "b" | "z", Record<string, unknown>> & Record<string, Record<string, unknown>>;

function split(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return {
    header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))),
    data: bytes.subarray(8 + n),
  };
}

function rebuild(header: unknown, data: Uint8Array): Uint8Array {
  const out = withHeader(header, data.length);
  out.set(data, out.length - data.length);
  return out;
}

function valid(): Uint8Array {
  return writeSafetensors([
    { name: "a", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    { name: "b", shape: [3], data: new Float32Array([5, 6, 7]) },
  ], { metadata: { format: "pt" } });
}

Deno.test("writeSafetensors() output round-trips through parseSafetensors() in F32", () => {
  const bytes = valid();
  const tensors = loadSafetensors(bytes, FILE);
  assert.deepEqual([...tensors.keys()], ["a", "b"]);
  assert.deepEqual(tensors.get("a"), { shape: [2, 2], dtype: "F32", data: new Float32Array([1, 2, 3, 4]) });
  assert.deepEqual(tensors.get("b"), { shape: [3], dtype: "F32", data: new Float32Array([5, 6, 7]) });
  assert.deepEqual(parseSafetensorsHeader(bytes, FILE).metadata, { format: "pt" });
});

Deno.test("writeSafetensors() pads the header with spaces to 8 bytes and lays tensors out sorted and contiguous", () => {
  for (const name of ["x", "xy", "xyz", "a_longer_name_0"]) {
    const bytes = writeSafetensors(
      new Map([[name, { shape: [1], data: new Float32Array([1]) }], ["z", { shape: [0], data: new Float32Array() }]]),
    );
    const n = new DataView(bytes.buffer).getUint32(0, true);
    assert.equal(new DataView(bytes.buffer).getUint32(4, true), 0);
    assert.equal(n % 8, 0, `header length ${n} for "${name}"`);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.equal(text.trimEnd(), JSON.stringify(JSON.parse(text)));
    assert.match(text, /^\{[^]*\} *$/);
    const { header } = split(bytes);
    assert.deepEqual(header[name]!.data_offsets, [0, 4]);
    assert.deepEqual(header.z.data_offsets, [4, 4]);
  }
  const unsorted = writeSafetensors([
    { name: "b", shape: [1], data: new Float32Array([2]) },
    { name: "a", shape: [2], data: new Float32Array([1, 1]) },
  ]);
  const { header } = split(unsorted);
  assert.deepEqual(header.a.data_offsets, [0, 8]);
  assert.deepEqual(header.b.data_offsets, [8, 12]);
});

Deno.test("writeSafetensors() stores F16 and BF16 with round-to-nearest-even", () => {
  const values = new Float32Array([1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, -0.5]);
  const f16 = loadSafetensors(writeSafetensors([{ name: "h", shape: [6], data: values }], { dtype: "F16" }), FILE);
  assert.equal(f16.get("h")?.dtype, "F16");
  assert.deepEqual([...f16.get("h")!.data], [1, 1, 1 + 2 ** -9, Infinity, 0, -0.5]);

  const bvalues = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -3]);
  const bf16 = writeSafetensors([{ name: "b", shape: [5], data: bvalues }], { dtype: "BF16" });
  const info = parseSafetensors(bf16, FILE).get("b")!;
  assert.equal(info.end - info.start, 10);
  assert.deepEqual([...readSafetensorsTensor(bf16, info)], [1, 1, 1 + 2 ** -6, 1 + 2 ** -7, -3]);
});

Deno.test("writeSafetensors() rejects bad input", () => {
  assert.throws(
    () => writeSafetensors([{ name: "a", shape: [3], data: new Float32Array(2) }]),
    /tensor "a" shape \[3\] does not hold 2 values/,
  );
  assert.throws(
    () =>
      writeSafetensors([{ name: "a", shape: [1], data: new Float32Array(1) }, {
        name: "a",
        shape: [1],
        data: new Float32Array(1),
      }]),
    /"a" appears twice/,
  );
  assert.throws(() => writeSafetensors([{ name: "__metadata__", shape: [0], data: new Float32Array() }]), /reserved/);
});

Deno.test("parseSafetensors() reads a file written by HF's library", async () => {
  const bytes = await Deno.readFile(
    new URL("../../tests/fixtures/models/bert-tiny-random/model.safetensors", import.meta.url),
  );
  const { tensors, metadata, dataStart } = parseSafetensorsHeader(bytes, "model.safetensors");
  assert.equal(tensors.size, 57);
  assert.deepEqual(metadata, { format: "pt" });
  assert.equal(dataStart % 8, 0);
  assert.deepEqual(tensors.get("bert.embeddings.word_embeddings.weight")?.shape, [30522, 32]);
});

Deno.test("parseSafetensors() throws on a file shorter than 8 bytes", () => {
  assert.throws(() => parseSafetensors(valid().subarray(0, 5), FILE), /"test.safetensors": truncated: 5 bytes/);
});

Deno.test("parseSafetensors() throws on a file truncated inside its data", () => {
  const bytes = valid();
  assert.throws(
    () => parseSafetensors(bytes.subarray(0, bytes.length - 4), FILE),
    /"test.safetensors": tensor "b" data_offsets \[16, 28\] are out of range: the data section has 24 bytes \(file truncated\?\)/,
  );
});

Deno.test("parseSafetensors() throws when the header length is past the end", () => {
  const bytes = valid().slice();
  new DataView(bytes.buffer).setUint32(0, bytes.length, true);
  assert.throws(
    () => parseSafetensors(bytes, FILE),
    /"test.safetensors": header length \d+ is past the end of the file/,
  );
  new DataView(bytes.buffer).setUint32(4, 1, true);
  assert.throws(() => parseSafetensors(bytes, FILE), /header length 4294967\d+ is past the end/);
});

Deno.test("parseSafetensors() throws when the header is not a JSON object", () => {
  const bytes = valid().slice();
  bytes[8] = 0x78; // "x" in place of "{"
  assert.throws(() => parseSafetensors(bytes, FILE), /"test.safetensors": header is not valid UTF-8 JSON/);
  assert.throws(() => parseSafetensors(withHeader([1, 2], 0), FILE), /header is not a JSON object/);
});

Deno.test("parseSafetensors() throws on an unknown dtype", () => {
  const { header, data } = split(valid());
  header.b.dtype = "Q4_K";
  assert.throws(() => parseSafetensors(rebuild(header, data), FILE), /tensor "b" has unknown dtype "Q4_K"/);
});

Deno.test("parseSafetensors() throws when shape × dtype size differs from the byte span", () => {
  const { header, data } = split(valid());
  header.a.shape = [2, 3];
  assert.throws(
    () => parseSafetensors(rebuild(header, data), FILE),
    /tensor "a" shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 16\] span 16/,
  );
  const { header: h2, data: d2 } = split(valid());
  h2.a.dtype = "F16";
  assert.throws(() => parseSafetensors(rebuild(h2, d2), FILE), /tensor "a" shape \[2,2\] of F16 needs 8 bytes/);
  const { header: h3, data: d3 } = split(valid());
  h3.a.shape = [2, -2];
  assert.throws(
    () => parseSafetensors(rebuild(h3, d3), FILE),
    /tensor "a" shape \[2, -2\] is not a list of non-negative/,
  );
});

Deno.test("parseSafetensors() throws on out-of-range offsets", () => {
  const { header, data } = split(valid());
  header.b.data_offsets = [16, 40];
  header.b.shape = [6];
  assert.throws(
    () => parseSafetensors(rebuild(header, data), FILE),
    /tensor "b" data_offsets \[16, 40\] are out of range/,
  );
  const { header: h2, data: d2 } = split(valid());
  h2.b.data_offsets = [16];
  assert.throws(() => parseSafetensors(rebuild(h2, d2), FILE), /tensor "b" data_offsets \[16\] is not a pair/);
  const { header: h3, data: d3 } = split(valid());
  h3.b.data_offsets = [28, 16];
  assert.throws(
    () => parseSafetensors(rebuild(h3, d3), FILE),
    /tensor "b" data_offsets \[28, 16\] end before they begin/,
  );
});

Deno.test("parseSafetensors() throws on overlapping offsets", () => {
  const { header, data } = split(valid());
  header.b.data_offsets = [12, 24];
  assert.throws(
    () => parseSafetensors(rebuild(header, data.subarray(0, 24)), FILE),
    /tensor "b" data_offsets \[12, 24\] overlap tensor "a" \(which ends at 16\)/,
  );
});

Deno.test("parseSafetensors() throws on offsets that leave holes or trailing bytes", () => {
  const { header, data } = split(valid());
  header.b.data_offsets = [20, 32];
  const bigger = new Uint8Array(32);
  bigger.set(data);
  assert.throws(
    () => parseSafetensors(rebuild(header, bigger), FILE),
    /bytes 16\.\.20 of the data section belong to no tensor/,
  );
  const { header: h2, data: d2 } = split(valid());
  const extra = new Uint8Array(d2.length + 4);
  extra.set(d2);
  assert.throws(
    () => parseSafetensors(rebuild(h2, extra), FILE),
    /the data section has 32 bytes but the tensors cover only 28/,
  );
});

Deno.test("parseSafetensors() throws when __metadata__ is not string to string", () => {
  const { header, data } = split(valid());
  (header as Record<string, unknown>).__metadata__ = { format: "pt", step: 3 };
  assert.throws(
    () => parseSafetensors(rebuild(header, data), FILE),
    /"__metadata__" field "step" must be a string, got 3/,
  );
  (header as Record<string, unknown>).__metadata__ = ["pt"];
  assert.throws(() => parseSafetensors(rebuild(header, data), FILE), /"__metadata__" must be an object of strings/);
});

Deno.test("parseSafetensors() throws when an entry is not an object", () => {
  const { header, data } = split(valid());
  (header as Record<string, unknown>).b = "oops";
  assert.throws(() => parseSafetensors(rebuild(header, data), FILE), /tensor "b" entry is not an object/);
});

/** A file whose header is exactly `json` (padded with spaces to 8 bytes) followed by `dataLength` bytes. */
function withHeaderText(json: string, dataLength: number): Uint8Array {
  const bytes = new TextEncoder().encode(json.padEnd(8 * Math.ceil(json.length / 8)));
  const out = new Uint8Array(8 + bytes.length + dataLength);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 8);
  return out;
}

Deno.test("parseSafetensors() refuses a header that names a tensor twice", () => {
  const entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  assert.throws(
    () => parseSafetensors(withHeaderText(`{"w":${entry},"w":${entry}}`, 4), FILE),
    /Invalid safetensors file "test.safetensors": header names tensor "w" twice \(which copy is meant is ambiguous\)/,
  );
  // The same name spelled with an escape is still the same key; nested keys and strings do not count.
  assert.throws(
    () => parseSafetensors(withHeaderText(`{"w":${entry}, "\\u0077" :${entry}}`, 4), FILE),
    /header names tensor "w" twice/,
  );
  const nested = `{"__metadata__":{"w":"a,\\"w\\":{","x":"w"},"w":${entry}}`;
  assert.equal(parseSafetensors(withHeaderText(nested, 4), FILE).get("w")?.dtype, "F32");
});

Deno.test("parseSafetensors() quotes long names and values as short excerpts", () => {
  const name = "n".repeat(200_000);
  const shape = new Array(50_000).fill(1);
  const errors = [
    withHeader({ [name]: { dtype: "F32", shape: [1], data_offsets: [0, 8] } }, 8),
    withHeader({ w: { dtype: "x".repeat(200_000), shape: [1], data_offsets: [0, 4] } }, 4),
    withHeader({ w: { dtype: "F32", shape: [...shape, -1], data_offsets: [0, 4] } }, 4),
    withHeader({ w: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4),
  ].map((bytes) => {
    try {
      parseSafetensors(bytes, FILE);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  });
  assert.match(errors[0]!, /tensor "n{200}… \(200000 characters\)" shape \[1\] of F32 needs 4 bytes/);
  assert.match(errors[1]!, /tensor "w" has unknown dtype "x{60}… \(200000 characters\)"/);
  assert.match(errors[2]!, /tensor "w" shape \[1, 1, 1, 1, 1, 1, 1, 1, … 49993 more\] is not a list/);
  assert.match(errors[3]!, /tensor "w" shape \[1099511627776,1099511627776\] of F32 needs more than 2\^53 bytes/);
  for (const message of errors) assert.ok(message.length < 400, `message of ${message.length} characters`);
});

Deno.test("readSafetensorsHeader() reads only the header's bytes and checks spans against the file's size", async () => {
  const bytes = writeSafetensors([
    { name: "a", shape: [1000], data: new Float32Array(1000) },
    { name: "b", shape: [3], data: new Float32Array([1, 2, 3]) },
  ]);
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  let read = 0;
  const inner = bytesFile(bytes, FILE);
  const counting: RandomAccessFile = {
    size: inner.size,
    readAt: (offset, into) => ((read = Math.max(read, offset + into.length)), inner.readAt(offset, into)),
    close: () => {},
  };
  const { tensors } = await readSafetensorsHeader(counting, FILE);
  assert.equal(read, headerEnd);
  assert.deepEqual(parseSafetensors(bytes, FILE), tensors);
  // a file cut short fails at the header, naming the tensor that no longer fits
  const cut = bytesFile(bytes.subarray(0, bytes.length - 4), FILE);
  await assert.rejects(() => readSafetensorsHeader(cut, FILE), /test\.safetensors.*data_offsets .* out of range/);
  await assert.rejects(() => bytesFile(bytes, FILE).readAt(bytes.length - 2, new Uint8Array(4)), /ends at byte/);
});
