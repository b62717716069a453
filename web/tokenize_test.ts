import { deepStrictEqual, strictEqual } from "node:assert";
import { createApp } from "./app.ts";
import { BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";

const bert = await fixture(BERT_DIR);
const gpt2 = await fixture(GPT2_DIR);

Deno.test("POST /api/tokenize: the tokens and ids /api/analyze runs, and ids back to tokens", async () => {
  for (const opts of [bert, gpt2]) {
    const app = createApp({ ...opts, limits: { maxTokens: 12 } });
    const body = { text: "a gripping film", text_pair: opts === bert ? "it was" : undefined };
    const tok = await (await app.fetch(post("/api/tokenize", body))).json();
    const analysis = await (await app.fetch(post("/api/analyze", body))).json();
    deepStrictEqual(tok, {
      tokens: analysis.tokens,
      input_ids: analysis.input_ids,
      token_type_ids: analysis.token_type_ids,
    });
    const back = await (await app.fetch(post("/api/tokenize", { ids: tok.input_ids }))).json();
    deepStrictEqual(back.tokens, tok.tokens);
    const long = await app.fetch(post("/api/tokenize", { text: "word ".repeat(40) }));
    strictEqual(long.status, 422);
    strictEqual((await long.json()).error, "too_many_tokens");
    const badId = await app.fetch(post("/api/tokenize", { ids: [0, -1] }));
    strictEqual(badId.status, 400);
    strictEqual((await badId.json()).field, "ids[1]");
    const both = await app.fetch(post("/api/tokenize", { ids: [0], text: "x" }));
    strictEqual(both.status, 400);
    const unknown = await app.fetch(post("/api/tokenize", { texts: "x" }));
    strictEqual((await unknown.json()).field, "texts");
    app.close?.();
  }
});
