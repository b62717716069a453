// `POST /api/analyze` with `word_level: true`: word-level maps (Clark et al.'s rule) and per-head statistics of
// the sentence; without it, the answer keeps exactly its old fields. Also: the new compute kinds run on the worker.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { createApp } from "./app.ts";
import { BERT_DIR, EMBEDDED_BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";

const bert = await fixture(EMBEDDED_BERT_DIR);
const app = createApp(bert);
const { layers: L, heads: H } = bert.model.config;
const STATS = ["self", "next", "prev", "cls", "sep", "punct", "entropy", "cls_entropy"];

async function analyze(a: typeof app, body: unknown): Promise<Record<string, unknown>> {
  const res = await a.fetch(post("/api/analyze", body));
  const out = await res.json();
  strictEqual(res.status, 200, JSON.stringify(out));
  return out;
}

Deno.test("/api/analyze without word_level keeps its fields", async () => {
  const a = await analyze(app, { text: "an unbelievably dull movie ." });
  deepStrictEqual(Object.keys(a).sort(), [
    "attention",
    "elapsed_ms",
    "entropy",
    "heads",
    "hidden_norms",
    "input_ids",
    "layers",
    "logits",
    "next_token",
    "probabilities",
    "token_type_ids",
    "tokens",
  ]);
  const b = await analyze(app, { text: "an unbelievably dull movie .", word_level: false });
  strictEqual(b.word_level, undefined);
});

Deno.test("/api/analyze word_level: words, [layers][heads][W][W] maps by Clark's rule, statistics [L][H]", async () => {
  const a = await analyze(app, { text: "an unbelievably dull movie .", word_level: true, layers: [1], heads: [0, 3] });
  const tokens = a.tokens as string[];
  ok(tokens.some((t) => t.startsWith("##")), `a split word: ${tokens.join(" ")}`);
  const wl = a.word_level as {
    words: { text: string; start: number; end: number }[];
    attention: number[][][][];
    stats: Record<string, number[][]>;
  };
  const W = wl.words.length;
  ok(W < tokens.length);
  deepStrictEqual(wl.words.map((w) => w.text), ["[CLS]", "an", "unbelievably", "dull", "movie", ".", "[SEP]"]);
  strictEqual(wl.words[0]!.start, 0);
  strictEqual(wl.words.at(-1)!.end, tokens.length);
  strictEqual(wl.attention.length, 1);
  strictEqual(wl.attention[0]!.length, 2);
  const tokenMaps = a.attention as number[][][][];
  wl.attention[0]!.forEach((map, k) => {
    strictEqual(map.length, W);
    const tok = tokenMaps[0]![k]!;
    map.forEach((row, i) => {
      strictEqual(row.length, W);
      ok(Math.abs(row.reduce((x, y) => x + y, 0) - 1) < 2e-3, "rows sum to 1");
      row.forEach((v, j) => {
        // from = mean over the query word's pieces, to = sum over the key word's pieces
        const wi = wl.words[i]!, wj = wl.words[j]!;
        let s = 0;
        for (let p = wi.start; p < wi.end; p++) for (let q = wj.start; q < wj.end; q++) s += tok[p]![q]!;
        ok(Math.abs(v - s / (wi.end - wi.start)) < 2e-3, `[${i}][${j}] ${v} vs ${s}`);
      });
    });
  });
  for (const stats of [a.stats as Record<string, number[][]>, wl.stats]) {
    deepStrictEqual(Object.keys(stats).sort(), [...STATS].sort());
    for (const k of STATS) {
      strictEqual(stats[k]!.length, L);
      for (const row of stats[k]!) {
        strictEqual(row.length, H);
        for (const v of row) {
          ok(typeof v === "number" && v >= 0 && (k.includes("entropy") || v <= 1 + 1e-3), `${k} ${v}`);
        }
      }
    }
  }
  // every token row puts its mass somewhere: self + others; [SEP] is one unit at the end
  const s = a.stats as Record<string, number[][]>;
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) ok(s.cls![l]![h]! + s.sep![l]![h]! <= 1 + 1e-3);
});

Deno.test("/api/analyze word_level: refuses a non-boolean, naming the field", async () => {
  const res = await app.fetch(post("/api/analyze", { text: "hi", word_level: "yes" }));
  const body = await res.json();
  strictEqual(res.status, 400);
  strictEqual(body.field, "word_level");
  ok(body.detail.includes("word_level"));
});

Deno.test("/api/analyze word_level on GPT-2: words from Ġ-marked pieces, no separators", async () => {
  const g = createApp(await fixture(GPT2_DIR));
  try {
    const a = await analyze(g, { text: "the cat sat on the mat", word_level: true });
    const wl = a.word_level as { words: { text: string }[]; stats: Record<string, number[][]> };
    deepStrictEqual(wl.words.map((w) => w.text), ["the", "cat", "sat", "on", "the", "mat"]);
    for (const row of wl.stats.sep!) for (const v of row) strictEqual(v, 0);
  } finally {
    g.close?.();
  }
});

Deno.test("attribute, patch and word-level analyze run on the compute worker", async () => {
  const { model, tokenizer, files } = await loadModel(localFiles(BERT_DIR));
  const w = createApp({ model, tokenizer: tokenizer!, files });
  const inline = createApp({ model, tokenizer: tokenizer! });
  try {
    for (
      const [path, body] of [
        ["/api/attribute", { text: "the cat sat", method: "ig", steps: 5 }],
        ["/api/patch", { clean: "the cat sat", corrupted: "the dog sat" }],
        ["/api/analyze", { text: "the cat sat", word_level: true }],
      ] as const
    ) {
      const a = await (await w.fetch(post(path, body))).json();
      const b = await (await inline.fetch(post(path, body))).json();
      delete a.elapsed_ms;
      delete b.elapsed_ms;
      deepStrictEqual(a, b, path);
    }
  } finally {
    w.close?.();
    inline.close?.();
  }
});

Deno.test({ name: "close the app", fn: () => app.close?.() });
