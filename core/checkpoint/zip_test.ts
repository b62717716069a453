import assert from "node:assert/strict";
import { deflatedZeros, writeRawZip, writeZip } from "../../tests/helpers/checkpoint_files.ts";
import { crc32, openZip } from "./zip.ts";

const enc = new TextEncoder();

Deno.test("crc32() matches the standard check value", () => {
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
});

Deno.test("openZip() reads stored, deflated and ZIP64 archives", async () => {
  const entries = { "a/x.txt": enc.encode("hello"), "a/data/0": new Uint8Array(1000).fill(7) };
  for (const opts of [{}, { deflate: true }, { zip64: true }]) {
    const zip = openZip(await writeZip(entries, opts), "t.zip");
    assert.deepEqual([...zip.entries.keys()], ["a/x.txt", "a/data/0"]);
    assert.deepEqual(await zip.read("a/x.txt"), entries["a/x.txt"]);
    assert.deepEqual(await zip.read("a/data/0"), entries["a/data/0"]);
  }
});

Deno.test("openZip() reads the ZIP64 records torch.save writes", async () => {
  const bytes = await Deno.readFile(
    new URL("../../tests/fixtures/models/gpt2-tiny-random/pytorch_model.bin", import.meta.url),
  );
  const zip = openZip(bytes, "pytorch_model.bin");
  assert.equal(zip.entries.size, 46);
  assert.equal(new TextDecoder().decode(await zip.read("pytorch_model/byteorder")), "little");
});

Deno.test("openZip() throws on a file that is not a zip or is truncated", async () => {
  assert.throws(
    () => openZip(enc.encode("not a zip at all, just some text"), "t.zip"),
    /"t.zip": no end-of-central-directory/,
  );
  const bytes = await writeZip({ "a/x": enc.encode("hello") });
  assert.throws(() => openZip(bytes.subarray(0, bytes.length - 10), "t.zip"), /no end-of-central-directory/);
});

Deno.test("zip read() throws on a corrupt entry (CRC mismatch) and a missing entry", async () => {
  const bytes = (await writeZip({ "a/x": enc.encode("hello") })).slice();
  bytes[30 + 3]! ^= 0xff; // inside "hello"
  const zip = openZip(bytes, "t.zip");
  await assert.rejects(() => zip.read("a/x"), /"t.zip": entry "a\/x" is corrupt: CRC-32 0x[0-9a-f]+ does not match/);
  await assert.rejects(() => zip.read("a/y"), /no entry "a\/y"/);
});

Deno.test("zip read() throws on undecodable deflate data", async () => {
  const bytes = (await writeZip({ "a/x": new Uint8Array(100).fill(1) }, { deflate: true })).slice();
  bytes[30 + 3] = 0xff;
  bytes[30 + 4] = 0xff;
  await assert.rejects(
    () => openZip(bytes, "t.zip").read("a/x"),
    /"t.zip": entry "a\/x" (does not inflate|inflates to|is corrupt)/,
  );
});

Deno.test("zip read() refuses an entry past maxSize or past what its deflated bytes can hold, before inflating", async () => {
  const body = await deflatedZeros(1 << 20);
  const entry = { name: "z", body, size: 1 << 20, crc: crc32(new Uint8Array(1 << 20)), method: 8 };
  const zip = openZip(writeRawZip([entry]), "z.zip");
  assert.equal((await zip.read("z")).length, 1 << 20);
  await assert.rejects(
    () => zip.read("z", { maxSize: 1000 }),
    /Invalid zip archive "z.zip": entry "z" declares 1048576 bytes, more than the 1000 allowed for it/,
  );
  // The 1.5 GB claim: refused without allocating 1.5 GB.
  const liar = openZip(writeRawZip([{ ...entry, size: 1_500_000_000 }]), "liar.zip");
  await assert.rejects(
    () => liar.read("z"),
    /entry "z" declares 1500000000 bytes, more than its \d+ deflated bytes can hold/,
  );
  // A stream that inflates past a (plausible) declared size stops at it.
  const short = openZip(writeRawZip([{ ...entry, size: 1000 }]), "short.zip");
  await assert.rejects(
    () => short.read("z"),
    /entry "z" does not inflate \(more than the 1000 bytes the directory declares\)/,
  );
});

Deno.test("openZip() refuses two entries of one name", () => {
  const entry = { name: "a/data.pkl", body: enc.encode("x"), size: 1, crc: crc32(enc.encode("x")), method: 0 };
  assert.throws(
    () => openZip(writeRawZip([entry, entry]), "twice.zip"),
    /Invalid zip archive "twice.zip": entry "a\/data.pkl" appears twice in the central directory/,
  );
});
