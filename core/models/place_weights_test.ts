import assert from "node:assert/strict";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../checkpoint/half.ts";
import { memoryFiles, type ModelFiles } from "../checkpoint/files.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadSafetensors, writeSafetensors } from "../checkpoint/safetensors.ts";
import type { Tensor } from "../tensor.ts";
import { loadModel } from "./load.ts";
import type { RunRequest, RunResult, TransformerModel } from "./model.ts";
import { storedDtype } from "./place_weights.ts";

const FIXTURES = "tests/fixtures/models";

/** A fixture checkpoint with its weights rewritten as `dtype` safetensors (sharded in two when asked). */
function fixtureAs(name: string, dtype: "F32" | "F16" | "BF16", shards = 1): ModelFiles {
  const dir = `${FIXTURES}/${name}`;
  const weights = loadSafetensors(Deno.readFileSync(`${dir}/model.safetensors`), "model.safetensors");
  const entries: Record<string, Uint8Array> = {
    "config.json": Deno.readFileSync(`${dir}/config.json`),
  };
  const all = [...weights].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data }));
  if (shards === 1) entries["model.safetensors"] = writeSafetensors(all, { dtype });
  else {
    const weightMap: Record<string, string> = {};
    const half = Math.ceil(all.length / 2);
    [all.slice(0, half), all.slice(half)].forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      entries[file] = writeSafetensors(part, { dtype });
      for (const t of part) weightMap[t.name] = file;
    });
    entries["model.safetensors.index.json"] = new TextEncoder().encode(JSON.stringify({ weight_map: weightMap }));
  }
  return memoryFiles(entries, `${dir} as ${dtype}`);
}

function batchFor(model: TransformerModel): RunRequest["batch"] {
  const T = 7;
  const ids = Int32Array.from({ length: 2 * T }, (_, i) => (i * 37 + 5) % Math.min(model.config.vocabSize, 500));
  const attentionMask = Int32Array.from({ length: 2 * T }, (_, i) => (i >= T + 5 ? 0 : 1));
  return { batchSize: 2, seqLen: T, inputIds: ids, attentionMask };
}

/** Forward with every hidden state and attention, and a backward to the head mask (the importance pass). */
function analysis(model: TransformerModel): RunResult {
  const L = model.config.layers;
  const names = [
    ...Array.from({ length: L + 1 }, (_, i) => `hidden_states.${i}`),
    ...Array.from({ length: L }, (_, l) => `attentions.${l}`),
    "head_mask_grad",
  ];
  const labels = model.task === "lm" ? "lm" as const : [1, 0];
  return model.run({ batch: batchFor(model), names, labels });
}

function assertClose(got: Tensor, want: Tensor, what: string, tol = 1e-5): void {
  assert.deepEqual(got.shape, want.shape, what);
  for (let i = 0; i < want.data.length; i++) {
    const w = want.data[i]!, g = got.data[i]!;
    if (!(Math.abs(g - w) <= tol * Math.max(1, Math.abs(w)))) assert.fail(`${what}[${i}]: ${g} vs ${w}`);
  }
}

for (const family of ["bert-tiny-random", "gpt2-tiny-random"]) {
  for (const fileDtype of ["F16", "BF16"] as const) {
    Deno.test(`loadModel(dtype f16) of a ${fileDtype} ${family} keeps ${fileDtype} weights and matches the F32 model of the same weights within 1e-5`, async () => {
      const files = fixtureAs(family, fileDtype);
      const half = (await loadModel(files, { tokenizer: false, dtype: "f16" })).model;
      const full = (await loadModel(files, { tokenizer: false, dtype: "f32" })).model;
      assert.ok(half.params.all().every((p) => p.dtype === fileDtype));
      assert.ok(full.params.all().every((p) => p.dtype === "F32"));
      assert.equal(half.params.storedBytes() * 2, full.params.storedBytes());
      const a = analysis(half), b = analysis(full);
      assert.deepEqual([...a.cache.keys()], [...b.cache.keys()]);
      for (const [name, t] of b.cache) assertClose(a.cache.get(name)!, t, name);
      if (b.logits) assertClose(a.logits!, b.logits, "logits");
      assert.ok(Math.abs(a.loss! - b.loss!) <= 1e-5 * Math.max(1, Math.abs(b.loss!)));
      // the widened weights are exactly the stored ones
      const widened = half.params.toTensors();
      for (const [name, t] of full.params.toTensors()) assert.deepEqual(widened.get(name)!.data, t.data, name);
    });
  }
}

Deno.test("loadModel(dtype f16) of an F32 checkpoint rounds every weight to F16 (nearest, ties to even)", async () => {
  const dir = `${FIXTURES}/bert-tiny-random`;
  const original = loadSafetensors(Deno.readFileSync(`${dir}/model.safetensors`), "model.safetensors");
  const { model } = await loadModel(localFiles(dir), { tokenizer: false, dtype: "f16" });
  const f32 = (await loadModel(localFiles(dir), { tokenizer: false })).model;
  assert.ok(model.params.all().every((p) => p.dtype === "F16"));
  let changed = 0;
  for (const [name, t] of model.params.toTensors()) {
    const src = original.get(name) ?? original.get(`bert.${name}`);
    assert.ok(src, name);
    const rounded = src.data.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x)));
    assert.deepEqual(t.data, rounded, name);
    changed += rounded.filter((x, i) => x !== src.data[i]).length;
  }
  assert.ok(changed > 0, "F16 rounding changed no weight: the test would not see a missing rounding");
  // and runs the same as the F32 model given the rounded weights (the F16 file written from them)
  const viaFile = (await loadModel(fixtureAs("bert-tiny-random", "F16"), { tokenizer: false })).model;
  const a = analysis(model), b = analysis(viaFile);
  for (const [name, t] of b.cache) assertClose(a.cache.get(name)!, t, name);
  assert.notDeepEqual(analysis(f32).cache.get("blocks.0.hook_resid_post"), a.cache.get("blocks.0.hook_resid_post"));
});

Deno.test("loadModel() streams sharded safetensors to the same weights as one file", async () => {
  const one = (await loadModel(fixtureAs("gpt2-tiny-random", "F32"), { tokenizer: false })).model;
  const two = (await loadModel(fixtureAs("gpt2-tiny-random", "F32", 2), { tokenizer: false, dtype: "f16" })).model;
  const rounded = one.params.toTensors();
  for (const [name, t] of two.params.toTensors()) {
    assert.deepEqual(t.data, rounded.get(name)!.data.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x))));
  }
});

Deno.test("loadModel(dtype f16) of a PyTorch checkpoint stores F16 too", async () => {
  const dir = `${FIXTURES}/bert-tiny-random`;
  const files: ModelFiles = {
    location: dir,
    read: (name) => name === "model.safetensors" ? Promise.resolve(undefined) : localFiles(dir).read(name),
  };
  const { model } = await loadModel(files, { tokenizer: false, dtype: "f16" });
  assert.ok(model.params.all().every((p) => p.dtype === "F16"));
  const ref = (await loadModel(localFiles(dir), { tokenizer: false, dtype: "f16" })).model.params.toTensors();
  for (const [name, t] of model.params.toTensors()) assert.deepEqual(t.data, ref.get(name)!.data, name);
});

Deno.test("loadModel() names the file and tensor of a dtype it cannot read, and refuses an unknown dtype option", async () => {
  const files = fixtureAs("bert-tiny-random", "F32");
  const bytes = (await files.read("model.safetensors"))!;
  // rewrite one tensor's dtype in the header to one safetensors does not define (same length: offsets hold)
  const text = new TextDecoder().decode(bytes);
  const patched = new TextEncoder().encode(text.replace('"dtype":"F32"', '"dtype":"Q32"'));
  const bad = memoryFiles({ "config.json": (await files.read("config.json"))!, "model.safetensors": patched }, "bad");
  await assert.rejects(
    () => loadModel(bad, { tokenizer: false, dtype: "f16" }),
    /"model\.safetensors": tensor "[^"]+" has unknown dtype "Q32"/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => loadModel(files, { tokenizer: false, dtype: "f64" as any }),
    /dtype must be one of f32, f16, got "f64"/,
  );
});

Deno.test("an F16 model refuses weight gradients, naming a weight (training needs dtype f32)", async () => {
  const { model } = await loadModel(fixtureAs("bert-tiny-random", "F16"), { tokenizer: false, dtype: "f16" });
  assert.throws(() => model.params.enableGrads(), /Weight "[^"]+" is stored as F16: weight gradients need F32/);
});

Deno.test("storedDtype() keeps 16-bit weights as stored under f16 and widens everything under f32", () => {
  assert.equal(storedDtype("BF16", "f16"), "BF16");
  assert.equal(storedDtype("F16", "f16"), "F16");
  assert.equal(storedDtype("F64", "f16"), "F16");
  assert.equal(storedDtype("BF16", "f32"), "F32");
});
