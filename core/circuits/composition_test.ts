import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { pruneModel } from "../bertology/prune.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { checkWeights, TransformerModel } from "../models/model.ts";
import { attentionWeights, COMPOSITION_MODES, compositionScores, pairCompositionScore } from "./composition.ts";
import { assertClose, circuitsReference, REFERENCE_NAMES, referenceModel, registered } from "./_test_reference.ts";

for (const name of REFERENCE_NAMES) {
  Deno.test({
    name: `compositionScores() equals TransformerLens's all_composition_scores on the HF weights (${name})`,
    ignore: !registered(name),
    fn: async () => {
      const ref = circuitsReference(name);
      const model = await referenceModel(ref);
      const s = compositionScores(model, { baselineSamples: 0 });
      for (const mode of COMPOSITION_MODES) {
        deepStrictEqual(s[mode].shape, [
          model.config.layers,
          model.config.heads,
          model.config.layers,
          model.config.heads,
        ]);
        assertClose(mode, s[mode].data, ref.composition[mode].flat(3), 1e-4);
      }
    },
  });
}

Deno.test("compositionScores() matches the direct d_model × d_model computation for every pair", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const { layers: L, heads: H, hidden: C, headDim: D } = model.config;
  const s = compositionScores(model, { baselineSamples: 0 });
  const weights = Array.from({ length: L }, (_, l) => attentionWeights(model, l));
  for (const mode of COMPOSITION_MODES) {
    for (let la = 0; la < L; la++) {
      for (let lb = 0; lb < L; lb++) {
        for (let ha = 0; ha < H; ha++) {
          for (let hb = 0; hb < H; hb++) {
            const got = s[mode].data[((la * H + ha) * L + lb) * H + hb]!;
            const want = la < lb ? pairCompositionScore(weights[la]![ha]!, weights[lb]![hb]!, mode, C, D) : 0;
            ok(Math.abs(got - want) < 1e-6, `${mode} ${la}.${ha} → ${lb}.${hb}: ${got} vs ${want}`);
          }
        }
      }
    }
  }
});

Deno.test("compositionScores() baseline is seeded, in (0, 1), and below most real scores of a random model's heads", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const a = compositionScores(model, { baselineSamples: 30, seed: 7 });
  const b = compositionScores(model, { baselineSamples: 30, seed: 7 });
  const c = compositionScores(model, { baselineSamples: 30, seed: 8 });
  deepStrictEqual(a.baseline, b.baseline);
  ok(a.baseline.Q !== c.baseline.Q, "another seed draws other matrices");
  for (const mode of COMPOSITION_MODES) {
    ok(a.baseline[mode] > 0 && a.baseline[mode] < 1, `${mode}: ${a.baseline[mode]}`);
  }
  strictEqual(a.baseline.samples, 30);
  ok(Number.isNaN(compositionScores(model, { baselineSamples: 0 }).baseline.V));
  throws(() => compositionScores(model, { baselineSamples: -1 }), /baselineSamples must be a non-negative integer/);
});

Deno.test("pairCompositionScore() is 1 for the same rank-1 circuit and 0 for orthogonal ones", () => {
  const e1 = Float64Array.of(1, 0), e2 = Float64Array.of(0, 1);
  const head = (q: Float64Array, k: Float64Array, v: Float64Array, o: Float64Array) => ({ q, k, v, o });
  strictEqual(pairCompositionScore(head(e1, e1, e1, e1), head(e1, e1, e1, e1), "V", 2, 1), 1);
  // a writes along e1; b's query reads e2
  strictEqual(pairCompositionScore(head(e1, e1, e1, e1), head(e2, e1, e1, e1), "Q", 2, 1), 0);
  strictEqual(pairCompositionScore(head(e1, e1, e1, e1), head(e2, e1, e1, e1), "K", 2, 1), 1);
});

Deno.test("compositionScores() gives pruned heads NaN and keeps the kept heads' scores", async () => {
  const model = await referenceModel(circuitsReference("gpt2"));
  const full = compositionScores(model, { baselineSamples: 0 });
  const pruned = pruneModel(model, { 0: [1], 2: [0, 3] }, createWasmKernels());
  const s = compositionScores(pruned, { baselineSamples: 0 });
  const { layers: L, heads: H } = model.config;
  const at = (la: number, ha: number, lb: number, hb: number) => ((la * H + ha) * L + lb) * H + hb;
  ok(Number.isNaN(s.Q.data[at(0, 1, 2, 2)]!) && Number.isNaN(s.V.data[at(0, 0, 2, 0)]!));
  ok(Math.abs(s.K.data[at(0, 2, 1, 3)]! - full.K.data[at(0, 2, 1, 3)]!) < 1e-6);
  ok(Math.abs(s.V.data[at(0, 0, 2, 1)]! - full.V.data[at(0, 0, 2, 1)]!) < 1e-6);
});

Deno.test("compositionScores() handles rank-deficient head weights (a head whose W_V has half its columns zero)", async () => {
  const source = await referenceModel(circuitsReference("gpt2"));
  const c = source.config, C = c.hidden, D = c.headDim, HD = c.heads * D;
  const weights = source.params.toTensors();
  const w = weights.get("transformer.h.0.attn.c_attn.weight")!; // [C, 3·H·D]: v of head 1 at 2·HD + D
  const data = w.data.slice();
  for (let r = 0; r < C; r++) data.fill(0, r * 3 * HD + 2 * HD + D, r * 3 * HD + 2 * HD + D + D / 2);
  weights.set("transformer.h.0.attn.c_attn.weight", { shape: w.shape, data });
  const model = new TransformerModel(c, checkWeights(c, weights, "rank-deficient"), createWasmKernels());
  const s = compositionScores(model, { baselineSamples: 0 });
  const a = attentionWeights(model, 0)[1]!;
  for (let lb = 1; lb < c.layers; lb++) {
    const heads = attentionWeights(model, lb);
    for (const mode of COMPOSITION_MODES) {
      heads.forEach((b, hb) => {
        const got = s[mode].data[((0 * c.heads + 1) * c.layers + lb) * c.heads + hb]!;
        const want = pairCompositionScore(a, b, mode, C, D);
        ok(Math.abs(got - want) < 1e-6, `${mode} 0.1 → ${lb}.${hb}: ${got} vs ${want}`);
      });
    }
  }
});
