import assert from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import type { Labels, TransformerModel } from "./model.ts";

// The worker pool splits matmul and attention so that every output element is computed as on one thread: a
// whole forward + backward (head-mask gradient, weight gradients, kept activations) on 2 threads must equal the
// same run on 1 thread bit for bit, for an encoder (BERT) and a causal decoder (GPT-2).
function runAll(model: TransformerModel, ids: number[][], labels: Labels) {
  const mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batch = batchFromArrays({ input_ids: ids, attention_mask: mask }, "threads");
  const { layers: L, heads: H } = model.config;
  const headMask = Array.from(
    { length: L },
    (_, l) => Array.from({ length: H }, (_, h) => ((l + h) % 5 === 0 ? 0 : 1)),
  );
  model.params.enableGrads();
  model.params.zeroGrads();
  const r = model.run({
    batch,
    labels,
    headMask,
    paramGrads: true,
    names: ["hook_head_mask_grad", "blocks.0.attn.hook_pattern", `blocks.${L - 1}.hook_resid_post`],
  });
  const grads = model.params.gradTensors();
  return { loss: r.loss!, cache: r.cache, headMaskGrad: r.headMaskGrad!.data, grads };
}

function bits(a: ArrayLike<number>): Uint32Array {
  return new Uint32Array(Float32Array.from(a).buffer);
}

for (const [dir, labels] of [["models/bert-sst2", [1, 0]], ["models/gpt2-sst2", "lm"]] as [string, Labels][]) {
  Deno.test(`${dir}: forward + backward on 2 threads equals 1 thread bit for bit`, async () => {
    const files = localFiles(new URL(`../../${dir}`, import.meta.url).pathname);
    const one = (await loadModel(files, { tokenizer: false, threads: 1 })).model;
    const two = (await loadModel(files, { tokenizer: false, threads: 2 })).model;
    try {
      assert.equal(two.kernels.threads, 2);
      const ids = [
        Array.from({ length: 40 }, (_, i) => 1000 + ((i * 37) % 900)),
        [...Array.from({ length: 25 }, (_, i) => 2000 + i * 11), ...Array(15).fill(0)],
      ];
      const a = runAll(one, ids, labels), b = runAll(two, ids, labels);
      assert.equal(b.loss, a.loss);
      assert.deepEqual(bits(b.headMaskGrad), bits(a.headMaskGrad));
      for (const [name, t] of a.cache) assert.deepEqual(bits(b.cache.get(name)!.data), bits(t.data), name);
      assert.equal(b.grads.size, a.grads.size);
      for (const [name, t] of a.grads) assert.deepEqual(bits(b.grads.get(name)!.data), bits(t.data), `${name} grad`);
    } finally {
      two.kernels.close();
    }
  });
}
