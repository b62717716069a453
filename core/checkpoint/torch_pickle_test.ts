import assert from "node:assert/strict";
import { concat, f32Bytes, type PickledTensor, pickleStateDict, writeZip } from "./_testing.ts";
import { loadSafetensors } from "./safetensors.ts";
import { loadTorchCheckpoint } from "./torch_pickle.ts";

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
  flipped[at] ^= 0xff;
  await assert.rejects(() => loadTorchCheckpoint(flipped, "flipped.bin"), /"flipped.bin"/);
  const pkl = good.slice();
  pkl[30 + "archive/data.pkl".length + 4] ^= 0x40; // inside data.pkl
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
