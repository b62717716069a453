import assert from "node:assert/strict";
import { f32Bytes, pickleStateDict, writeZip } from "../../tests/helpers/checkpoint_files.ts";
import { memoryFiles } from "./files.ts";
import { fileURLToPath } from "node:url";
import { localFiles } from "./local_files.ts";
import { writeSafetensors } from "./safetensors.ts";
import { expectWeight, listWeights, loadWeights } from "./weights.ts";

const FIXTURES = new URL("../../tests/fixtures/models/", import.meta.url);
const enc = new TextEncoder();

function st(entries: Record<string, number[]>): Uint8Array {
  return writeSafetensors(
    Object.entries(entries).map(([name, v]) => ({ name, shape: [v.length], data: new Float32Array(v) })),
  );
}

function index(weightMap: Record<string, string>): Uint8Array {
  return enc.encode(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
}

for (const model of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`loadWeights() gives the same tensors from model.safetensors and pytorch_model.bin (${model})`, async () => {
    const dir = fileURLToPath(new URL(model, FIXTURES));
    const fromSt = await loadWeights(localFiles(dir));
    const fromBin = await loadWeights(
      memoryFiles({ "pytorch_model.bin": await Deno.readFile(`${dir}/pytorch_model.bin`) }, dir),
    );
    for (const [name, w] of fromSt) {
      assert.equal(w.file, "model.safetensors");
      const b = fromBin.get(name);
      assert.ok(b, `pytorch_model.bin lacks "${name}"`);
      assert.equal(b.file, "pytorch_model.bin");
      assert.deepEqual(b.shape, w.shape, name);
      assert.deepEqual(b.data, w.data, name);
    }
    const tied = [...fromBin].filter(([, w]) => w.tiedTo !== undefined).map(([name, w]) => [name, w.tiedTo]);
    const extra = [...fromBin.keys()].filter((name) => !fromSt.has(name));
    if (model === "gpt2-tiny-random") {
      assert.equal(fromSt.size, 40);
      assert.deepEqual(extra, ["lm_head.weight"]);
      assert.deepEqual(tied, [["lm_head.weight", "transformer.wte.weight"]]);
    } else {
      assert.equal(fromSt.size, 57);
      assert.deepEqual(extra, []);
      assert.deepEqual(tied, []);
    }
  });
}

Deno.test("loadWeights() prefers model.safetensors over pytorch_model.bin", async () => {
  const bin = await writeZip({
    "archive/data.pkl": pickleStateDict([{
      name: "w",
      storage: "0",
      storageType: "FloatStorage",
      numel: 1,
      offset: 0,
      shape: [1],
      stride: [1],
    }]),
    "archive/data/0": f32Bytes([9]),
  });
  const both = await loadWeights(memoryFiles({ "model.safetensors": st({ w: [1] }), "pytorch_model.bin": bin }));
  assert.deepEqual([...both.get("w")!.data], [1]);
  const onlyBin = await loadWeights(memoryFiles({ "pytorch_model.bin": bin }));
  assert.deepEqual(onlyBin.get("w"), {
    shape: [1],
    data: new Float32Array([9]),
    dtype: "F32",
    file: "pytorch_model.bin",
  });
});

Deno.test("loadWeights() reads sharded safetensors through the index", async () => {
  const weights = await loadWeights(memoryFiles({
    "model.safetensors.index.json": index({
      a: "model-00001-of-00002.safetensors",
      b: "model-00002-of-00002.safetensors",
    }),
    "model-00001-of-00002.safetensors": st({ a: [1, 2] }),
    "model-00002-of-00002.safetensors": st({ b: [3] }),
  }));
  assert.deepEqual([...weights.keys()], ["a", "b"]);
  assert.equal(weights.get("a")!.file, "model-00001-of-00002.safetensors");
  assert.equal(weights.get("b")!.file, "model-00002-of-00002.safetensors");
  assert.deepEqual([...weights.get("b")!.data], [3]);
});

Deno.test("loadWeights() reads sharded pytorch_model.bin through the index", async () => {
  const shard = (name: string, value: number) =>
    writeZip({
      "archive/data.pkl": pickleStateDict([{
        name,
        storage: "0",
        storageType: "FloatStorage",
        numel: 1,
        offset: 0,
        shape: [1],
        stride: [1],
      }]),
      "archive/data/0": f32Bytes([value]),
    });
  const weights = await loadWeights(memoryFiles({
    "pytorch_model.bin.index.json": index({
      a: "pytorch_model-00001-of-00002.bin",
      b: "pytorch_model-00002-of-00002.bin",
    }),
    "pytorch_model-00001-of-00002.bin": await shard("a", 1),
    "pytorch_model-00002-of-00002.bin": await shard("b", 2),
  }));
  assert.deepEqual([...weights].map(([n, w]) => [n, w.data[0], w.file]), [
    ["a", 1, "pytorch_model-00001-of-00002.bin"],
    ["b", 2, "pytorch_model-00002-of-00002.bin"],
  ]);
});

Deno.test("loadWeights() throws on a missing shard", async () => {
  await assert.rejects(
    () =>
      loadWeights(memoryFiles({
        "model.safetensors.index.json": index({
          a: "model-00001-of-00002.safetensors",
          b: "model-00002-of-00002.safetensors",
        }),
        "model-00001-of-00002.safetensors": st({ a: [1] }),
      }, "models/x")),
    /Shard "model-00002-of-00002.safetensors" listed in "model.safetensors.index.json" in "models\/x" is missing \(it should hold "b"\)/,
  );
});

Deno.test("loadWeights() throws when a listed tensor is absent from its shard", async () => {
  await assert.rejects(
    () =>
      loadWeights(memoryFiles({
        "model.safetensors.index.json": index({ a: "s1.safetensors", c: "s1.safetensors" }),
        "s1.safetensors": st({ a: [1] }),
      })),
    /Tensor "c" is listed in "model.safetensors.index.json" in "memory" under shard "s1.safetensors", which does not contain it/,
  );
});

Deno.test("loadWeights() throws on a malformed index, unsafe shard names and duplicate tensors", async () => {
  await assert.rejects(
    () => loadWeights(memoryFiles({ "model.safetensors.index.json": enc.encode("{") })),
    /"model.safetensors.index.json" in "memory" is not valid JSON/,
  );
  await assert.rejects(
    () => loadWeights(memoryFiles({ "model.safetensors.index.json": enc.encode("{}") })),
    /has no "weight_map" object/,
  );
  await assert.rejects(
    () => loadWeights(memoryFiles({ "model.safetensors.index.json": index({ a: "../../etc/passwd" }) })),
    /maps tensor "a" to an invalid shard name "..\/..\/etc\/passwd"/,
  );
  await assert.rejects(
    () =>
      loadWeights(memoryFiles({
        "model.safetensors.index.json": index({ a: "s1.safetensors", b: "s2.safetensors" }),
        "s1.safetensors": st({ a: [1], b: [2] }),
        "s2.safetensors": st({ b: [2] }),
      })),
    /Tensor "b" appears in both "s1.safetensors" and "s2.safetensors"/,
  );
});

Deno.test("loadWeights() names the location and the files tried when there are no weights", async () => {
  await assert.rejects(
    () => loadWeights(memoryFiles({ "config.json": enc.encode("{}") }, "models/empty")),
    /No weights found in "models\/empty": tried "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"/,
  );
});

Deno.test("expectWeight() returns the weight and checks its shape", () => {
  const weights = new Map([["w", { shape: [2, 3], data: new Float32Array(6), dtype: "F32" as const, file: "f" }]]);
  assert.equal(expectWeight(weights, "w", [2, 3]).data.length, 6);
  assert.throws(() => expectWeight(weights, "w", [3, 2]), /Tensor "w" has shape \[2,3\], expected \[3,2\]/);
  assert.throws(() => expectWeight(weights, "v"), /Checkpoint has no tensor "v"/);
});

Deno.test("listWeights() gives the shapes and dtypes loadWeights() would load, for each layout", async () => {
  for (const model of ["bert-tiny-random", "gpt2-tiny-random"]) {
    for (const file of ["model.safetensors", "pytorch_model.bin"]) {
      const bytes = await Deno.readFile(new URL(`../../tests/fixtures/models/${model}/${file}`, import.meta.url));
      const files = memoryFiles({ [file]: bytes });
      const listed = await listWeights(files);
      const loaded = await loadWeights(files);
      assert.deepEqual([...listed.keys()], [...loaded.keys()], `${model}/${file}`);
      for (const [name, w] of loaded) assert.deepEqual(listed.get(name), { shape: w.shape, dtype: w.dtype, file });
    }
  }
});
