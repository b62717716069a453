import { ok } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadWeights } from "../checkpoint/weights.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { parseConfig } from "./registry.ts";
import { batchFromArrays } from "./inputs.ts";
import { checkWeights, type Labels, TransformerModel } from "./model.ts";
import type { Tensor } from "../tensor.ts";

// Central differences of the loss in the head mask, against head_mask_grad from the backward pass, for every
// loss: classification cross-entropy, regression MSE (STS-B style) and next-token cross-entropy.
async function model(name: string, edit: (c: Record<string, unknown>, w: Map<string, Tensor>) => void = () => {}) {
  const dir = fixtureModel(name);
  const raw = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
  const weights = new Map<string, Tensor>([...(await loadWeights(localFiles(dir)))].map(([k, v]) => [k, v]));
  edit(raw, weights);
  const config = parseConfig(raw, name);
  return new TransformerModel(config, checkWeights(config, weights, name), createReferenceKernels());
}

function checkFiniteDifferences(m: TransformerModel, ids: number[][], labels: Labels) {
  const mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batch = batchFromArrays({ input_ids: ids, attention_mask: mask }, "fd");
  const { layers: L, heads: H } = m.config;
  const base = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => 0.6 + 0.1 * ((l + h) % 4)));
  const g = m.run({ batch, labels, headMask: base, names: ["hook_head_mask_grad"] }).headMaskGrad!.data;
  const eps = 1e-3;
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const at = (d: number) => {
        const hm = base.map((r) => [...r]);
        hm[l]![h]! += d;
        return m.run({ batch, labels, headMask: hm }).loss!;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      ok(
        Math.abs(fd - g[l * H + h]!) <= 2e-4 + 2e-2 * Math.abs(fd),
        `mask[${l}][${h}]: backward ${g[l * H + h]}, finite difference ${fd}`,
      );
    }
  }
}

Deno.test("head_mask_grad equals finite differences of the classification loss (BERT)", async () => {
  checkFiniteDifferences(await model("bert-tiny-random"), [[101, 2023, 2003, 1037, 3231, 102, 0], [
    101,
    2307,
    102,
    0,
    0,
    0,
    0,
  ]], [1, 0]);
});

Deno.test("head_mask_grad equals finite differences of the regression (MSE) loss (BERT, num_labels 1)", async () => {
  const m = await model("bert-tiny-random", (c, w) => {
    c.problem_type = "regression";
    c.id2label = { 0: "score" };
    const cw = w.get("classifier.weight")!, cb = w.get("classifier.bias")!;
    w.set("classifier.weight", { shape: [1, cw.shape[1]!], data: cw.data.slice(0, cw.shape[1]) });
    w.set("classifier.bias", { shape: [1], data: cb.data.slice(0, 1) });
  });
  checkFiniteDifferences(
    m,
    [[101, 2023, 2003, 1037, 3231, 102], [101, 2307, 2003, 2204, 102, 0]],
    new Float32Array([3.2, 0.5]),
  );
});

Deno.test("head_mask_grad equals finite differences of the next-token loss with padding (GPT-2, OpenAI GPT)", async () => {
  checkFiniteDifferences(await model("gpt2-tiny-random"), [[270, 705, 82, 257, 99, 0, 0], [
    403,
    1204,
    589,
    420,
    12,
    40,
    3,
  ]], "lm");
  checkFiniteDifferences(await model("openai-gpt-tiny-random"), [[159, 122, 67, 80, 0, 0], [
    170,
    595,
    124,
    158,
    364,
    30,
  ]], "lm");
});
