import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { loadModel } from "../models/load.ts";
import { localFiles } from "../checkpoint/local_files.ts";
import { type AttentionInput, type ExampleAttention, forEachAttention } from "./attention_maps.ts";
import { ATTENTION_STATS, AttentionStatsMeter } from "./attention_stats.ts";
import { encodeWords } from "./word_alignment.ts";

const close = (a: number, b: number, tol = 1e-12) => ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Random row-stochastic maps [heads, n, n]. */
function randomMaps(heads: number, n: number, seed: number): Float64Array {
  let s = seed;
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) + 1e-3;
  const m = new Float64Array(heads * n * n);
  for (let r = 0; r < heads * n; r++) {
    let z = 0;
    for (let j = 0; j < n; j++) z += m[r * n + j] = u();
    for (let j = 0; j < n; j++) m[r * n + j]! /= z;
  }
  return m;
}

Deno.test("AttentionStatsMeter gives 1 for the one-hot pattern each statistic measures", () => {
  const n = 4, flags = { sep: Uint8Array.of(0, 0, 0, 1), punct: Uint8Array.of(0, 0, 1, 0) };
  const oneHot = (col: (i: number) => number) => {
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) m[i * n + col(i)] = 1;
    return m;
  };
  const heads = [
    oneHot((i) => i),
    oneHot((i) => Math.min(i + 1, n - 1)),
    oneHot(() => 0),
    oneHot(() => 3),
    oneHot(() => 2),
  ];
  const maps = new Float64Array(heads.length * n * n);
  heads.forEach((h, k) => maps.set(h, k * n * n));
  const m = new AttentionStatsMeter(heads.length);
  m.add({ n, maps }, flags);
  const r = m.result();
  deepStrictEqual([...r.self], [1, 0.25, 0.25, 0.25, 0.25]);
  deepStrictEqual([...r.next], [0, 0.75, 0, 0.25, 0.25]); // the last query has no next token
  deepStrictEqual([...r.prev], [0, 0, 0.25, 0, 0.25]);
  deepStrictEqual([...r.cls], [0.25, 0, 1, 0, 0]);
  deepStrictEqual([...r.sep], [0.25, 0.5, 0, 1, 0]);
  deepStrictEqual([...r.punct], [0.25, 0.25, 0, 0, 1]);
  deepStrictEqual([...r.entropy], [0, 0, 0, 0, 0]);
  deepStrictEqual([...r.cls_entropy], [0, 0, 0, 0, 0]);
});

Deno.test("AttentionStatsMeter matches a plain reference on random maps over several examples", () => {
  const H = 3, exs: { ex: ExampleAttention; sep: Uint8Array; punct: Uint8Array }[] = [];
  for (const [n, seed] of [[5, 1], [2, 7], [7, 3]] as const) {
    const sep = Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0));
    const punct = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 1 : 0));
    exs.push({ ex: { n, maps: randomMaps(H, n, seed) }, sep, punct });
  }
  const m = new AttentionStatsMeter(H);
  for (const e of exs) m.add(e.ex, e);
  const r = m.result();
  for (let h = 0; h < H; h++) {
    const ref: Record<string, number> = Object.fromEntries(ATTENTION_STATS.map((k) => [k, 0]));
    let q = 0;
    for (const { ex, sep, punct } of exs) {
      const at = (i: number, j: number) => (j >= 0 && j < ex.n ? ex.maps[(h * ex.n + i) * ex.n + j]! : 0);
      for (let i = 0; i < ex.n; i++, q++) {
        ref.self! += at(i, i);
        ref.next! += at(i, i + 1);
        ref.prev! += at(i, i - 1);
        ref.cls! += at(i, 0);
        let e = 0;
        for (let j = 0; j < ex.n; j++) {
          ref.sep! += sep[j]! * at(i, j);
          ref.punct! += punct[j]! * at(i, j);
          e += -at(i, j) * Math.log(at(i, j));
        }
        ref.entropy! += e;
        if (i === 0) ref.cls_entropy! += e / exs.length;
      }
    }
    for (const k of ATTENTION_STATS) close(r[k][h]!, k === "cls_entropy" ? ref[k]! : ref[k]! / q, 1e-12);
  }
  strictEqual(m.examples, 3);
});

Deno.test("AttentionStatsMeter: uniform rows have entropy ln n; mismatched inputs and no examples are errors", () => {
  const m = new AttentionStatsMeter(1);
  m.add({ n: 4, maps: new Float64Array(16).fill(0.25) }, { sep: new Uint8Array(4), punct: new Uint8Array(4) });
  close(m.result().entropy[0]!, Math.log(4));
  throws(
    () => m.add({ n: 3, maps: new Float64Array(8) }, { sep: new Uint8Array(3), punct: new Uint8Array(3) }),
    /expected 1·3·3/,
  );
  throws(() => new AttentionStatsMeter(2).result(), /No examples/);
});

Deno.test("forEachAttention() cuts padding off: a padded example gives the maps it gives alone; word level on pieces", async () => {
  const { model, tokenizer } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"));
  const { layers: L, heads: H } = model.config;
  const inputs: AttentionInput[] = [{ ids: [2, 45, 3] }, { ids: [2, 45, 46, 47, 48, 3] }];
  const together: ExampleAttention[] = [], alone: ExampleAttention[] = [];
  forEachAttention(model, inputs, (ex) => together.push(ex), { batchSize: 2 });
  forEachAttention(model, inputs, (ex) => alone.push(ex), { batchSize: 1 });
  deepStrictEqual(together.map((e) => e.n), [3, 6]);
  strictEqual(together[0]!.maps.length, L * H * 9);
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < together[i]!.maps.length; k++) close(together[i]!.maps[k]!, alone[i]!.maps[k]!, 1e-5);
  }
  for (let r = 0; r < L * H * 3; r++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += together[0]!.maps[r * 3 + j]!;
    close(s, 1, 1e-5); // padding took no mass
  }
  const e = encodeWords(tokenizer!, ["unaffable", "runs"])!;
  const words: ExampleAttention[] = [], pieces: ExampleAttention[] = [];
  forEachAttention(model, [{ ids: e.ids, words: e.words }], (ex) => words.push(ex));
  forEachAttention(model, [{ ids: e.ids }], (ex) => pieces.push(ex));
  strictEqual(words[0]!.n, e.words.length);
  const T = e.ids.length, W = e.words.length;
  const w1 = e.words[1]!; // a split word (several pieces) → the mean over its query rows, summed over key pieces
  let ref = 0;
  for (let i = w1.start; i < w1.end; i++) ref += pieces[0]!.maps[i * T + 0]! / (w1.end - w1.start);
  close(words[0]!.maps[1 * W + 0]!, ref, 1e-6);
});
