import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { type App, createApp, createLazyApp } from "./app.ts";
import { BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";
import { appForModelDir } from "./main.ts";

const bert = await fixture(BERT_DIR);
const gpt2 = await fixture(GPT2_DIR);
const app = createApp(bert);
const L = bert.model.config.layers, H = bert.model.config.heads;

async function expectError(
  res: Response,
  status: number,
  error: string,
  field?: string,
): Promise<Record<string, string>> {
  const body = await res.json();
  strictEqual(res.status, status, JSON.stringify(body));
  strictEqual(res.headers.get("content-type"), "application/json; charset=utf-8");
  strictEqual(body.error, error);
  ok(typeof body.detail === "string" && body.detail.length > 0);
  if (field !== undefined) {
    strictEqual(body.field, field);
    ok(
      body.detail.toLowerCase().includes(field.split(".").pop()!.replace(/\[\d+\]/, "")),
      `detail names ${field}: ${body.detail}`,
    );
  }
  return body;
}

Deno.test("GET /api/model summarises the config", async () => {
  const res = await app.fetch(new Request("http://localhost/api/model"));
  strictEqual(res.status, 200);
  const m = await res.json();
  strictEqual(m.family, "bert");
  strictEqual(m.layers, L);
  strictEqual(m.heads, H);
  deepStrictEqual(m.pruned_heads, [[], [], []]);
  deepStrictEqual(m.labels, ["LABEL_0", "LABEL_1"]);
  strictEqual(m.vocab_size, 30522);
  strictEqual(m.max_position_embeddings, 64);
  strictEqual(m.limits.maxTokens, 64);
});

Deno.test("POST /api/analyze returns every layer and head, entropy, norms and probabilities", async () => {
  const res = await app.fetch(post("/api/analyze", { text: "The cat sat on the mat." }));
  strictEqual(res.status, 200);
  const a = await res.json();
  deepStrictEqual(a.tokens, ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"]);
  const T = a.tokens.length;
  deepStrictEqual(a.layers, [0, 1, 2]);
  deepStrictEqual(a.heads, [0, 1, 2, 3]);
  strictEqual(a.attention.length, L);
  for (const layer of a.attention) {
    strictEqual(layer.length, H);
    for (const map of layer) {
      strictEqual(map.length, T);
      for (const row of map) {
        strictEqual(row.length, T);
        const sum = row.reduce((s: number, x: number) => s + x, 0);
        ok(Math.abs(sum - 1) < 2e-3, `rows sum to 1 (±rounding), got ${sum}`);
      }
    }
  }
  strictEqual(a.entropy.length, L);
  for (const row of a.entropy) {
    strictEqual(row.length, H);
    for (const e of row) ok(e > 0 && e <= Math.log(T) + 1e-3, `entropy in (0, ln T]: ${e}`);
  }
  strictEqual(a.hidden_norms.length, L + 1);
  for (const n of a.hidden_norms) strictEqual(n.length, T);
  strictEqual(a.logits.length, 2);
  const p = a.probabilities.map((x: { probability: number }) => x.probability);
  ok(Math.abs(p[0] + p[1] - 1) < 1e-3);
  strictEqual(a.next_token, null);
});

Deno.test("POST /api/analyze entropy matches the returned attention maps", async () => {
  const a = await (await app.fetch(post("/api/analyze", { text: "a short check" }))).json();
  const T = a.tokens.length;
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      let e = 0;
      for (const row of a.attention[l][h]) for (const x of row) if (x > 0) e -= x * Math.log(x);
      ok(Math.abs(e / T - a.entropy[l][h]) < 5e-3, `layer ${l} head ${h}: ${e / T} vs ${a.entropy[l][h]}`);
    }
  }
});

Deno.test("POST /api/analyze returns only the layers and heads asked for, and takes a text pair", async () => {
  const a =
    await (await app.fetch(post("/api/analyze", { text: "hello", text_pair: "world", layers: [2, 0], heads: [3] })))
      .json();
  deepStrictEqual(a.layers, [0, 2]);
  deepStrictEqual(a.heads, [3]);
  strictEqual(a.attention.length, 2);
  strictEqual(a.attention[0].length, 1);
  deepStrictEqual(a.token_type_ids, [0, 0, 0, 1, 1]);
  strictEqual(a.entropy.length, L, "entropy always covers every head");
});

Deno.test("POST /api/analyze on GPT-2 returns next-token candidates", async () => {
  const g = createApp(gpt2);
  const a = await (await g.fetch(post("/api/analyze", { text: "Hello world" }))).json();
  strictEqual(a.attention.length, gpt2.model.config.layers);
  strictEqual(a.logits, null);
  strictEqual(a.next_token.length, 10);
  ok(a.next_token[0].probability >= a.next_token[9].probability);
  // causal: no attention to later tokens
  const m = a.attention[0][0];
  strictEqual(m[0][1], 0);
});

Deno.test("POST /api/importance returns importance and entropy tables", async () => {
  const res = await app.fetch(post("/api/importance", {
    examples: [{ text: "a good film", label: 1 }, { text: "a bad film", text_pair: "truly", label: "LABEL_0" }],
  }));
  strictEqual(res.status, 200);
  const r = await res.json();
  strictEqual(r.importance.length, L);
  strictEqual(r.importance[0].length, H);
  const flat = r.importance.flat();
  ok(Math.abs(Math.max(...flat) - 1) < 1e-6 && Math.abs(Math.min(...flat)) < 1e-6, "min-max normalised");
  strictEqual(r.entropy.length, L);
  strictEqual(r.total_tokens, 5 + 7, "[CLS] a good film [SEP] + [CLS] a bad film [SEP] truly [SEP]");
  deepStrictEqual(r.labels, [1, 0]);
  strictEqual(r.preds.length, 2);
  ok(r.loss > 0);
});

Deno.test("POST /api/importance on GPT-2 uses the next-token loss", async () => {
  const g = createApp(gpt2);
  const r = await (await g.fetch(post("/api/importance", { examples: [{ text: "Hello there, world" }] }))).json();
  strictEqual(r.importance.length, gpt2.model.config.layers);
  deepStrictEqual(r.preds, []);
  strictEqual(r.accuracy, null);
  await expectError(
    await g.fetch(post("/api/importance", { examples: [{ text: "x", label: 1 }] })),
    400,
    "invalid_field",
    "examples[0].label",
  );
});

Deno.test("GET / serves the page, its script and stylesheet", async () => {
  const page = await app.fetch(new Request("http://localhost/"));
  strictEqual(page.status, 200);
  ok(page.headers.get("content-type")!.startsWith("text/html"));
  const html = await page.text();
  ok(html.includes('src="/app.js"'));
  const js = await app.fetch(new Request("http://localhost/app.js"));
  ok(js.headers.get("content-type")!.startsWith("text/javascript"));
  ok((await js.text()).length > 1000);
  const css = await app.fetch(new Request("http://localhost/app.css"));
  ok(css.headers.get("content-type")!.startsWith("text/css"));
  await css.body?.cancel();
  const head = await app.fetch(new Request("http://localhost/", { method: "HEAD" }));
  strictEqual(head.status, 200);
  strictEqual(head.body, null);
});

Deno.test("errors: unknown routes 404, wrong methods 405 with Allow", async () => {
  await expectError(await app.fetch(new Request("http://localhost/api/nope")), 404, "not_found", "path");
  const r = await app.fetch(new Request("http://localhost/api/analyze"));
  strictEqual(r.headers.get("allow"), "POST");
  await expectError(r, 405, "method_not_allowed", "method");
  const r2 = await app.fetch(post("/api/model", {}));
  strictEqual(r2.headers.get("allow"), "GET, HEAD");
  await expectError(r2, 405, "method_not_allowed");
  await expectError(await app.fetch(new Request("http://localhost/", { method: "DELETE" })), 405, "method_not_allowed");
});

Deno.test("errors: a body that is not JSON, empty, not UTF-8, or of another type", async () => {
  await expectError(await app.fetch(post("/api/analyze", "{not json")), 400, "invalid_json", "body");
  await expectError(await app.fetch(post("/api/analyze", "")), 400, "invalid_json", "body");
  const bad = new Request("http://localhost/api/analyze", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  });
  await expectError(await app.fetch(bad), 400, "invalid_json", "body");
  await expectError(
    await app.fetch(post("/api/analyze", "text=hi", { "content-type": "application/x-www-form-urlencoded" })),
    415,
    "unsupported_media_type",
    "content-type",
  );
  await expectError(await app.fetch(post("/api/analyze", [1, 2])), 400, "invalid_field", "body");
  await expectError(await app.fetch(post("/api/importance", "null")), 400, "invalid_field", "body");
});

Deno.test("errors: a 10 MB body is refused with 413, declared or streamed", async () => {
  const big = "x".repeat(10 * 1024 * 1024);
  await expectError(await app.fetch(post("/api/analyze", big)), 413, "body_too_large", "body");
  // no content-length: cut off while streaming
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= 10 * 1024 * 1024) return c.close();
      sent += 65536;
      c.enqueue(new Uint8Array(65536).fill(32));
    },
  });
  const req = new Request("http://localhost/api/analyze", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream,
  });
  await expectError(await app.fetch(req), 413, "body_too_large", "body");
  ok(sent < 1024 * 1024, `stopped reading early (read ${sent} bytes)`);
});

Deno.test("errors: analyze fields are checked and named", async () => {
  const cases: [unknown, number, string, string][] = [
    [{}, 400, "invalid_field", "text"],
    [{ text: 5 }, 400, "invalid_field", "text"],
    [{ text: "   " }, 400, "invalid_field", "text"],
    [{ text: "a".repeat(2001) }, 413, "text_too_long", "text"],
    [{ text: "ok", text_pair: "b".repeat(2001) }, 413, "text_too_long", "text_pair"],
    [{ text: "ok", text_pair: 3 }, 400, "invalid_field", "text_pair"],
    [{ text: "word ".repeat(100) }, 422, "too_many_tokens", "text"],
    [{ text: "word ".repeat(30), text_pair: "word ".repeat(40) }, 422, "too_many_tokens", "text_pair"],
    [{ text: "ok", layers: [3] }, 400, "invalid_field", "layers"],
    [{ text: "ok", layers: [] }, 400, "invalid_field", "layers"],
    [{ text: "ok", layers: [0, 0] }, 400, "invalid_field", "layers"],
    [{ text: "ok", heads: [1.5] }, 400, "invalid_field", "heads"],
    [{ text: "ok", heads: "all" }, 400, "invalid_field", "heads"],
    [{ text: "ok", colour: "red" }, 400, "invalid_field", "colour"],
  ];
  for (const [body, status, error, field] of cases) {
    await expectError(await app.fetch(post("/api/analyze", body)), status, error, field);
  }
});

Deno.test("errors: importance fields are checked and named", async () => {
  const ex = { text: "fine", label: 0 };
  const cases: [unknown, number, string, string][] = [
    [{}, 400, "invalid_field", "examples"],
    [{ examples: [] }, 400, "invalid_field", "examples"],
    [{ examples: Array(33).fill(ex) }, 413, "too_many_examples", "examples"],
    [{ examples: [ex, "text"] }, 400, "invalid_field", "examples[1]"],
    [{ examples: [{ label: 0 }] }, 400, "invalid_field", "examples[0].text"],
    [{ examples: [ex, { text: "x" }] }, 400, "invalid_field", "examples[1].label"],
    [{ examples: [{ text: "x", label: 2 }] }, 400, "invalid_field", "examples[0].label"],
    [{ examples: [{ text: "x", label: "POSITIVE" }] }, 400, "invalid_field", "examples[0].label"],
    [{ examples: [{ text: "x".repeat(2001), label: 0 }] }, 413, "text_too_long", "examples[0].text"],
    [{ examples: [ex, { text: "word ".repeat(100), label: 1 }] }, 422, "too_many_tokens", "examples[1].text"],
    [{ examples: [ex], extra: 1 }, 400, "invalid_field", "extra"],
    [{ examples: [ex, { ...ex, lable: 1 }] }, 400, "invalid_field", "examples[1].lable"],
    [{ examples: [{ ...ex, text_pair: "b", weight: 2 }] }, 400, "invalid_field", "examples[0].weight"],
  ];
  for (const [body, status, error, field] of cases) {
    await expectError(await app.fetch(post("/api/importance", body)), status, error, field);
  }
});

Deno.test("limits: configured limits apply and the token limit never passes max_position_embeddings", async () => {
  const small = createApp({ ...bert, limits: { maxTokens: 8, maxTextChars: 40, maxExamples: 1, maxBodyBytes: 100 } });
  await expectError(
    await small.fetch(post("/api/analyze", { text: "one two three four five six seven" })),
    422,
    "too_many_tokens",
  );
  await expectError(await small.fetch(post("/api/analyze", { text: "x".repeat(41) })), 413, "text_too_long");
  await expectError(
    await small.fetch(post("/api/analyze", { text: "x", text_pair: "y".repeat(200) })),
    413,
    "body_too_large",
  );
  const big = createApp({ ...bert, limits: { maxTokens: 10_000 } });
  strictEqual((await (await big.fetch(new Request("http://localhost/api/model"))).json()).limits.maxTokens, 64);
});

Deno.test("queue: a full queue answers 503 busy with Retry-After", async () => {
  const q = createApp({ ...bert, limits: { maxQueue: 1 } });
  const reqs = Array.from({ length: 6 }, () => q.fetch(post("/api/analyze", { text: "queue me" })));
  const res = await Promise.all(reqs);
  const statuses = res.map((r) => r.status);
  strictEqual(statuses.filter((s) => s === 200).length, 2, `one running, one waiting: ${statuses}`);
  for (const r of res) {
    if (r.status === 503) {
      ok(Number(r.headers.get("retry-after")) >= 1);
      await expectError(r, 503, "busy");
    } else await r.body?.cancel();
  }
});

Deno.test("createLazyApp() answers 503 model_unavailable when the model cannot load", async () => {
  const broken: App = appForModelDir("/nonexistent/model");
  const r = await broken.fetch(new Request("http://localhost/api/model"));
  const body = await expectError(r, 503, "model_unavailable");
  ok(body.detail?.includes("/nonexistent/model"), body.detail);
  const lazy = createLazyApp(() => Promise.resolve(bert));
  strictEqual((await lazy.fetch(new Request("http://localhost/api/model"))).status, 200);
});

Deno.test("appForModelDir() serves a model folder (the Deno Deploy entry's path)", async () => {
  const a = appForModelDir(BERT_DIR);
  const m = await (await a.fetch(new Request("http://localhost/api/model"))).json();
  strictEqual(m.name, "bert-tiny-random");
});

Deno.test('appForModelDir(dir, "f16"): the app and its compute worker keep 16-bit weights (BERTOLOGY_DTYPE)', async () => {
  const analyze = async (a: App) => {
    const res = await a.fetch(post("/api/analyze", { text: "half the memory" }));
    strictEqual(res.status, 200);
    return (await res.json()).logits as number[];
  };
  const half = appForModelDir(BERT_DIR, "f16"), full = appForModelDir(BERT_DIR);
  try {
    const [h, f] = [await analyze(half), await analyze(full)];
    // the worker's own copy: the same F16-rounded weights as an f16 model run here (the API rounds to 4 decimals)
    const { loadModel } = await import("@bertology/core/models");
    const { localFiles } = await import("@bertology/core/checkpoint/deno");
    const { model, tokenizer } = await loadModel(localFiles(BERT_DIR), { dtype: "f16" });
    const ids = tokenizer!.encode("half the memory").ids;
    const want = model.run({ batch: { batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) } }).logits!;
    h.forEach((v, i) => ok(Math.abs(v - want.data[i]!) <= 1e-4, `logit ${i}: ${v} vs ${want.data[i]}`));
    ok(h.some((v, i) => v !== f[i]), "f16 weights give other logits than f32 ones");
  } finally {
    half.close?.();
    full.close?.();
  }
});

Deno.test("a pruned model: pruned heads come back as null and the summary lists them", async () => {
  const { pruneModel } = await import("@bertology/core/bertology");
  const pruned = pruneModel(bert.model, { 1: [0, 2] }, bert.model.kernels);
  const p = createApp({ ...bert, model: pruned });
  const m = await (await p.fetch(new Request("http://localhost/api/model"))).json();
  deepStrictEqual(m.pruned_heads, [[], [0, 2], []]);
  deepStrictEqual(m.heads_per_layer, [4, 2, 4]);
  const a = await (await p.fetch(post("/api/analyze", { text: "pruned heads" }))).json();
  strictEqual(a.attention[1][0], null);
  strictEqual(a.attention[1][2], null);
  strictEqual(a.attention[1][1].length, a.tokens.length);
  strictEqual(a.entropy[1][0], null);
  ok(a.entropy[1][1] > 0);
  const r = await (await p.fetch(post("/api/importance", { examples: [{ text: "x y", label: 0 }] }))).json();
  strictEqual(r.importance[1][2], null);
});

Deno.test("errors: a long unknown key or value is echoed only as a short excerpt", async () => {
  const key = "k".repeat(200_000);
  for (
    const [path, body] of [
      ["/api/analyze", { text: "ok", [key]: 1 }],
      ["/api/importance", { examples: [{ text: "x", label: 0, [key]: 1 }] }],
      ["/api/importance", { examples: [{ text: "x", label: "L".repeat(200_000) }] }],
      ["/api/analyze", { text: "ok", layers: ["z".repeat(200_000)] }],
    ] as const
  ) {
    const small = createApp({ ...bert, limits: { maxBodyBytes: 1024 * 1024 } });
    const res = await small.fetch(post(path, body));
    const text = await res.text();
    strictEqual(res.status, 400, text.slice(0, 200));
    ok(text.length < 400, `the error is short (${text.length} characters): ${text.slice(0, 200)}`);
  }
});

Deno.test("createApp({ files }) computes on a worker with the same answers as inline, and close() stops it", async () => {
  const { localFiles } = await import("@bertology/core/checkpoint/deno");
  const worker = createApp({ ...bert, files: localFiles(BERT_DIR) });
  try {
    const req = { text: "The cat sat on the mat.", layers: [1] };
    const a = await (await worker.fetch(post("/api/analyze", req))).json();
    const b = await (await app.fetch(post("/api/analyze", req))).json();
    delete a.elapsed_ms, delete b.elapsed_ms;
    deepStrictEqual(a, b);
    const e = await worker.fetch(post("/api/analyze", { text: "word ".repeat(100) }));
    await expectError(e, 422, "too_many_tokens", "text"); // errors cross the worker boundary intact
  } finally {
    worker.close?.();
  }
  strictEqual((await worker.fetch(post("/api/analyze", { text: "closed" }))).status, 503);
});

Deno.test("a worker job past its deadline is answered 503 timeout at the deadline, and the worker takes the next job", async () => {
  const { localFiles } = await import("@bertology/core/checkpoint/deno");
  const { EMBEDDED_BERT_DIR } = await import("../tests/helpers/web.ts");
  const embedded = await fixture(EMBEDDED_BERT_DIR);
  const slow = createApp({ ...embedded, files: localFiles(EMBEDDED_BERT_DIR), limits: { timeoutMs: 150 } });
  try {
    // the worker loads its model on the first compute request; within 150 ms or not, it goes on loading
    let warm = 0;
    for (let i = 0; i < 50 && warm !== 200; i++) {
      const r = await slow.fetch(post("/api/analyze", { text: "warm up" }));
      warm = r.status;
      await r.body?.cancel();
      if (warm !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    strictEqual(warm, 200, "the worker is up");
    const label = embedded.model.config.labels[0];
    const examples = Array.from({ length: 32 }, (_, i) => ({ text: `${i} ` + "long and slow ".repeat(30), label }));
    const t0 = performance.now();
    const res = await slow.fetch(post("/api/importance", { examples }));
    const took = performance.now() - t0;
    const body = await expectError(res, 503, "timeout");
    ok(Number(res.headers.get("retry-after")) >= 1, body.detail);
    ok(took < 1000, `answered near the 150 ms deadline (${took.toFixed(0)} ms)`);
    // the worker stops the job at its next deadline check (between examples) and takes the next one
    let next = 0, detail = "";
    for (let i = 0; i < 20 && next !== 200; i++) {
      const r = await slow.fetch(post("/api/analyze", { text: "next one" }));
      next = r.status;
      detail = await r.text();
      if (next !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    strictEqual(next, 200, `the worker takes the next job: ${detail.slice(0, 200)}`);
  } finally {
    slow.close?.();
  }
});
