// `POST /api/attribute` and `POST /api/patch`: their contracts and errors, and the same numbers as
// `bertology attribute --json` and `bertology patch --json` on the bundled SST-2 BERT and the GPT-2 fixture.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { main as bertology } from "@bertology/cli";
import { createApp } from "./app.ts";
import { BERT_DIR, EMBEDDED_BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";

const sst2 = await fixture(EMBEDDED_BERT_DIR);
const app = createApp(sst2);
const gpt2App = createApp(await fixture(GPT2_DIR));
const tinyApp = createApp(await fixture(BERT_DIR));

/** Runs the CLI and returns its one line of JSON. */
async function cliJson(args: string[]): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (s: unknown) => lines.push(String(s));
  console.error = (s: unknown) => lines.push(String(s));
  try {
    strictEqual(await bertology([...args, "--json"]), 0, lines.join("\n"));
  } finally {
    Object.assign(console, { log, error });
  }
  return JSON.parse(lines.join("\n"));
}

async function answer(res: Response): Promise<Record<string, unknown>> {
  const body = await res.json();
  strictEqual(res.status, 200, JSON.stringify(body));
  return body;
}

async function expectError(res: Response, status: number, error: string, field: string): Promise<string> {
  const body = await res.json();
  strictEqual(res.status, status, JSON.stringify(body));
  strictEqual(body.error, error);
  strictEqual(body.field, field);
  ok(String(body.detail).includes(field.slice(0, 40)), `detail names ${field}: ${body.detail}`);
  return body.detail;
}

const TEXT = "a gripping , funny film";

for (
  const [method, extra] of [
    ["saliency", []],
    ["grad-input", []],
    ["ig", ["--steps", "20"]],
    ["ig", ["--steps", "8", "--baseline", "mask", "--target", "0"]],
  ] as const
) {
  Deno.test(`/api/attribute equals \`bertology attribute --json\` (${method} ${extra.join(" ")})`, async () => {
    const cli = await cliJson([
      "attribute",
      "--model",
      EMBEDDED_BERT_DIR,
      "--text",
      TEXT,
      "--method",
      method,
      ...extra,
    ]);
    const body: Record<string, unknown> = { text: TEXT, method };
    for (let i = 0; i < extra.length; i += 2) {
      const v = extra[i + 1]!;
      body[extra[i]!.slice(2)] = /^\d+$/.test(v) ? Number(v) : v;
    }
    const web = await answer(await app.fetch(post("/api/attribute", body)));
    for (const k of ["tokens", "target", "scores", "completeness_gap", "method", "words"]) {
      deepStrictEqual(web[k], cli[k], k);
    }
    strictEqual(web.target_name, sst2.model.config.labels[web.target as number]);
  });
}

Deno.test("/api/attribute explains a GPT-2 next token, named as a token", async () => {
  const cli = await cliJson(["attribute", "--model", GPT2_DIR, "--text", "the cat sat", "--method", "saliency"]);
  const web = await answer(await gpt2App.fetch(post("/api/attribute", { text: "the cat sat", method: "saliency" })));
  deepStrictEqual(web.scores, cli.scores);
  deepStrictEqual(web.target, cli.target);
  const byName = await answer(
    await gpt2App.fetch(post("/api/attribute", { text: "the cat sat", method: "saliency", target: web.target_name })),
  );
  strictEqual(byName.target, web.target);
});

Deno.test("/api/attribute: integrated gradients report their completeness gap, one word score per word", async () => {
  const a = await answer(await app.fetch(post("/api/attribute", { text: "an unbelievably dull movie", method: "ig" })));
  ok(typeof a.completeness_gap === "number" && a.completeness_gap < 0.05, String(a.completeness_gap));
  const tokens = a.tokens as string[], scores = a.scores as number[];
  strictEqual(scores.length, tokens.length);
  const words = a.words as { text: string; tokens: [number, number]; score: number }[];
  strictEqual(words.at(-1)!.tokens[1], tokens.length);
  for (const w of words) {
    const s = scores.slice(w.tokens[0], w.tokens[1]).reduce((x, y) => x + y, 0);
    ok(Math.abs(s - w.score) < 1e-6);
  }
  const sal = await answer(
    await app.fetch(post("/api/attribute", { text: "an unbelievably dull movie", method: "saliency" })),
  );
  strictEqual(sal.completeness_gap, undefined);
});

Deno.test("/api/attribute refuses bad fields, naming them", async () => {
  const bad = (body: unknown) => app.fetch(post("/api/attribute", body));
  await expectError(await bad({ method: "ig" }), 400, "invalid_field", "text");
  await expectError(await bad({ text: "hi" }), 400, "invalid_field", "method");
  await expectError(await bad({ text: "hi", method: "rollout" }), 400, "invalid_field", "method");
  await expectError(await bad({ text: "hi", method: "ig", steps: 201 }), 400, "invalid_field", "steps");
  await expectError(await bad({ text: "hi", method: "ig", steps: 2.5 }), 400, "invalid_field", "steps");
  await expectError(await bad({ text: "hi", method: "ig", steps: 0 }), 400, "invalid_field", "steps");
  await expectError(await bad({ text: "hi", method: "saliency", steps: 5 }), 400, "invalid_field", "steps");
  await expectError(await bad({ text: "hi", method: "ig", baseline: "blank" }), 400, "invalid_field", "baseline");
  await expectError(await bad({ text: "hi", method: "saliency", baseline: "pad" }), 400, "invalid_field", "baseline");
  await expectError(await bad({ text: "hi", method: "saliency", target: -1 }), 400, "invalid_field", "target");
  await expectError(await bad({ text: "hi", method: "saliency", target: 2 }), 422, "invalid_field", "target");
  await expectError(await bad({ text: "hi", method: "saliency", target: "neutral" }), 422, "invalid_field", "target");
  const detail = await expectError(
    await bad({ text: "hi", method: "saliency", ["x".repeat(500)]: 1 }),
    400,
    "invalid_field",
    "x".repeat(80) + "…",
  );
  ok(detail.length < 300, detail);
  await expectError(await bad({ text: "hi", method: "saliency", text_pair: 3 }), 400, "invalid_field", "text_pair");
  await expectError(await bad({ text: "word ".repeat(300), method: "saliency" }), 422, "too_many_tokens", "text");
});

Deno.test("/api/patch equals `bertology patch --json`", async () => {
  const clean = "a gripping , funny film", corrupted = "a boring , funny film";
  const cli = await cliJson(["patch", "--model", EMBEDDED_BERT_DIR, "--clean", clean, "--corrupted", corrupted]);
  const web = await answer(await app.fetch(post("/api/patch", { clean, corrupted })));
  for (const k of ["effect", "logit_diff_clean", "logit_diff_corrupted", "target", "other", "mlp"]) {
    deepStrictEqual(web[k], cli[k], k);
  }
  const { layers: L, heads: H } = sst2.model.config;
  const effect = web.effect as number[][];
  strictEqual(effect.length, L);
  for (const row of effect) strictEqual(row.length, H);
  strictEqual((web.tokens_clean as string[]).length, (web.tokens_corrupted as string[]).length);
  const withTarget = await cliJson([
    "patch",
    "--model",
    EMBEDDED_BERT_DIR,
    "--clean",
    clean,
    "--corrupted",
    corrupted,
    "--target",
    "0",
  ]);
  const webTarget = await answer(await app.fetch(post("/api/patch", { clean, corrupted, target: 0 })));
  deepStrictEqual(webTarget.effect, withTarget.effect);
});

Deno.test("/api/attribute and /api/patch take POST with a JSON body only", async () => {
  for (const path of ["/api/attribute", "/api/patch"]) {
    const get = await app.fetch(new Request(`http://localhost${path}`));
    strictEqual(get.status, 405);
    strictEqual(get.headers.get("allow"), "POST");
    await get.body?.cancel();
    const text = await app.fetch(
      new Request(`http://localhost${path}`, { method: "POST", body: "x", headers: { "content-type": "text/plain" } }),
    );
    strictEqual(text.status, 415);
    await text.body?.cancel();
    await expectError(await app.fetch(post(path, "{")), 400, "invalid_json", "body");
  }
});

Deno.test("/api/patch refuses sentences of different token counts, naming the field", async () => {
  const bad = (body: unknown) => app.fetch(post("/api/patch", body));
  const d = await expectError(
    await bad({ clean: "a gripping film", corrupted: "a gripping and funny film" }),
    422,
    "invalid_field",
    "corrupted",
  );
  ok(d.includes("as many tokens"), d);
  await expectError(await bad({ clean: "a fine film", corrupted: "a fine film" }), 422, "invalid_field", "corrupted");
  await expectError(await bad({ corrupted: "a fine film" }), 400, "invalid_field", "clean");
  await expectError(await bad({ clean: "a fine film" }), 400, "invalid_field", "corrupted");
  await expectError(await bad({ clean: "a", corrupted: "b", other: 1 }), 400, "invalid_field", "other");
  await expectError(await bad({ clean: "a", corrupted: "b", target: [1] }), 400, "invalid_field", "target");
});

Deno.test("/api/patch and word-level /api/analyze mark pruned heads null", async () => {
  const web = await answer(await tinyApp.fetch(post("/api/patch", { clean: "the cat sat", corrupted: "the dog sat" })));
  for (const row of web.effect as (number | null)[][]) for (const v of row) ok(typeof v === "number");
  const { pruneModel } = await import("@bertology/core/bertology");
  const tiny = await fixture(BERT_DIR);
  const pruned = createApp({ ...tiny, model: pruneModel(tiny.model, { 1: [0, 2] }, tiny.model.kernels) });
  try {
    const p = await answer(await pruned.fetch(post("/api/patch", { clean: "the cat sat", corrupted: "the dog sat" })));
    const effect = p.effect as (number | null)[][];
    deepStrictEqual(effect[1]!.map((v) => v === null), [true, false, true, false]);
    for (const l of [0, 2]) for (const v of effect[l]!) ok(typeof v === "number");
    const a = await answer(await pruned.fetch(post("/api/analyze", { text: "the cat sat", word_level: true })));
    const stats = a.stats as Record<string, (number | null)[][]>;
    deepStrictEqual(stats.self![1]!.map((v) => v === null), [true, false, true, false]);
    const wl = a.word_level as { attention: (unknown[] | null)[][]; stats: Record<string, (number | null)[][]> };
    deepStrictEqual(wl.attention[1]!.map((m) => m === null), [true, false, true, false]);
    deepStrictEqual(wl.stats.entropy![1]!.map((v) => v === null), [true, false, true, false]);
    const at = await answer(await pruned.fetch(post("/api/attribute", { text: "the cat sat", method: "grad-input" })));
    strictEqual((at.scores as number[]).length, (at.tokens as string[]).length);
  } finally {
    pruned.close?.();
  }
});

Deno.test({
  name: "close the apps",
  fn() {
    app.close?.();
    gpt2App.close?.();
    tinyApp.close?.();
  },
});
