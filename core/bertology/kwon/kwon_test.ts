import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../../checkpoint/local_files.ts";
import { hookName } from "../../hooks.ts";
import { batchFromArrays } from "../../models/inputs.ts";
import { loadModel } from "../../models/load.ts";
import { fixtureModel } from "../../../tests/helpers/goldens.ts";
import { familyOf, modelTypes, parseConfig } from "../../models/registry.ts";
import { traceModel } from "../../models/trace_ops.ts";
import type { HeadSlice } from "../../models/family.ts";
import {
  encoderFlops,
  fitPiecewiseLatency,
  flopsPerHead,
  flopsPerNeuron,
  piecewiseLatency,
  unitFlops,
} from "./cost.ts";
import { collectMaskGradients, fisherImportance } from "./fisher.ts";
import { rearrangeLayer } from "./rearrange.ts";
import { searchFlops, searchLatency } from "./search.ts";
import { solveSymmetric, tuneMasks } from "./tune.ts";

const f64 = (xs: number[]) => Float64Array.from(xs);
const all = { heads: [[true, true], [true, true]] };

Deno.test("searchFlops keeps the most important units the budget pays for, jointly or heads only", () => {
  // heads cost 10, neurons 1; budget 23
  const fisher = { heads: [f64([5, 0.1]), f64([4, 3])], neurons: [f64([1, 1, 0.2]), f64([0.5, 2, 0.1])] };
  const m = searchFlops(fisher, { headFlops: 10, neuronFlops: 1, budget: 23 }, all);
  // two heads (5 + 4) and three neurons (2 + 1 + 1) = 13 beat one head and all six neurons (5 + 4.8 = 9.8)
  deepStrictEqual(m.heads, [[1, 0], [1, 0]]);
  deepStrictEqual(m.neurons, [[1, 1, 0], [0, 1, 0]]);
  const h = searchFlops(fisher, { headFlops: 10, neuronFlops: 1, budget: 27 }, all, true);
  deepStrictEqual(h.neurons, [[1, 1, 1], [1, 1, 1]]);
  deepStrictEqual(h.heads, [[1, 0], [1, 0]]); // 6 neurons + 2 heads = 26 ≤ 27
  throws(() => searchFlops(fisher, { headFlops: 10, neuronFlops: 1, budget: 5 }, all, true), /MLPs alone cost/);
  // a head missing from the checkpoint is never kept
  const gone = searchFlops(fisher, { headFlops: 10, neuronFlops: 1, budget: 100 }, {
    heads: [[false, true], [true, true]],
  });
  deepStrictEqual(gone.heads, [[0, 1], [1, 1]]);
});

Deno.test("the FLOPs of a head and a neuron add up to a block's matrix products", () => {
  const T = 7, C = 32, D = 8, I = 64, H = 4;
  const block = 2 * (4 * T * C * H * D + 2 * T * T * H * D + 2 * T * C * I);
  deepStrictEqual(encoderFlops({ layers: 1, heads: H, headDim: D, hidden: C, intermediate: I }, [H], [I], T), block);
  deepStrictEqual(H * flopsPerHead(T, C, D) + I * flopsPerNeuron(T, C), block);
});

Deno.test("fitPiecewiseLatency recovers a flat-then-linear table; searchLatency respects the budget", () => {
  const counts = [0, 1, 2, 3, 4, 5, 6];
  const fit = fitPiecewiseLatency(
    counts,
    counts.map((n) => piecewiseLatency({ threshold: 3, base: 2, slope: 0.5 }, n)),
  );
  deepStrictEqual(fit, { threshold: 3, base: 2, slope: 0.5 });
  const fits = { mha: { threshold: 1, base: 1, slope: 0.25 }, ffn: { threshold: 2, base: 1, slope: 0.1 } };
  const fisher = { heads: [f64([5, 0.1]), f64([0.2, 0.1])], neurons: [f64([1, 1, 0.2, 0.3]), f64([0.5, 0.4, 0.1, 0])] };
  const m = searchLatency(fisher, fits, 2.6, all);
  const cost = [0, 1].reduce((a, l) => {
    const h = m.heads[l]!.reduce((x, y) => x + y, 0), n = m.neurons[l]!.reduce((x, y) => x + y, 0);
    return a + piecewiseLatency(fits.mha, h) + piecewiseLatency(fits.ffn, n);
  }, 0);
  ok(cost <= 2.6 + 1e-12, `latency ${cost}`);
  // only two sub-layers fit (three flat parts cost 3): layer 0's attention and MLP, then the rest of the
  // budget (0.6) buys layer 0's second head (0.25) and its two remaining neurons (0.2)
  deepStrictEqual(m.heads, [[1, 1], [0, 0]]);
  deepStrictEqual(m.neurons.map((r) => r.reduce((x, y) => x + y, 0)), [4, 0]);
  const none = searchLatency(fisher, fits, 0.5, all);
  ok(none.heads.flat().every((x) => x === 0) && none.neurons.flat().every((x) => x === 0));
});

Deno.test("rearrangeLayer keeps the count and prefers pruning units whose gradients cancel", () => {
  const g = [Float32Array.from([1, -1, 0.5, 3]), Float32Array.from([1, -1, 0.5, -3])];
  const out = rearrangeLayer([0, 1, 0, 1], g);
  deepStrictEqual(out.filter((x) => x === 0).length, 2);
  deepStrictEqual(out, [0, 0, 1, 1]);
  deepStrictEqual(rearrangeLayer([1, 1, 1, 1], g), [1, 1, 1, 1]);
  deepStrictEqual(rearrangeLayer([1, 0, 1, 0], g, [true, false, true, true]).filter((x) => x === 0).length, 2);
});

Deno.test("solveSymmetric solves the normal equations", () => {
  const x = solveSymmetric(f64([4, 1, 0, 1, 3, 1, 0, 1, 2]), f64([6, 9.5, 7]), 3);
  [1, 2, 2.5].forEach((v, i) => ok(Math.abs(x[i]! - v) < 1e-6, `${x}`));
});

Deno.test("Fisher importance and mask tuning on a model: tuning lowers the first layer's reconstruction error", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const ids = [[2, 45, 17, 3, 9, 0], [2, 9, 3, 0, 0, 0], [2, 88, 61, 40, 3, 0], [2, 7, 8, 9, 10, 3]];
  const attention_mask = ids.map((r) => r.map((v, i) => (i === 0 || v !== 0 ? 1 : 0)));
  const batches = [0, 2].map((s) => ({
    batch: batchFromArrays({ input_ids: ids.slice(s, s + 2), attention_mask: attention_mask.slice(s, s + 2) }, "t"),
    labels: Int32Array.from([1, 0]),
  }));
  const grads = collectMaskGradients(model, batches);
  deepStrictEqual(grads.heads.length, 2);
  const fisher = fisherImportance(grads);
  const g0 = grads.neurons[0]![0]![5]!, g1 = grads.neurons[1]![0]![5]!;
  ok(Math.abs(fisher.neurons[0]![5]! - (g0 * g0 + g1 * g1)) < 1e-9);
  const { layers: L, heads: H } = model.config;
  const heads = Array.from({ length: L }, () => new Array(H).fill(1));
  const neurons = model.config.intermediateSizes.map((I) => Array.from({ length: I }, (_, j) => (j % 2 ? 1 : 0)));
  const tuned = tuneMasks(model, batches, { heads, neurons });
  ok(tuned.tuned.includes("ffn.0"), JSON.stringify(tuned));
  // pruned units stay 0; kept values moved
  ok(tuned.neurons[0]!.every((v, j) => (j % 2 ? true : v === 0)));
  ok(tuned.neurons[0]!.some((v, j) => j % 2 === 1 && Math.abs(v - 1) > 1e-4));
  const error = (nm: number[][]) => {
    let e = 0;
    for (const { batch } of batches) {
      const names = [hookName("mlp_out", 0), hookName("resid_mid", 0)];
      const full = model.run({ batch, names }).cache, pr = model.run({ batch, names, neuronMask: nm }).cache;
      const s = (c: typeof full, i: number) => c.get(names[0]!)!.data[i]! + c.get(names[1]!)!.data[i]!;
      const n = full.get(names[0]!)!.data.length, C = model.config.hidden;
      for (let i = 0; i < n; i++) if (batch.attentionMask![Math.floor(i / C)] === 1) e += (s(full, i) - s(pr, i)) ** 2;
    }
    return e;
  };
  const untunedErr = error(neurons), tunedErr = error(tuned.neurons);
  ok(tunedErr < untunedErr, `tuned ${tunedErr} vs untuned ${untunedErr}`);
});

Deno.test("measureLatencyTable times every head and neuron count; its rows never decrease", async () => {
  const { measureLatencyTable } = await import("../../studies/latency_table.ts");
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  const t = measureLatencyTable(model, { batchSize: 2, seqLen: 8, repeats: 1, ffnStep: 16 });
  deepStrictEqual(t.mha.length, model.config.heads + 1);
  deepStrictEqual(t.ffnCounts, [0, 16, 32, 48, 64]);
  for (const row of [t.mha, t.ffn]) {
    deepStrictEqual(row[0], 0);
    for (let i = 1; i < row.length; i++) ok(row[i]! >= row[i - 1]! && Number.isFinite(row[i]!), `${row}`);
  }
});

Deno.test("unitFlops reads each head's and neuron's FLOPs from every family's trace: the closed form of its weight shapes", () => {
  for (const type of modelTypes()) {
    const family = familyOf(type);
    const sizes = { layers: 2, heads: 4, hidden: 16, intermediate: 24, vocabSize: 30, dropout: 0 };
    // two key/value heads where the family has grouped-query attention (others ignore the field)
    const config = parseConfig({ ...family.newConfig(sizes), num_key_value_heads: 2 }, type);
    const T = 7, C = 16, D = 4, H = 4;
    const { head, neuron } = unitFlops(traceModel(family, config), family, config, T);
    const shapes = family.weights(config).required;
    const rows = (slices: HeadSlice[]) =>
      slices.filter((s) => shapes.get(s.name)!.length === 2).map((s) =>
        shapes.get(s.name)!.reduce((a, b) => a * b) / C
      );
    // BERT's closed form (q, k, v, output: 4·C·D per head; 2·C per neuron) where the geometry is BERT's; else each
    // head's share of its projections (k, v shared by a kv group) and each neuron's two or three projections
    const perHead = rows(family.headSlices(config, 0)).reduce((a, b) => a + b) / H;
    const projections = rows(family.neuronSlices(config, 0)).length;
    if (perHead === 4 * D && projections === 2) {
      deepStrictEqual(head, [flopsPerHead(T, C, D), flopsPerHead(T, C, D)], type);
      deepStrictEqual(neuron, [flopsPerNeuron(T, C), flopsPerNeuron(T, C)], type);
    } else {
      const h = 2 * (T * C * perHead + 2 * T * T * D);
      deepStrictEqual(head, [h, h], type);
      deepStrictEqual(neuron, [2 * projections * T * C, 2 * projections * T * C], type);
    }
  }
});
