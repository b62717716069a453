// BertForMaskedLM (tied decoder) against HF transformers: tests/fixtures/goldens/make_bert_mlm_golden.py made the
// fixture model and the golden (logits, hidden states, attentions, masked-LM loss and three weight gradients).
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { createReferenceKernels } from "../kernels/reference_kernels.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import type { Kernels } from "../kernels/types.ts";
import { assertTensorsClose, fixtureModel, readGolden, readInputs } from "../../tests/helpers/goldens.ts";
import { batchFromArrays } from "./inputs.ts";
import { loadModel } from "./load.ts";

const GOLDEN = "bert-mlm-tiny-random.mlm";
const BACKENDS: Array<[string, () => Kernels]> = [
  ["wasm", () => createWasmKernels()],
  ["reference", () => createReferenceKernels()],
];

async function setup(kernels: Kernels) {
  const inputs = readInputs(GOLDEN);
  const { model } = await loadModel(localFiles(fixtureModel(inputs.model as string)), { kernels, tokenizer: false });
  const batch = batchFromArrays(inputs as { input_ids: unknown }, GOLDEN);
  return { model, batch, labels: Int32Array.from(inputs.labels as number[]), expected: readGolden(GOLDEN) };
}

for (const [backend, makeKernels] of BACKENDS) {
  Deno.test(`BertForMaskedLM logits, hidden states and attentions match HF (${backend})`, async () => {
    const { model, batch, expected } = await setup(makeKernels());
    strictEqual(model.task, "mlm");
    ok(model.hasHead);
    const names = [...expected.keys()].filter((n) => /^(logits|hidden_states\.\d+|attentions\.\d+)$/.test(n));
    strictEqual(names.length, 2 * model.config.layers + 2);
    const { cache } = model.run({ batch, names });
    assertTensorsClose(expected, (n) => cache.get(model.resolveName(n)), names);
  });

  Deno.test(`BertForMaskedLM masked-LM loss and tied-decoder gradients match HF (${backend})`, async () => {
    const { model, batch, labels, expected } = await setup(makeKernels());
    model.params.enableGrads();
    model.params.zeroGrads();
    const r = model.run({ batch, labels, paramGrads: true });
    const hfLoss = expected.get("loss")!.data[0]!;
    ok(Math.abs(r.loss! - hfLoss) <= 1e-4, `loss ${r.loss} vs HF ${hfLoss}`);
    strictEqual(r.lossCount, labels.filter((t) => t !== -100).length);
    const grads = model.params.gradTensors();
    for (const name of ["cls.predictions.bias", "cls.predictions.transform.dense.weight"]) {
      const e = expected.get(`grad.${name}`)!, a = grads.get(name)!;
      e.data.forEach((v, i) => {
        if (!(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
          throw new Error(`${name}[${i}] ${a.data[i]} vs HF ${v}`);
        }
      });
    }
    // the word embedding's gradient sums the input lookup and the tied decoder
    const e = expected.get("grad.bert.embeddings.word_embeddings.weight")!;
    const a = grads.get("bert.embeddings.word_embeddings.weight")!;
    e.data.forEach((v, i) => {
      if (!(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v))) {
        throw new Error(`word_embeddings[${i}] ${a.data[i]} vs HF ${v}`);
      }
    });
  });
}

Deno.test("BertForMaskedLM: the loss is the same whether the full logits are asked for or only the masked rows", async () => {
  const { model, batch, labels } = await setup(createWasmKernels());
  const rows = model.run({ batch, labels });
  const full = model.run({ batch, labels, names: ["logits"] });
  ok(Math.abs(rows.loss! - full.loss!) < 1e-5, `${rows.loss} vs ${full.loss}`);
  deepStrictEqual(full.logits!.shape, [2, 10, 300]);
  strictEqual(rows.logits, undefined, "a vocabulary head's logits are copied out only when asked for");
});

Deno.test("BertForMaskedLM refuses labels that are not one token id or -100 per position", async () => {
  const { model, batch, labels } = await setup(createWasmKernels());
  throws(() => model.run({ batch, labels: "lm" }), /masked LM takes one label per position/);
  throws(() => model.run({ batch, labels: labels.subarray(0, 5) }), /needs one per position \(B·T = 20\)/);
  throws(() => model.run({ batch, labels: new Int32Array(20).fill(-100) }), /no position to predict/);
  const bad = labels.slice();
  bad[3] = 300;
  throws(() => model.run({ batch, labels: bad }), /labels\[3\] = 300 is neither -100 nor a token id \(0\.\.299\)/);
});
