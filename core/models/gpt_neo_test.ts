/**
 * GPT-Neo against Hugging Face (transformers 5.18, eager attention; `tests/fixtures/families/MANIFEST.json`): a
 * right-padded batch through alternating global and local (window 4) layers without the 1/√d scale — logits, every
 * hidden state and attention within 1e-4 at real positions (HF's padded query rows in local layers are softmaxes
 * of its doubled finfo.min masks, see the manifest), the next-token loss and the head-mask gradient within
 * 1e-5 + 1e-3·|g|; the config's `attention_types` read and refused as HF's config does.
 */

import { ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import {
  assertTensorsClose,
  atRealPositions,
  familyModel,
  maxAbsDiff,
  readFamilyGolden,
  readFamilyInputs,
} from "../../tests/helpers/goldens.ts";
import type { Tensor } from "../tensor.ts";
import { ConfigFields } from "./config.ts";
import { gptNeoAttentionLayers } from "./gpt_neo.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";
import { parseConfig } from "./registry.ts";

const FIXTURE = "gpt-neo-tiny-random";

const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

for (const [backend, makeKernels] of BACKENDS) {
  Deno.test(`${FIXTURE}: logits, hidden states and attentions equal HF's at real positions (${backend})`, async () => {
    const golden = `${FIXTURE}.lm`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { kernels: makeKernels(), tokenizer: false });
    strictEqual(model.config.raw.window_size, 4);
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
    if (names.length !== 2 * model.config.layers + 2) throw new Error(`${golden}: expected tensors missing`);
    const mask = inputs.attention_mask as number[][];
    ok(mask.some((row) => row.includes(0)), "the batch is padded");
    const { cache } = model.run({ batch, names });
    const real = (get: (n: string) => Tensor | undefined) => (n: string) => {
      const t = get(n);
      return t === undefined ? undefined : atRealPositions(n, t, mask);
    };
    const wanted = new Map(names.map((n) => [n, real((m) => expected.get(m))(n)!]));
    assertTensorsClose(wanted, real((n) => cache.get(model.resolveName(n))), names);
    // the local layer (1) sees 4 keys: in the unpadded row 1, query i's probabilities on keys ≤ i − 4 are exactly 0
    const p = cache.get(model.resolveName("attentions.1"))!, [, H, T] = p.shape as [number, number, number];
    for (let h = 0; h < H; h++) {
      for (let i = 4; i < T; i++) {
        for (let j = 0; j <= i - 4; j++) strictEqual(p.data[((H + h) * T + i) * T + j], 0, `head ${h}: ${i} → ${j}`);
      }
    }
  });

  Deno.test(`${FIXTURE}: next-token loss and head_mask_grad equal HF's (${backend})`, async () => {
    const golden = `${FIXTURE}.head_mask_grad`;
    const inputs = readFamilyInputs(golden);
    const expected = readFamilyGolden(golden);
    const { model } = await loadModel(localFiles(familyModel(FIXTURE)), { kernels: makeKernels(), tokenizer: false });
    const batch = batchFromArrays(inputs as { input_ids: unknown }, golden);
    // HF's labels are input_ids with -100 on pads, shifted inside the model: our "lm" targets
    const labels = inputs.labels as number[][], ids = inputs.input_ids as number[][];
    const mask = inputs.attention_mask as number[][];
    ok(labels.every((row, b) => row.every((v, t) => v === (mask[b]![t] === 1 ? ids[b]![t] : -100))));
    const result = model.run({ batch, labels: "lm", names: ["head_mask_grad"] });
    const loss = expected.get("loss")!.data[0]!;
    ok(Math.abs(result.loss! - loss) <= 1e-5 + 1e-3 * Math.abs(loss), `loss ${result.loss} vs HF ${loss}`);
    const e = expected.get("head_mask_grad")!, a = result.headMaskGrad!;
    maxAbsDiff("head_mask_grad", e, a);
    e.data.forEach((v, i) => {
      if (!(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
        throw new Error(`head_mask_grad[${i}] = ${a.data[i]} vs HF ${v}\nours ${[...a.data]}\nHF   ${[...e.data]}`);
      }
    });
  });
}

Deno.test("gptNeoAttentionLayers() expands attention_types as HF's config does, and refuses what HF refuses", () => {
  const layers = (raw: Record<string, unknown>, n: number) => gptNeoAttentionLayers(new ConfigFields(raw, "c.json"), n);
  strictEqual(layers({}, 24).join(), Array(12).fill("global,local").join());
  strictEqual(layers({ attention_types: [[["local"], 2], [["global"], 1]] }, 3).join(), "local,local,global");
  throws(
    () => layers({ attention_types: [[["global", "local"], 2]] }, 3),
    /gives 4 attention layers but "num_layers" is 3/,
  );
  throws(
    () => layers({ attention_types: [[["global", "sparse"], 1]] }, 2),
    /c.json: field "attention_types" entry 0 names/,
  );
  throws(() => layers({ attention_types: "global" }, 2), /"attention_types" is not a list/);
  throws(
    () => layers({ attention_types: [[["global"], 2]], attention_layers: ["global", "local"] }, 2),
    /field "attention_layers" \["global","local"\] disagrees with "attention_types"/,
  );
  const base = {
    ...{ model_type: "gpt_neo", vocab_size: 10, hidden_size: 8, num_layers: 2, num_heads: 2 },
    attention_types: [[["global", "local"], 1]],
  };
  throws(
    () => parseConfig({ ...base, window_size: 0 }, "neo/config.json"),
    /neo\/config.json: field "window_size" must/,
  );
  strictEqual(parseConfig(base, "neo/config.json").intermediate, 32);
});
