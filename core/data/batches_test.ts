import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { makeBatches, type PaddedBatch } from "./batches.ts";

const enc = (ids: number[], types?: number[]) => ({ ids, tokenTypeIds: types ?? ids.map(() => 0) });

Deno.test("makeBatches() pads on the right in file order, per batch", () => {
  const batches = makeBatches([enc([1, 2, 3], [0, 0, 1]), enc([4]), enc([5, 6])], {
    batchSize: 2,
    padId: 9,
    labels: [1, 0, 1],
  });
  strictEqual(batches.length, 2);
  const [a, b] = batches as [PaddedBatch, PaddedBatch];
  deepStrictEqual([a.batchSize, a.seqLen], [2, 3]);
  deepStrictEqual([...a.inputIds], [1, 2, 3, 4, 9, 9]);
  deepStrictEqual([...a.attentionMask], [1, 1, 1, 1, 0, 0]);
  deepStrictEqual([...a.tokenTypeIds], [0, 0, 1, 0, 0, 0]);
  deepStrictEqual(a.labels, new Int32Array([1, 0]));
  deepStrictEqual([b.batchSize, b.seqLen], [1, 2]);
  deepStrictEqual([...b.inputIds], [5, 6]);
  deepStrictEqual(b.labels, new Int32Array([1]));
});

Deno.test("makeBatches() pads to a fixed seqLen and stores regression labels as floats", () => {
  const [batch] = makeBatches([[101, 102]], { batchSize: 4, seqLen: 4, labels: [3.8], outputMode: "regression" });
  deepStrictEqual([...batch!.inputIds], [101, 102, 0, 0]);
  deepStrictEqual([...batch!.tokenTypeIds], [0, 0, 0, 0]);
  deepStrictEqual(batch!.labels, new Float32Array([3.8]));
});

Deno.test("makeBatches() returns no batches and undefined labels when there is nothing to label", () => {
  deepStrictEqual(makeBatches([], { batchSize: 2 }), []);
  strictEqual(makeBatches([[1]], { batchSize: 2 })[0]!.labels, undefined);
});

Deno.test("makeBatches() throws on invalid inputs", () => {
  throws(() => makeBatches([[1]], { batchSize: 0 }), /Invalid batchSize 0/);
  throws(() => makeBatches([[1]], { batchSize: 1, seqLen: 0 }), /Invalid seqLen 0/);
  throws(() => makeBatches([[1, 2, 3]], { batchSize: 1, seqLen: 2 }), /Input 0 has 3 tokens, more than seqLen 2/);
  throws(() => makeBatches([[1], []], { batchSize: 1 }), /Input 1 has no tokens/);
  throws(() => makeBatches([enc([1, 2], [0])], { batchSize: 1 }), /Input 0 has 2 ids but 1 tokenTypeIds/);
  throws(() => makeBatches([[1.5]], { batchSize: 1 }), /Input 0 position 0: ids and tokenTypeIds must be integers/);
  throws(() => makeBatches([[1]], { batchSize: 1, labels: [0, 1] }), /Got 2 labels for 1 inputs/);
  throws(() => makeBatches([[1]], { batchSize: 1, labels: [0.5] }), /Label 0 is 0.5: expected an integer class id/);
});

Deno.test("makeBatches() with bucket batches by length, trims each batch to its longest row and names the rows", () => {
  const inputs = [enc([1, 2, 3, 4]), enc([5]), enc([6, 7, 8]), enc([9, 10]), enc([11])];
  const batches = makeBatches(inputs, { batchSize: 2, labels: [0, 1, 2, 3, 4], bucket: true });
  deepStrictEqual(batches.map((b) => b.rows), [[1, 4], [3, 2], [0]]);
  deepStrictEqual(batches.map((b) => b.seqLen), [1, 3, 4]);
  deepStrictEqual([...batches[1]!.inputIds], [9, 10, 0, 6, 7, 8]);
  deepStrictEqual(batches.map((b) => [...b.labels!]), [[1, 4], [3, 2], [0]]);
  // every input exactly once, and without bucketing the rows are in input order
  deepStrictEqual(batches.flatMap((b) => b.rows).sort(), [0, 1, 2, 3, 4]);
  deepStrictEqual(makeBatches(inputs, { batchSize: 2 }).map((b) => b.rows), [[0, 1], [2, 3], [4]]);
  const padded = makeBatches(inputs, { batchSize: 2, bucket: true });
  deepStrictEqual(padded.reduce((n, b) => n + b.batchSize * b.seqLen, 0), 2 + 6 + 4);
});
