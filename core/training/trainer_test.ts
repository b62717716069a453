import assert from "node:assert/strict";
import { join } from "node:path";
import { localFiles } from "../checkpoint/deno.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { parseConfig } from "../models/registry.ts";
import { loadModel } from "../models/load.ts";
import { TransformerModel } from "../models/model.ts";
import { mulberry32 } from "../rng.ts";
import { initWeights, newConfig } from "./init.ts";
import { evaluate, train, type TrainExample } from "./trainer.ts";

/** Label 1 when word 3 occurs: [CLS]=1 … [SEP]=2, words 3..11. */
function toyClassification(n: number, seed: number): TrainExample[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + Math.floor(r() * 5);
    const words = Array.from({ length: len }, () => 4 + Math.floor(r() * 8));
    const label = r() < 0.5 ? 1 : 0;
    if (label) words[Math.floor(r() * len)] = 3;
    const ids = [1, ...words, 2];
    return { ids, tokenTypeIds: ids.map(() => 0), label };
  });
}

/** Counting sequences mod 7 (each token predicts the next). */
function toyLm(n: number, seed: number): TrainExample[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const start = Math.floor(r() * 7), len = 3 + Math.floor(r() * 6);
    const ids = Array.from({ length: len }, (_, i) => 1 + ((start + i) % 7));
    return { ids, tokenTypeIds: ids.map(() => 0) };
  });
}

function tinyBert(seed = 1, pruned?: Record<string, number[]>): TransformerModel {
  const { raw } = newConfig({
    family: "bert",
    layers: 1,
    heads: 2,
    hidden: 16,
    intermediate: 32,
    vocabSize: 12,
    maxPositions: 16,
    labels: ["neg", "pos"],
  });
  if (pruned) raw.pruned_heads = pruned;
  const config = parseConfig(raw, "tiny");
  return new TransformerModel(config, initWeights(config, seed), createWasmKernels());
}

function tinyGpt2(): TransformerModel {
  const { config } = newConfig({ family: "gpt2", layers: 1, heads: 2, hidden: 16, vocabSize: 10, maxPositions: 16 });
  return new TransformerModel(config, initWeights(config, 3), createWasmKernels());
}

const base = { batchSize: 8, lr: 1e-2, warmup: 0.1, weightDecay: 0.01, dropout: 0.1, seed: 5 } as const;

Deno.test("train() lowers the loss and learns a toy classification task", async () => {
  const model = tinyBert();
  const data = toyClassification(96, 1), dev = toyClassification(48, 2);
  const objective = { kind: "classification" } as const;
  const before = evaluate(model, dev, { objective });
  const result = await train(model, { ...base, objective, train: data, dev, epochs: 6 });
  const after = result.epochs.at(-1)!.dev!;
  assert.ok(after.loss < before.loss - 0.1, `dev loss ${before.loss} -> ${after.loss}`);
  assert.ok(result.epochs.at(-1)!.trainLoss < result.epochs[0]!.trainLoss);
  assert.ok(result.bestMetric!.value >= 0.8, `best accuracy ${result.bestMetric!.value}`);
  assert.equal(result.totalSteps, 6 * 12);
});

Deno.test("train() lowers a GPT-2 causal LM loss, and evaluate() reports perplexity = exp(loss)", async () => {
  const model = tinyGpt2();
  const data = toyLm(64, 1), dev = toyLm(16, 2);
  const objective = { kind: "lm" } as const;
  const before = evaluate(model, dev, { objective });
  assert.ok(Math.abs(before.metrics.perplexity! - Math.exp(before.loss)) < 1e-9);
  const result = await train(model, { ...base, objective, train: data, dev, epochs: 4 });
  assert.ok(
    result.epochs.at(-1)!.dev!.loss < before.loss - 0.5,
    `${before.loss} -> ${result.epochs.at(-1)!.dev!.loss}`,
  );
  assert.equal(result.bestMetric!.key, "perplexity");
});

Deno.test("train() with the same seed gives bit-identical weights, another seed does not", async () => {
  const data = toyClassification(40, 3);
  const run = async (seed: number) => {
    const model = tinyBert();
    await train(model, {
      ...base,
      seed,
      objective: { kind: "classification" },
      train: data,
      epochs: 2,
      groupByLength: true,
    });
    return model.params.toTensors();
  };
  const a = await run(7), b = await run(7), c = await run(8);
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
  assert.ok([...a].some(([name, t]) => t.data.some((x, i) => x !== c.get(name)!.data[i])));
});

Deno.test("train() saves best and last checkpoints that reload and continue training", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = tinyBert();
    const data = toyClassification(32, 4), dev = toyClassification(16, 5);
    const objective = { kind: "classification" } as const;
    await Deno.writeTextFile(
      join(dir, "vocab.txt"),
      ["[PAD]", "[CLS]", "[SEP]", "[UNK]", ...Array.from({ length: 8 }, (_, i) => `w${i}`)].join("\n"),
    );
    await train(model, {
      ...base,
      objective,
      train: data,
      dev,
      epochs: 2,
      checkpoint: { dir: join(dir, "out"), tokenizerDir: dir },
    });
    const names = [...Deno.readDirSync(join(dir, "out"))].map((e) => e.name).sort();
    // best and last are links to their current hidden version folders; nothing else is left behind
    const current = ["best", "last"].map((n) => Deno.readLinkSync(join(dir, "out", n))).sort();
    assert.deepEqual(names, [...current, "best", "last"].sort(), "no temporary folders are left behind");
    const { model: last, tokenizer } = await loadModel(localFiles(join(dir, "out", "last")));
    assert.equal(tokenizer!.vocabSize, 12);
    const raw = JSON.parse(await Deno.readTextFile(join(dir, "out", "last", "config.json")));
    assert.deepEqual(raw.id2label, { 0: "neg", 1: "pos" });
    assert.deepEqual(raw.label2id, { neg: 0, pos: 1 });
    assert.equal(raw.num_labels, 2);
    const saved = last.params.toTensors();
    for (const [name, t] of model.params.toTensors()) assert.deepEqual(saved.get(name)!.data, t.data, name);
    const more = await train(last, { ...base, objective, train: data, dev, epochs: 1 });
    assert.ok(Number.isFinite(more.epochs[0]!.trainLoss));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() from a pruned checkpoint keeps the pruned shapes and pruned_heads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = tinyBert(2, { "0": [1] });
    const objective = { kind: "classification" } as const;
    await train(model, {
      ...base,
      objective,
      train: toyClassification(16, 6),
      epochs: 1,
      checkpoint: { dir, dtype: "F16" },
    });
    const { model: reloaded } = await loadModel(localFiles(join(dir, "last")), { tokenizer: false });
    assert.deepEqual(reloaded.config.prunedHeads, [[1]]);
    assert.deepEqual(reloaded.params.get("bert.encoder.layer.0.attention.self.query.weight").shape, [8, 16]);
    await train(reloaded, {
      ...base,
      objective,
      train: toyClassification(16, 7),
      epochs: 1,
      checkpoint: { dir, dtype: "F16" },
    });
    const again = await loadModel(localFiles(join(dir, "last")), { tokenizer: false });
    assert.deepEqual(again.model.config.prunedHeads, [[1]]);
    assert.deepEqual(again.model.params.get("bert.encoder.layer.0.attention.output.dense.weight").shape, [16, 8]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() rejects bad hyper-parameters and mismatched objectives", async () => {
  const data = toyClassification(4, 1);
  const objective = { kind: "classification" } as const;
  await assert.rejects(
    train(tinyBert(), { ...base, objective, train: data, epochs: 0 }),
    /epochs must be a positive integer/,
  );
  await assert.rejects(
    train(tinyBert(), { ...base, objective, train: data, epochs: 1, dropout: 1 }),
    /dropout must be in \[0, 1\)/,
  );
  await assert.rejects(train(tinyBert(), { ...base, objective, train: [], epochs: 1 }), /no training examples/);
  await assert.rejects(
    train(tinyBert(), { ...base, objective: { kind: "lm" }, train: data, epochs: 1 }),
    /BERT cannot be trained as a causal LM/,
  );
  await assert.rejects(train(tinyGpt2(), { ...base, objective, train: data, epochs: 1 }), /causal language models/);
  await assert.rejects(
    train(tinyBert(), { ...base, objective, train: [{ ids: [1, 2], tokenTypeIds: [0, 0] }], epochs: 1 }),
    /Example 0 has no label/,
  );
});

Deno.test("initWeights() follows HF's init: N(0, 0.02²) weights, unit LayerNorm, zero biases and [PAD] row", () => {
  const { config } = newConfig({ family: "bert", layers: 1, heads: 2, hidden: 64, vocabSize: 500, maxPositions: 16 });
  const w = initWeights(config, 1);
  const emb = w.get("bert.embeddings.word_embeddings.weight")!.data;
  assert.ok(emb.subarray(0, 64).every((x) => x === 0));
  let s = 0;
  for (let i = 64; i < emb.length; i++) s += emb[i]! * emb[i]!;
  const std = Math.sqrt(s / (emb.length - 64));
  assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`);
  assert.ok(w.get("bert.embeddings.LayerNorm.weight")!.data.every((x) => x === 1));
  assert.ok(w.get("classifier.bias")!.data.every((x) => x === 0));
  assert.throws(() => newConfig({ family: "bert", layers: 1, heads: 3, hidden: 8, vocabSize: 5 }), /not divisible/);
});

/** A tiny BertForMaskedLM over ids 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK], words 4..11. */
function tinyMaskedLM(seed = 1): TransformerModel {
  const { config } = newConfig({
    family: "bert",
    layers: 1,
    heads: 2,
    hidden: 16,
    intermediate: 32,
    vocabSize: 12,
    maxPositions: 16,
    maskedLM: true,
  });
  return new TransformerModel(config, initWeights(config, seed), createWasmKernels());
}

/** [CLS], one of 8 words repeated 4–9 times, [SEP]: a masked word is any unmasked word of its row (chance 1/8). */
function toyRepeats(n: number, seed: number): TrainExample[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const word = 4 + Math.floor(r() * 8), len = 4 + Math.floor(r() * 6);
    const ids = [1, ...Array.from({ length: len }, () => word), 2];
    return { ids, tokenTypeIds: ids.map(() => 0) };
  });
}

const masking = { maskId: 3, vocabSize: 12, special: new Set([0, 1, 2, 3]) };

Deno.test("train() with the MLM objective learns masked words; evaluate() reports accuracy and perplexity", async () => {
  const model = tinyMaskedLM();
  strictTask(model, "mlm");
  const objective = { kind: "mlm" as const, masking };
  const dev = toyRepeats(64, 2);
  const before = evaluate(model, dev, { objective });
  const dir = await Deno.makeTempDir();
  try {
    const result = await train(model, {
      ...base,
      objective,
      train: toyRepeats(256, 1),
      dev,
      epochs: 12,
      lr: 2e-2,
      checkpoint: { dir: join(dir, "out") },
    });
    const after = result.epochs.at(-1)!.dev!;
    assert.ok(
      after.metrics.accuracy! > 0.7,
      `masked-word accuracy ${after.metrics.accuracy} (before ${before.metrics.accuracy})`,
    );
    assert.ok(before.metrics.accuracy! < 0.3);
    assert.ok(Math.abs(after.metrics.perplexity! - Math.exp(after.loss)) < 1e-9);
    assert.strictEqual(result.bestMetric?.key, "perplexity");
    // the saved checkpoint is a BertForMaskedLM that scores the same
    const { model: reloaded } = await loadModel(localFiles(join(dir, "out", "last")), { tokenizer: false });
    strictTask(reloaded, "mlm");
    const again = evaluate(reloaded, dev, { objective });
    assert.ok(Math.abs(again.loss - after.loss) < 1e-5, `${again.loss} vs ${after.loss}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluate() with the MLM objective scores the same masked tokens whatever the batch size", () => {
  const model = tinyMaskedLM(3);
  const dev = toyRepeats(37, 5);
  const objective = { kind: "mlm" as const, masking };
  const [a, b, c] = [1, 8, 64].map((batchSize) => evaluate(model, dev, { objective, batchSize }));
  for (const other of [b!, c!]) {
    assert.strictEqual(other.metrics.tokens, a!.metrics.tokens);
    assert.strictEqual(other.metrics.accuracy, a!.metrics.accuracy);
    assert.ok(Math.abs(other.loss - a!.loss) < 1e-5, `${other.loss} vs ${a!.loss}`);
  }
});

Deno.test("train() refuses the MLM objective for a classifier and other objectives for a masked LM", async () => {
  const data = toyRepeats(8, 1);
  await assert.rejects(
    () => train(tinyBert(), { ...base, objective: { kind: "mlm", masking }, train: data, epochs: 1 }),
    /masked-LM training needs a masked-LM head \(BertForMaskedLM\); this is a classify model/,
  );
  await assert.rejects(
    () =>
      train(tinyMaskedLM(), {
        ...base,
        objective: { kind: "classification" },
        train: toyClassification(8, 1),
        epochs: 1,
      }),
    /a masked LM trains with objective "mlm", not "classification"/,
  );
});

function strictTask(model: TransformerModel, task: string): void {
  assert.strictEqual(model.task, task);
}

Deno.test("train() with saveEvery saves last mid-epoch (HF save_steps)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen: boolean[] = [];
    const exists = (p: string) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    };
    await train(tinyMaskedLM(), {
      ...base,
      objective: { kind: "mlm", masking },
      train: toyRepeats(64, 1),
      epochs: 1,
      checkpoint: { dir },
      saveEvery: 3,
      onStep: () => seen.push(exists(join(dir, "last", "config.json"))),
    });
    // 8 updates: nothing saved before update 3, then last/ exists before the epoch ends
    assert.deepStrictEqual(seen, [false, false, true, true, true, true, true, true]);
    await assert.rejects(
      () =>
        train(tinyMaskedLM(), {
          ...base,
          objective: { kind: "mlm", masking },
          train: toyRepeats(8, 1),
          epochs: 1,
          saveEvery: 1.5,
        }),
      /saveEvery must be a non-negative integer, got 1.5/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
