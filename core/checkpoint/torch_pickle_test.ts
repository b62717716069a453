import assert from "node:assert/strict";
import {
  concat,
  deflatedZeros,
  f32Bytes,
  type PickledTensor,
  pickleStateDict,
  writeRawZip,
  writeZip,
} from "../../tests/helpers/checkpoint_files.ts";
import { loadSafetensors } from "./safetensors.ts";
import { listTorchTensors, loadTorchCheckpoint, MAX_DATA_PKL_BYTES } from "./torch_pickle.ts";
import { crc32 } from "./zip.ts";

const FIXTURES = new URL("../../tests/fixtures/models/", import.meta.url);

function tensor(name: string, storage: string, numel: number, shape: number[], extra: Partial<PickledTensor> = {}) {
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return { name, storage, storageType: "FloatStorage", numel, offset: 0, shape, stride, ...extra };
}

async function checkpoint(
  tensors: PickledTensor[],
  storages: Record<string, Uint8Array>,
  opts: { evil?: [string, string]; byteorder?: string; deflate?: boolean } = {},
): Promise<Uint8Array> {
  const entries: Record<string, Uint8Array> = { "archive/data.pkl": pickleStateDict(tensors, opts.evil) };
  entries["archive/byteorder"] = new TextEncoder().encode(opts.byteorder ?? "little");
  for (const [key, bytes] of Object.entries(storages)) entries[`archive/data/${key}`] = bytes;
  return await writeZip(entries, { deflate: opts.deflate, zip64: true });
}

for (const model of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`loadTorchCheckpoint() matches model.safetensors for ${model}`, async () => {
    const bin = await loadTorchCheckpoint(
      await Deno.readFile(new URL(`${model}/pytorch_model.bin`, FIXTURES)),
      "pytorch_model.bin",
    );
    const st = loadSafetensors(
      await Deno.readFile(new URL(`${model}/model.safetensors`, FIXTURES)),
      "model.safetensors",
    );
    for (const [name, t] of st) {
      const b = bin.get(name);
      assert.ok(b, `pytorch_model.bin lacks "${name}"`);
      assert.deepEqual(b.shape, t.shape, name);
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.data, t.data, name);
    }
    const extra = [...bin.keys()].filter((name) => !st.has(name));
    if (model === "bert-tiny-random") {
      assert.deepEqual(extra, []);
      assert.equal(bin.size, 57);
    } else {
      // torch saved the tied LM head (same storage as wte); safetensors dropped it.
      assert.deepEqual(extra, ["lm_head.weight"]);
      const head = bin.get("lm_head.weight")!;
      const wte = bin.get("transformer.wte.weight")!;
      assert.equal(head.storage, wte.storage);
      assert.equal(head.data, wte.data);
      assert.deepEqual(head.shape, [50257, 32]);
    }
  });
}

Deno.test("loadTorchCheckpoint() materialises views with storage offsets and strides", async () => {
  const values = [0, 1, 2, 3, 4, 5, 6, 7];
  const bytes = await checkpoint(
    [
      tensor("whole", "0", 8, [2, 4]),
      tensor("tail", "0", 8, [3], { offset: 5 }),
      tensor("transposed", "0", 8, [4, 2], { stride: [1, 4] }),
      tensor("column", "0", 8, [2, 1], { offset: 1, stride: [4, 1] }),
      tensor("param", "1", 2, [2], { parameter: true, storageType: "HalfStorage" }),
      tensor("empty", "2", 0, [0, 3]),
    ],
    { "0": f32Bytes(values), "1": new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), "2": new Uint8Array() },
    {
      deflate: true,
    },
  );
  const tensors = await loadTorchCheckpoint(bytes, "views.bin");
  assert.deepEqual([...tensors.get("whole")!.data], values);
  assert.deepEqual([...tensors.get("tail")!.data], [5, 6, 7]);
  assert.deepEqual([...tensors.get("transposed")!.data], [0, 4, 1, 5, 2, 6, 3, 7]);
  assert.deepEqual([...tensors.get("column")!.data], [1, 5]);
  assert.deepEqual(tensors.get("param"), {
    shape: [2],
    dtype: "F16",
    data: new Float32Array([1, -2]),
    storage: "1",
    storageOffset: 0,
    stride: [1],
  });
  assert.equal(tensors.get("empty")!.data.length, 0);
});

Deno.test("loadTorchCheckpoint() refuses an unknown pickle global and runs nothing", async () => {
  const bytes = await checkpoint([tensor("w", "0", 1, [1])], { "0": f32Bytes([1]) }, { evil: ["os", "system"] });
  await assert.rejects(
    () => loadTorchCheckpoint(bytes, "evil.bin"),
    /Cannot unpickle "evil.bin:archive\/data.pkl" at byte \d+: refusing global "os.system": not on the allow-list/,
  );
});

Deno.test("loadTorchCheckpoint() throws on a corrupt zip", async () => {
  const good = await checkpoint([tensor("w", "0", 2, [2])], { "0": f32Bytes([1, 2]) });
  await assert.rejects(
    () => loadTorchCheckpoint(good.subarray(0, good.length - 30), "cut.bin"),
    /"cut.bin": no end-of-central-directory/,
  );
  const flipped = good.slice();
  const at = flipped.length - 200; // somewhere in a storage or the pickle
  flipped[at]! ^= 0xff;
  await assert.rejects(() => loadTorchCheckpoint(flipped, "flipped.bin"), /"flipped.bin"/);
  const pkl = good.slice();
  pkl[30 + "archive/data.pkl".length + 4]! ^= 0x40; // inside data.pkl
  await assert.rejects(() => loadTorchCheckpoint(pkl, "crc.bin"), /entry "archive\/data.pkl" is corrupt: CRC-32/);
});

Deno.test("loadTorchCheckpoint() throws on missing or short storages and views past their end", async () => {
  await assert.rejects(
    async () => loadTorchCheckpoint(await checkpoint([tensor("w", "0", 2, [2])], {}), "m.bin"),
    /storage "0" has no entry "archive\/data\/0"/,
  );
  await assert.rejects(
    async () => loadTorchCheckpoint(await checkpoint([tensor("w", "0", 4, [4])], { "0": f32Bytes([1, 2]) }), "s.bin"),
    /storage "0" holds 8 bytes but 4 F32 elements need 16/,
  );
  await assert.rejects(
    async () =>
      loadTorchCheckpoint(
        await checkpoint([tensor("w", "0", 2, [2], { offset: 1 })], { "0": f32Bytes([1, 2]) }),
        "v.bin",
      ),
    /tensor "w": view \(offset 1, shape \[2\], stride \[1\]\) reaches element 2 of storage "0" which has 2/,
  );
});

Deno.test("loadTorchCheckpoint() rejects the legacy format, big-endian files and non-zips", async () => {
  await assert.rejects(
    () => loadTorchCheckpoint(new Uint8Array([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]), "old.bin"),
    /"old.bin": this is the legacy \(PyTorch < 1.6\) non-zip format, which is not supported/,
  );
  const tar = concat([new Uint8Array(257), new TextEncoder().encode("ustar"), new Uint8Array(300)]);
  await assert.rejects(() => loadTorchCheckpoint(tar, "old.tar"), /legacy/);
  await assert.rejects(() => loadTorchCheckpoint(new TextEncoder().encode("hello"), "x.bin"), /not a zip archive/);
  const big = await checkpoint([tensor("w", "0", 1, [1])], { "0": f32Bytes([1]) }, { byteorder: "big" });
  await assert.rejects(() => loadTorchCheckpoint(big, "big.bin"), /byteorder "big" is not supported/);
});

Deno.test("listTorchTensors() gives names, shapes and dtypes without reading storages", async () => {
  // Only the storages' directory entries are consulted, never their bytes.
  const bytes = await checkpoint([tensor("w", "0", 6, [2, 3]), tensor("b", "1", 2, [2])], {
    "0": f32Bytes([1, 2, 3, 4, 5, 6]),
    "1": f32Bytes([1, 2]),
  });
  const listed = await listTorchTensors(bytes, "list.bin");
  assert.deepEqual([...listed], [["w", { shape: [2, 3], dtype: "F32", storage: "0" }], [
    "b",
    { shape: [2], dtype: "F32", storage: "1" },
  ]]);
});

// Hostile files. Each is refused by a check that runs before the large allocation it asks for; the generous
// time bound only guards against a regression to inflating or materialising first (which took 17–97 s).

/** Times `run`, which must reject with `message`. */
async function refusedFast(run: () => Promise<unknown>, message: RegExp, limitMs = 2000) {
  const started = performance.now();
  await assert.rejects(run, message);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < limitMs, `refused after ${elapsed.toFixed(0)} ms`);
}

const pickleEntry = (tensors: PickledTensor[]) => {
  const pkl = pickleStateDict(tensors);
  return { name: "archive/data.pkl", body: pkl, size: pkl.length, crc: crc32(pkl), method: 0 };
};

Deno.test("loadTorchCheckpoint() refuses a data.pkl deflate bomb before inflating it", async () => {
  // 48 MiB of zeros in ~50 KB: the declared size is true, but past the data.pkl cap.
  const zeros = await deflatedZeros(48 * 1024 * 1024);
  const bomb = writeRawZip([{ name: "archive/data.pkl", body: zeros, size: 48 * 1024 * 1024, crc: 0, method: 8 }]);
  await refusedFast(
    () => loadTorchCheckpoint(bomb, "bomb.bin"),
    new RegExp(
      `"bomb.bin": entry "archive/data.pkl" declares 50331648 bytes, more than the ${MAX_DATA_PKL_BYTES} allowed`,
    ),
  );
  // The issue's file: 1.5 GB declared.
  const claimed = writeRawZip([{ name: "archive/data.pkl", body: zeros, size: 1_500_000_000, crc: 0, method: 8 }]);
  await refusedFast(() => loadTorchCheckpoint(claimed, "bomb.bin"), /declares 1500000000 bytes, more than/);
});

Deno.test("loadTorchCheckpoint() refuses a deflated storage bomb before inflating it", async () => {
  const size = 48 * 1024 * 1024;
  const zeros = await deflatedZeros(size);
  const storage = { name: "archive/data/0", body: zeros, size, crc: 0, method: 8 };
  const bomb = writeRawZip([pickleEntry([tensor("w", "0", size / 4, [size / 4])]), storage]);
  await refusedFast(
    () => loadTorchCheckpoint(bomb, "storage-bomb.bin"),
    /"storage-bomb.bin": its deflated storages would inflate to 50331648 bytes, more than 16× the file's \d+ \(torch.save stores storages uncompressed\)/,
  );
  // A declared size no deflate stream of that length can reach is refused by the zip reader itself.
  const liar = writeRawZip([{ ...storage, body: zeros.subarray(0, 100), size: 1_500_000 }]);
  await assert.rejects(
    () => import("./zip.ts").then(({ openZip }) => openZip(liar, "liar.zip").read("archive/data/0")),
    /entry "archive\/data\/0" declares 1500000 bytes, more than its 100 deflated bytes can hold/,
  );
});

Deno.test("loadTorchCheckpoint() refuses stride-0 and overflowing views larger than their storage", async () => {
  // 4 bytes of storage, a view of 1.8e9 elements (7.2 GB as float32).
  const stride0 = await checkpoint([tensor("w", "0", 1, [100_000, 18_000], { stride: [0, 0] })], {
    "0": f32Bytes([1]),
  });
  await refusedFast(
    () => loadTorchCheckpoint(stride0, "stride0.bin"),
    /"stride0.bin": tensor "w": view \(offset 0, shape \[100000,18000\], stride \[0,0\]\) has 1800000000 elements, more than the 1 of storage "0"/,
  );
  // 2^90 elements: the count overflows any typed array ("Invalid typed array length" before).
  const huge = 2 ** 30;
  const overflow = await checkpoint([tensor("w", "0", 1, [huge, huge, huge], { stride: [0, 0, 0] })], {
    "0": f32Bytes([1]),
  });
  await refusedFast(
    () => loadTorchCheckpoint(overflow, "overflow.bin"),
    /tensor "w": view .* has more than 2\^53 elements, more than the 1 of storage "0"/,
  );
  // Also refused when only listing.
  await assert.rejects(() => listTorchTensors(stride0, "stride0.bin"), /has 1800000000 elements/);
});

Deno.test("loadTorchCheckpoint() refuses many distinct views that expand one storage", async () => {
  const numel = 10_000;
  const views = Array.from({ length: 10 }, (_, i) => tensor(`w${i}`, "0", numel, [9_000], { offset: i }));
  const bytes = await checkpoint(views, { "0": f32Bytes(new Array(numel).fill(1)) });
  await refusedFast(
    () => loadTorchCheckpoint(bytes, "views.bin"),
    /"views.bin": its tensors hold 90000 elements in all but their storages only 10000 \(views may repeat storage elements at most 4×\)/,
  );
});

/** A raw pickle: PROTO 2, an OrderedDict, `body` (which must leave key and value on the stack), SETITEM, STOP. */
function rawStateDict(body: number[]): Uint8Array {
  const enc = new TextEncoder();
  return new Uint8Array([
    0x80,
    2,
    0x63,
    ...enc.encode("collections\nOrderedDict\n"),
    0x29,
    0x52,
    ...body,
    0x73,
    0x2e,
  ]);
}

const key = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b];
};

async function rawCheckpoint(pkl: Uint8Array): Promise<Uint8Array> {
  return await writeZip({ "archive/data.pkl": pkl });
}

Deno.test("loadTorchCheckpoint() describes hostile pickle values in sentences, not engine errors", async () => {
  // A key nested 300,000 tuples deep ("Maximum call stack size exceeded" before).
  const deep = await rawCheckpoint(rawStateDict([0x29, ...new Array(300_000).fill(0x85), 0x4e]));
  await refusedFast(
    () => loadTorchCheckpoint(deep, "deep.bin"),
    /"deep.bin": state-dict key \[\[\[…1 items\]\]\] is not a string/,
  );
  // APPENDS of 400,000 items (a spread call past the engine's argument limit before).
  const appends = await rawCheckpoint(rawStateDict([...key("w"), 0x5d, 0x28, ...new Array(400_000).fill(0x4e), 0x65]));
  await refusedFast(
    () => loadTorchCheckpoint(appends, "appends.bin"),
    /"appends.bin": state-dict entry "w" is not a tensor/,
  );
  // A persistent id that contains itself ("Converting circular structure to JSON" before).
  const cyclic = await rawCheckpoint(
    rawStateDict([...key("w"), 0x5d, 0x71, 0, ...key("storage"), 0x61, 0x68, 0, 0x61, 0x68, 0, 0x51]),
  );
  await refusedFast(
    () => loadTorchCheckpoint(cyclic, "cyclic.bin"),
    /"cyclic.bin": unexpected persistent id \["storage", \["storage", \[…2 items\]\]\]/,
  );
  // A 200,000-character key is quoted as a short excerpt.
  const longName = "x".repeat(200_000);
  const long = await rawCheckpoint(rawStateDict([...key(longName), 0x4e]));
  const error = await loadTorchCheckpoint(long, "long.bin").catch((e: Error) => e);
  assert.ok(error instanceof Error);
  assert.match(error.message, /state-dict entry "x{200}… \(200000 characters\)" is not a tensor/);
  assert.ok(error.message.length < 400, `message of ${error.message.length} characters`);
});
