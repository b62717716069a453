import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { mulberry32 } from "../rng.ts";
import { type MaskingOptions, maskRows, maskTokens } from "./mlm_masking.ts";

// ids: 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK]; words 10..99; ids ≥ 100 continue a word ("##…")
const opts: MaskingOptions = { maskId: 3, vocabSize: 200, special: new Set([0, 1, 2, 3]) };

function randomBatch(B: number, T: number, seed: number) {
  const r = mulberry32(seed);
  const inputIds = new Int32Array(B * T), attentionMask = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 3 + Math.floor(r() * (T - 2));
    for (let t = 0; t < len; t++) {
      inputIds[b * T + t] = t === 0
        ? 1
        : t === len - 1
        ? 2
        : r() < 0.3
        ? 100 + Math.floor(r() * 99)
        : 10 + Math.floor(r() * 90);
      attentionMask[b * T + t] = 1;
    }
  }
  return { batchSize: B, seqLen: T, inputIds, attentionMask };
}

Deno.test("maskTokens() chooses ~15 % of real tokens, never special ones or padding, and splits 80/10/10", () => {
  const batch = randomBatch(400, 40, 1);
  const { inputIds, labels, chosen } = maskTokens(batch, opts, 7);
  let maskable = 0, masked = 0, kept = 0, random = 0;
  for (let i = 0; i < labels.length; i++) {
    const id = batch.inputIds[i]!, real = batch.attentionMask[i] === 1 && !opts.special.has(id);
    if (real) maskable++;
    if (labels[i] === -100) {
      strictEqual(inputIds[i], id, "a position not chosen is left as it was");
      continue;
    }
    ok(real, `position ${i} (id ${id}, mask ${batch.attentionMask[i]}) must not be chosen`);
    strictEqual(labels[i], id, "the label is the original id");
    if (inputIds[i] === 3) masked++;
    else if (inputIds[i] === id) kept++;
    else random++;
  }
  strictEqual(masked + kept + random, chosen);
  const rate = chosen / maskable;
  ok(Math.abs(rate - 0.15) < 0.01, `chosen fraction ${rate}`);
  ok(Math.abs(masked / chosen - 0.8) < 0.02, `[MASK] fraction ${masked / chosen}`);
  // a random replacement can draw the original id (1/200), so "kept" is a little over 10 %
  ok(Math.abs(kept / chosen - 0.1) < 0.02 && Math.abs(random / chosen - 0.1) < 0.02, `${kept} kept, ${random} random`);
});

Deno.test("maskTokens() is seeded: the same seed gives the same masks, another seed others", () => {
  const batch = randomBatch(20, 16, 2);
  deepStrictEqual(maskTokens(batch, opts, 5), maskTokens(batch, opts, 5));
  ok(maskTokens(batch, opts, 5).labels.some((v, i) => v !== maskTokens(batch, opts, 6).labels[i]));
});

Deno.test("maskTokens() with whole words chooses every piece of a word or none", () => {
  const batch = randomBatch(300, 30, 3);
  const { labels } = maskTokens(batch, { ...opts, continuesWord: (id) => id >= 100, probability: 0.3 }, 9);
  let pieces = 0;
  for (let i = 1; i < labels.length; i++) {
    if (batch.inputIds[i]! >= 100 && batch.inputIds[i - 1]! >= 10) {
      pieces++;
      strictEqual(labels[i] === -100, labels[i - 1] === -100, `piece at ${i} chosen apart from its word`);
    }
  }
  ok(pieces > 100, `the batch has continuation pieces (${pieces})`);
});

Deno.test("maskTokens() chooses at least one token, and refuses a bad probability or mask id", () => {
  const batch = { batchSize: 1, seqLen: 3, inputIds: Int32Array.of(1, 42, 2) };
  for (let seed = 0; seed < 20; seed++) {
    deepStrictEqual([...maskTokens(batch, { ...opts, probability: 0.01 }, seed).labels], [-100, 42, -100]);
  }
  throws(() => maskTokens(batch, { ...opts, probability: 1.5 }, 1), /probability must be in \(0, 1\), got 1.5/);
  throws(() => maskTokens(batch, { ...opts, maskId: 500 }, 1), /maskId 500 is outside the vocabulary/);
});

Deno.test("maskRows() masks each row by its own seed: the same row gets the same corruption in any batch, any padding", () => {
  const opts: MaskingOptions = { maskId: 3, vocabSize: 50, special: new Set([0, 1, 2]) };
  const rows = [[1, 5, 6, 7, 8, 9, 10, 2], [1, 11, 12, 2], [1, 13, 14, 15, 16, 2]];
  const batchOf = (order: number[], T: number) => {
    const inputIds = new Int32Array(order.length * T), attentionMask = new Int32Array(order.length * T);
    order.forEach((e, b) => {
      inputIds.set(rows[e]!, b * T);
      attentionMask.fill(1, b * T, b * T + rows[e]!.length);
    });
    return { batchSize: order.length, seqLen: T, inputIds, attentionMask };
  };
  const rowOf = (
    m: { inputIds: Int32Array; labels: Int32Array },
    b: number,
    T: number,
    n: number,
  ) => [[...m.inputIds.subarray(b * T, b * T + n)], [...m.labels.subarray(b * T, b * T + n)]];
  const alone = rows.map((r, e) => rowOf(maskRows(batchOf([e], r.length), opts, () => 100 + e), 0, r.length, r.length));
  for (const [order, T] of [[[2, 0, 1], 8], [[1, 2], 12], [[0], 9]] as const) {
    const m = maskRows(batchOf([...order], T), opts, (r) => 100 + order[r]!);
    order.forEach((e, b) => deepStrictEqual(rowOf(m, b, T, rows[e]!.length), alone[e], `example ${e} in ${order}`));
    for (let b = 0; b < order.length; b++) {
      for (let t = rows[order[b]!]!.length; t < T; t++) {
        strictEqual(m.labels[b * T + t], -100, "padding is never chosen");
      }
    }
  }
  ok(alone.every(([, labels]) => labels!.some((l) => l !== -100)), "every row gets at least one chosen token");
});
