/**
 * The analyzer's API on every decoder family fixture (Llama with grouped-query attention, Qwen2, GPT-NeoX,
 * GPT-Neo) and the pretrained stories260K: the model card, the causal head view's analysis (no query sees a later
 * key), importance under the next-token loss, attribution and patching answer 200 with the model's shapes.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createApp } from "./app.ts";
import { fixture, post } from "../tests/helpers/web.ts";

const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);
const MODELS = [
  ...["llama-tiny-random", "qwen2-tiny-random", "gpt-neox-tiny-random", "gpt-neo-tiny-random"].map((n) =>
    path(`../tests/fixtures/families/models/${n}`)
  ),
  path("../models/stories260k"),
];

for (const dir of MODELS) {
  Deno.test(`web API on ${dir.split("/").pop()}: model, causal analyze, importance, attribute, patch`, async () => {
    const opts = await fixture(dir);
    const app = createApp(opts);
    const model = await (await app.fetch(new Request("http://localhost/api/model"))).json();
    strictEqual(model.task, "lm");
    const [L, H] = [model.layers as number, model.heads as number];

    const analyze = await app.fetch(post("/api/analyze", { text: "Lily saw a big red ball", word_level: true }));
    strictEqual(analyze.status, 200, await analyze.clone().text());
    const a = await analyze.json();
    deepStrictEqual([a.layers.length, a.heads.length, a.attention.length], [L, H, L]);
    // causal: every query row puts no attention on a later key, and sums to 1
    for (const layer of a.attention as number[][][][]) {
      for (const map of layer) {
        map.forEach((row, i) => {
          row.forEach((v, j) => j > i && strictEqual(v, 0, `query ${i} sees key ${j}`));
          ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-2, "the API rounds each weight");
        });
      }
    }

    const imp = await app.fetch(post("/api/importance", { examples: [{ text: "Lily saw a big red ball" }] }));
    strictEqual(imp.status, 200, await imp.clone().text());
    const importance = (await imp.json()).importance as number[][];
    deepStrictEqual([importance.length, importance[0]!.length], [L, H]);

    const attr = await app.fetch(post("/api/attribute", { text: "Lily saw a big red ball", method: "grad-input" }));
    strictEqual(attr.status, 200, await attr.clone().text());
    // a corrupted sentence of as many tokens as the clean one, under this tokenizer
    const clean = "Lily saw a big red ball", n = opts.tokenizer.encode(clean).ids.length;
    const names = ["Tom", "Sue", "Ben", "Max", "Anna", "Sam", "Tim", "Bob", "Lucy", "Mia", "Jack", "Amy", "Mom", "She"];
    const things = ["toy", "box", "cat", "dog", "car", "hat", "cup", "kite"];
    const corrupted = [...names.map((w) => clean.replace("Lily", w)), ...things.map((w) => clean.replace("ball", w))]
      .find((c) => opts.tokenizer.encode(c).ids.length === n);
    ok(corrupted !== undefined, "a corrupted sentence of the clean one's length");
    const patch = await app.fetch(post("/api/patch", { clean, corrupted }));
    strictEqual(patch.status, 200, await patch.clone().text());
    deepStrictEqual((await patch.json()).effect.length, L);
  });
}
