import { deepStrictEqual, ok, strictEqual } from "node:assert";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { createApp } from "./app.ts";
import { BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";
import { parseOnnxOutputs } from "./onnx_route.ts";

const SENTENCE = "the film was a gripping ride";
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

for (const dir of [BERT_DIR, GPT2_DIR]) {
  const name = dir.split("/").pop();
  Deno.test(`GET /api/onnx (${name}): the bytes load in onnxruntime-web and give /api/analyze's attentions`, async () => {
    const opts = await fixture(dir);
    const app = createApp({ ...opts, browserCompute: true });
    try {
      const res = await app.fetch(new Request("http://localhost/api/onnx?outputs=attentions,logits"));
      strictEqual(res.status, 200);
      strictEqual(res.headers.get("content-type"), "application/octet-stream");
      const bytes = new Uint8Array(await res.arrayBuffer());
      strictEqual(Number(res.headers.get("content-length")), bytes.byteLength);
      const again = new Uint8Array(await (await app.fetch(new Request("http://localhost/api/onnx"))).arrayBuffer());
      deepStrictEqual(again, bytes, "the default outputs are logits and attentions: the same cached export");

      const tok = await (await app.fetch(post("/api/tokenize", { text: SENTENCE }))).json();
      const analysis = await (await app.fetch(post("/api/analyze", { text: SENTENCE }))).json();
      deepStrictEqual(tok.input_ids, analysis.input_ids);
      deepStrictEqual(tok.tokens, analysis.tokens);
      const T = tok.input_ids.length, c = opts.model.config;
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      const ints = (a: number[]) => new ort.Tensor("int64", BigInt64Array.from(a, BigInt), [1, T]);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: ints(tok.input_ids),
        attention_mask: ints(tok.input_ids.map(() => 1)),
        head_mask: new ort.Tensor("float32", new Float32Array(c.layers * c.heads).fill(1), [c.layers, c.heads]),
      };
      if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = ints(tok.token_type_ids);
      const out = await session.run(feeds);
      // the answer's maps are rounded to 4 decimals (5e-5), the runtimes differ by ~1e-6
      for (let l = 0; l < c.layers; l++) {
        const p = out[`attentions.${l}`]!.data as Float32Array;
        for (let h = 0; h < c.heads; h++) {
          for (let q = 0; q < T; q++) {
            for (let k = 0; k < T; k++) {
              const want = analysis.attention[l][h][q][k];
              ok(Math.abs(p[(h * T + q) * T + k]! - want) <= 1e-4, `L${l} H${h} [${q}, ${k}]`);
            }
          }
        }
      }
      await session.release();
    } finally {
      app.close?.();
    }
  });
}

Deno.test("GET /api/onnx: refused when in-browser compute is off, for bad outputs, and over the size limit", async () => {
  const bert = await fixture(BERT_DIR);
  const off = createApp(bert);
  const m = await (await off.fetch(new Request("http://localhost/api/model"))).json();
  strictEqual(m.browser_compute, false);
  const res = await off.fetch(new Request("http://localhost/api/onnx"));
  strictEqual(res.status, 404);
  ok((await res.json()).detail.includes("in-browser compute"));
  off.close?.();

  const on = createApp({ ...bert, browserCompute: true, limits: { maxOnnxBytes: 1000 } });
  strictEqual((await (await on.fetch(new Request("http://localhost/api/model"))).json()).browser_compute, true);
  const bad = await on.fetch(new Request("http://localhost/api/onnx?outputs=attentions,secrets"));
  strictEqual(bad.status, 400);
  const err = await bad.json();
  strictEqual(err.field, "outputs");
  ok(err.detail.includes('"secrets"'), err.detail);
  const big = await on.fetch(new Request("http://localhost/api/onnx"));
  strictEqual(big.status, 413);
  strictEqual((await big.json()).error, "model_too_large");
  strictEqual((await on.fetch(new Request("http://localhost/api/onnx", { method: "POST" }))).status, 405);
  on.close?.();
});

Deno.test("parseOnnxOutputs: groups sorted and deduplicated, logits and attentions by default", () => {
  deepStrictEqual(parseOnnxOutputs(null), ["logits", "attentions"]);
  deepStrictEqual(parseOnnxOutputs("logits,hidden_states,logits"), ["hidden_states", "logits"]);
});
