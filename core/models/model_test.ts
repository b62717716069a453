import { deepStrictEqual, ok } from "node:assert/strict";
import { memoryFiles } from "../checkpoint/files.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { hookName } from "../hooks.ts";
import { fixtureModel, maxAbsDiff, readInputs } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";

for (const name of ["bert-tiny-random", "gpt2-tiny-random"]) {
  Deno.test(`loadModel() gives identical outputs from pytorch_model.bin and model.safetensors (${name})`, async () => {
    const dir = fixtureModel(name);
    const read = (f: string) => Deno.readFileSync(`${dir}/${f}`);
    const bin = memoryFiles(
      { "config.json": read("config.json"), "pytorch_model.bin": read("pytorch_model.bin") },
      "bin",
    );
    const st = memoryFiles(
      { "config.json": read("config.json"), "model.safetensors": read("model.safetensors") },
      "st",
    );
    const a = (await loadModel(bin, { tokenizer: false })).model;
    const b = (await loadModel(st, { tokenizer: false })).model;
    const golden = name === "bert-tiny-random" ? "bert-tiny-random.pairs" : "gpt2-tiny-random.lm";
    const batch = batchFromArrays(readInputs(golden) as { input_ids: unknown }, golden);
    const names = ["hidden_states.2", "attentions.1", "logits"];
    const ra = a.run({ batch, names }), rb = b.run({ batch, names });
    deepStrictEqual([...ra.logits!.data], [...rb.logits!.data]);
    for (const [k, v] of ra.cache) deepStrictEqual([...v.data], [...rb.cache.get(k)!.data], k);
  });
}

Deno.test("TransformerModel.run() keeps exactly the activations asked for", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
  const batch = batchFromArrays({ input_ids: [[270, 705, 82, 257]] }, "b");
  const names = [hookName("z", 1), hookName("q", 0), hookName("mlp_post", 2), hookName("resid_mid", 0)];
  const { cache } = model.run({ batch, names });
  deepStrictEqual([...cache.keys()].sort(), [...names, hookName("logits")].filter((n) => names.includes(n)).sort());
  deepStrictEqual(cache.get(hookName("z", 1))!.shape, [1, 4, 4, 8]);
  deepStrictEqual(cache.get(hookName("mlp_post", 2))!.shape, [1, 4, 128]);
  const none = model.run({ batch });
  deepStrictEqual(none.cache.size, 0);
});

for (const name of ["bert-tiny-random", "gpt2-tiny-random", "openai-gpt-tiny-random"]) {
  Deno.test(`hook_z_grad agrees with head_mask_grad: dL/dm_h = Σ z_h · dL/dz_h at mask 1 (${name})`, async () => {
    const { model } = await loadModel(localFiles(fixtureModel(name)), { tokenizer: false });
    const ids = name.startsWith("bert")
      ? [[101, 2023, 2003, 1037, 3231, 102, 0], [101, 2307, 102, 0, 0, 0, 0]]
      : [[270, 705, 82, 257, 99, 0, 0], [403, 1204, 589, 420, 12, 40, 3]];
    const mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
    const batch = batchFromArrays({ input_ids: ids, attention_mask: mask }, "b");
    const { layers: L, heads: H, headDim: D } = model.config;
    const names = ["hook_head_mask_grad"];
    for (let l = 0; l < L; l++) names.push(hookName("z", l), hookName("z", l, true));
    const r = model.run({ batch, labels: name.startsWith("bert") ? [1, 0] : "lm", names });
    for (let l = 0; l < L; l++) {
      const z = r.cache.get(hookName("z", l))!.data, dz = r.cache.get(hookName("z", l, true))!.data;
      for (let h = 0; h < H; h++) {
        let s = 0;
        for (let row = 0; row < z.length / (H * D); row++) {
          for (let d = 0; d < D; d++) s += z[row * H * D + h * D + d]! * dz[row * H * D + h * D + d]!;
        }
        const g = r.headMaskGrad!.data[l * H + h]!;
        ok(Math.abs(s - g) <= 1e-5 + 1e-3 * Math.abs(g), `layer ${l} head ${h}: Σ z·dz = ${s}, head_mask_grad = ${g}`);
      }
    }
    ok(maxAbsDiff("x", r.headMaskGrad!, { shape: [L, H], data: new Float32Array(L * H) }) > 0);
  });
}

Deno.test("a next-token loss gives the same loss and gradients whether or not the full logits are kept", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
  const batch = batchFromArrays({
    input_ids: [[270, 705, 82, 257, 99, 0], [403, 1204, 589, 420, 12, 40]],
    attention_mask: [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]],
  }, "b");
  const names = ["hook_head_mask_grad", hookName("z", 1, true)];
  const compact = model.run({ batch, labels: "lm", names });
  const full = model.run({ batch, labels: "lm", names: [...names, "logits"] });
  deepStrictEqual(full.logits!.shape, [2, 6, model.config.vocabSize]);
  deepStrictEqual(compact.logits, undefined);
  ok(Math.abs(compact.loss! - full.loss!) < 1e-6, `${compact.loss} vs ${full.loss}`);
  ok(maxAbsDiff("grad", full.headMaskGrad!, compact.headMaskGrad!) < 1e-6);
  const z = hookName("z", 1, true);
  ok(maxAbsDiff(z, full.cache.get(z)!, compact.cache.get(z)!) < 1e-6);
});
