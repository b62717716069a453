/**
 * The analyzer's API on every encoder family fixture: the model card, the head view's analysis, importance
 * with a label, attribution and patching answer 200 with shapes of the model's layers and heads.
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { createApp } from "./app.ts";
import { fixture, post } from "../tests/helpers/web.ts";

const FAMILIES = ["roberta-tiny-random", "distilbert-tiny-random", "electra-tiny-random", "albert-tiny-random"];

for (const name of FAMILIES) {
  Deno.test(`web API on ${name}: model, analyze, importance, attribute, patch`, async () => {
    const dir = decodeURIComponent(new URL(`../tests/fixtures/families/models/${name}`, import.meta.url).pathname);
    const app = createApp(await fixture(dir));
    const model = await (await app.fetch(new Request("http://localhost/api/model"))).json();
    deepStrictEqual([model.layers, model.heads, model.task, model.has_classifier], [3, 4, "classify", true]);

    const analyze = await app.fetch(post("/api/analyze", { text: "it is a good film", word_level: true }));
    strictEqual(analyze.status, 200, await analyze.clone().text());
    const a = await analyze.json();
    deepStrictEqual([a.layers.length, a.heads.length, a.attention.length], [3, 4, 3]);
    strictEqual(a.probabilities.length, 2);

    const imp = await app.fetch(
      post("/api/importance", { examples: [{ text: "it is a good film", label: model.labels[1] }] }),
    );
    strictEqual(imp.status, 200, await imp.clone().text());
    const importance = (await imp.json()).importance as number[][];
    deepStrictEqual([importance.length, importance[0]!.length], [3, 4]);

    const attr = await app.fetch(post("/api/attribute", { text: "it is a good film", method: "grad-input" }));
    strictEqual(attr.status, 200, await attr.clone().text());
    const patch = await app.fetch(post("/api/patch", { clean: "it is a good film", corrupted: "it is a bad film" }));
    strictEqual(patch.status, 200, await patch.clone().text());
    deepStrictEqual((await patch.json()).effect.length, 3);
  });
}
