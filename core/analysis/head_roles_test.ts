import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { localFiles } from "../checkpoint/local_files.ts";
import { pruneModel } from "../bertology/prune.ts";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { loadModel } from "../models/load.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { attentionSinks, headRoles, repeatedTokenRows, tokenUnitFlags } from "./head_roles.ts";

Deno.test("repeatedTokenRows: BOS + r + r, seeded, never a special token", () => {
  const opts = { repeatLen: 6, rows: 5, seed: 3, bos: 7, exclude: new Set([7, 0, 1]) };
  const rows = repeatedTokenRows(20, opts);
  deepStrictEqual(rows, repeatedTokenRows(20, opts));
  for (const r of rows) {
    deepStrictEqual([r.length, r[0]], [13, 7]);
    deepStrictEqual(r.slice(1, 7), r.slice(7));
    ok(r.slice(1).every((t) => !opts.exclude.has(t) && t >= 0 && t < 20));
  }
  ok(rows.some((r) => r.join() !== rows[0]!.join()), "rows differ");
  throws(() => repeatedTokenRows(2, { ...opts, exclude: new Set([0, 1]) }), /nothing to draw/);
  throws(() => repeatedTokenRows(20, { ...opts, repeatLen: 0 }), /repeatLen must be a positive integer/);
});

Deno.test("headRoles: the attention on t−1, t−len, t−len+1 of the second repeat, and the two repeats' losses (GPT-2)", async () => {
  const { model } = await loadModel(localFiles(fixtureModel("gpt2-tiny-random")), { tokenizer: false });
  const rows = repeatedTokenRows(model.config.vocabSize, {
    repeatLen: 5,
    rows: 3,
    seed: 1,
    bos: 0,
    exclude: new Set([0]),
  });
  const roles = headRoles(model, rows, 2);
  const { layers: L, heads: H } = model.config, T = 11, len = 5;
  deepStrictEqual([roles.layers, roles.heads, roles.repeatLen, roles.rows, roles.induction.length], [
    L,
    H,
    5,
    3,
    L * H,
  ]);
  // one head by hand, from the attentions of a plain run
  const batch = { batchSize: 3, seqLen: T, inputIds: Int32Array.from(rows.flat()) };
  const a = model.run({ batch, names: ["attentions.2"] }).cache.get(model.resolveName("attentions.2"))!.data;
  const h = 1;
  let prev = 0, dup = 0, ind = 0;
  for (let b = 0; b < 3; b++) {
    for (let t = len + 1; t <= 2 * len; t++) {
      const row = ((b * H + h) * T + t) * T;
      prev += a[row + t - 1]!, dup += a[row + t - len]!, ind += a[row + t - len + 1]!;
    }
  }
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-9;
  ok(close(roles.previousToken[2 * H + h]!, prev / 15) && close(roles.duplicateToken[2 * H + h]!, dup / 15));
  ok(close(roles.induction[2 * H + h]!, ind / 15));
  // the two repeats' mean losses average to the model's next-token loss over every position
  const loss = model.run({ batch, labels: "lm" }).loss!;
  ok(Math.abs((roles.lossFirstRepeat! + roles.lossSecondRepeat!) / 2 - loss) <= 1e-4);
  // a pruned head scores NaN; the others are unchanged
  const pruned = headRoles(pruneModel(model, { 2: [1] }, createWasmKernels()), rows, 2);
  ok(Number.isNaN(pruned.induction[2 * H + 1]!));
  ok(close(pruned.induction[0]!, roles.induction[0]!));
  throws(() => headRoles(model, [[0, 1, 2, 3, 2]]), /repeats differ/);
  throws(() => headRoles(model, [[0, 1, 1], [0, 1, 1, 1]]), /BOS \+ r \+ r/);
});

Deno.test("attentionSinks: Clark's mean attention on [CLS], [SEP] and punctuation per head (BERT)", async () => {
  const { model, tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const tok = tokenizer!;
  const inputs = ["a film , slow .", "no", "the movie was fine , really ."].map((t) => tok.encode(t));
  const flags = inputs.map((e) => tokenUnitFlags(tok, e.ids));
  // [CLS] a film , slow . [SEP]: the separator is last, "," and "." are flagged
  deepStrictEqual([...flags[0]!.sep], [0, 0, 0, 0, 0, 0, 1]);
  deepStrictEqual([...flags[0]!.punct], [0, 0, 0, 1, 0, 1, 0]);
  const sinks = attentionSinks(model, inputs, flags, { batchSize: 2, padId: tok.padId });
  const { layers: L, heads: H } = model.config;
  deepStrictEqual([sinks.examples, sinks.cls.length, sinks.sep.length, sinks.punct.length], [3, L * H, L * H, L * H]);
  // one head by hand, each example run alone (no padding)
  const l = 1, h = 2;
  let cls = 0, sep = 0, punct = 0, queries = 0;
  inputs.forEach((e, k) => {
    const T = e.ids.length;
    const batch = {
      batchSize: 1,
      seqLen: T,
      inputIds: Int32Array.from(e.ids),
      tokenTypeIds: Int32Array.from(e.tokenTypeIds),
    };
    const a = model.run({ batch, names: [`attentions.${l}`] }).cache.get(model.resolveName(`attentions.${l}`))!.data;
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      cls += a[row]!;
      for (let j = 0; j < T; j++) {
        if (flags[k]!.sep[j]) sep += a[row + j]!;
        if (flags[k]!.punct[j]) punct += a[row + j]!;
      }
    }
    queries += T;
  });
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-6;
  ok(close(sinks.cls[l * H + h]!, cls / queries), `cls ${sinks.cls[l * H + h]} vs ${cls / queries}`);
  ok(close(sinks.sep[l * H + h]!, sep / queries) && close(sinks.punct[l * H + h]!, punct / queries));
  ok(punct > 0 && sep > 0, "the text has separators and punctuation");
  throws(() => attentionSinks(model, inputs, flags.slice(1)), /2 flag sets for 3 examples/);
  throws(() => attentionSinks(pruneModel(model, { 0: [1] }, createWasmKernels()), inputs, flags), /pruned heads/);
});
