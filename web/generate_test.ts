/**
 * `/api/generate` and `/api/head-roles` on the pretrained stories260K: equal to the library (`model.generate`,
 * `headRoles`) and to the CLI (`bertology generate --json`, `bertology head-roles --json`, run as subprocesses),
 * through the compute worker; and their field errors.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { createApp } from "./app.ts";
import type { GenerateResponse } from "./generate.ts";
import type { HeadRolesResponse } from "./head_roles.ts";
import { MAX_HEAD_ROLE_ROWS, MAX_NEW_TOKENS } from "./_limits.ts";
import { BERT_DIR, fixture, post } from "../tests/helpers/web.ts";

const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);
const STORIES = path("../models/stories260k");
const stories = await fixture(STORIES);
const PROMPT = "Once upon a time";

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", path("../cli/main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(r.code, 0, `bertology ${args[0]} failed: ${new TextDecoder().decode(r.stderr)}`);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

async function call<T>(app: ReturnType<typeof createApp>, route: string, body: unknown) {
  const res = await app.fetch(post(route, body));
  return { status: res.status, json: await res.json() as T };
}

Deno.test("/api/generate continues greedily as model.generate and `bertology generate --json` do", async () => {
  const app = createApp(stories); // the compute worker: generation is async there
  try {
    const { status, json } = await call<GenerateResponse>(app, "/api/generate", { prompt: PROMPT, max_new_tokens: 40 });
    strictEqual(status, 200, JSON.stringify(json));
    const prompt = stories.tokenizer.encode(PROMPT).ids;
    const lib = await stories.model.generate({ prompt, tokenizer: stories.tokenizer, maxNewTokens: 40 });
    deepStrictEqual(json.ids, lib.ids);
    strictEqual(json.text, lib.text);
    strictEqual(json.prompt_length, prompt.length);
    strictEqual(json.stop, lib.stop);
    const byCli = await cli(["generate", "--model", STORIES, "--prompt", PROMPT, "--max-new-tokens", "40", "--json"]);
    deepStrictEqual(json.ids, byCli.ids);
    strictEqual(json.text, byCli.text);
    ok(json.text.startsWith(`${PROMPT}, there was`), json.text); // llama2.c's TinyStories register
    strictEqual(json.prompt_text, PROMPT);
    strictEqual(json.generated_pieces.length, json.ids.length - json.prompt_length);
    strictEqual(json.prompt_text + json.generated_pieces.join(""), json.text);
    // the analysis is of the exact ids: every position's attention, causal, the generated ones included
    deepStrictEqual(json.analysis.input_ids, json.ids);
    deepStrictEqual(json.tokens, json.ids.map((id) => stories.tokenizer.idToToken(id)));
    const T = json.ids.length;
    for (const layer of json.analysis.attention) {
      for (const map of layer) {
        strictEqual(map!.length, T);
        ok(map!.every((row, q) => row.every((v, k) => k <= q || v === 0)), "causal");
      }
    }
  } finally {
    app.close?.();
  }
});

Deno.test("/api/generate: seeded sampling is reproducible and equals the library's", async () => {
  const app = createApp({ ...stories, compute: "inline" });
  const body = { prompt: PROMPT, max_new_tokens: 25, temperature: 0.9, top_k: 40, top_p: 0.95, seed: 7 };
  const a = await call<GenerateResponse>(app, "/api/generate", body);
  const b = await call<GenerateResponse>(app, "/api/generate", body);
  strictEqual(a.status, 200, JSON.stringify(a.json));
  deepStrictEqual(a.json.ids, b.json.ids);
  const lib = await stories.model.generate({
    prompt: stories.tokenizer.encode(PROMPT).ids,
    maxNewTokens: 25,
    temperature: 0.9,
    topK: 40,
    topP: 0.95,
    seed: 7,
  });
  deepStrictEqual(a.json.ids, lib.ids);
  const other = await call<GenerateResponse>(app, "/api/generate", { ...body, seed: 8 });
  ok(other.json.ids.join() !== a.json.ids.join(), "another seed draws other tokens");
});

Deno.test("/api/generate refuses bad fields, naming them, and a model that is no language model", async () => {
  const app = createApp({ ...stories, compute: "inline" });
  const cases: [unknown, number, string][] = [
    [{}, 400, "prompt"],
    [{ prompt: 3 }, 400, "prompt"],
    [{ prompt: PROMPT, max_new_tokens: 0 }, 400, "max_new_tokens"],
    [{ prompt: PROMPT, max_new_tokens: MAX_NEW_TOKENS + 1 }, 400, "max_new_tokens"],
    [{ prompt: PROMPT, max_new_tokens: 2.5 }, 400, "max_new_tokens"],
    [{ prompt: PROMPT, temperature: -1 }, 400, "temperature"],
    [{ prompt: PROMPT, top_k: "5" }, 400, "top_k"],
    [{ prompt: PROMPT, top_p: 0 }, 400, "top_p"],
    [{ prompt: PROMPT, seed: 0.5 }, 400, "seed"],
    [{ prompt: PROMPT, beams: 2 }, 400, "beams"],
  ];
  for (const [body, status, field] of cases) {
    const r = await call<{ field: string }>(app, "/api/generate", body);
    strictEqual(r.status, status, JSON.stringify(body));
    strictEqual(r.json.field, field, JSON.stringify(r.json));
  }
  // prompt and new tokens past the token limit: the sequence could not be analysed
  const small = createApp({ ...stories, compute: "inline", limits: { maxTokens: 20 } });
  const long = await call<{ field: string; detail: string }>(small, "/api/generate", {
    prompt: PROMPT,
    max_new_tokens: 19,
  });
  strictEqual(long.status, 422, JSON.stringify(long.json));
  strictEqual(long.json.field, "max_new_tokens");
  const bert = createApp({ ...(await fixture(BERT_DIR)), compute: "inline" });
  const refused = await call<{ field: string; detail: string }>(bert, "/api/generate", { prompt: "a film" });
  strictEqual(refused.status, 400);
  strictEqual(refused.json.field, "model");
  ok(refused.json.detail.includes("causal language model"), refused.json.detail);
});

const close = (a: (number | null)[][], b: (number | null)[][], what: string) => {
  strictEqual(a.length, b.length, what);
  a.forEach((row, l) =>
    row.forEach((v, h) => {
      const w = b[l]![h]!;
      ok(v !== null && Math.abs(v - w) <= 1e-6, `${what}[${l}][${h}]: route ${v} vs CLI ${w}`);
    })
  );
};

Deno.test("/api/head-roles equals `bertology head-roles --json` within 1e-6", async () => {
  const app = createApp(stories);
  try {
    const { status, json } = await call<HeadRolesResponse>(app, "/api/head-roles", {
      repeat_len: 12,
      rows: 6,
      seed: 3,
    });
    strictEqual(status, 200, JSON.stringify(json));
    const want = await cli([
      "head-roles",
      "--model",
      STORIES,
      "--repeat-len",
      "12",
      "--rows",
      "6",
      "--seed",
      "3",
      "--json",
    ]);
    for (const k of ["previous_token", "duplicate_token", "induction"] as const) {
      close(json[k], want[k] as number[][], k);
    }
    ok(Math.abs(json.loss_first_repeat! - (want.loss_first_repeat as number)) <= 1e-6);
    ok(Math.abs(json.loss_second_repeat! - (want.loss_second_repeat as number)) <= 1e-6);
    deepStrictEqual([json.repeat_len, json.rows, json.seed, json.bos], [12, 6, 3, stories.tokenizer.encode("").ids[0]]);
  } finally {
    app.close?.();
  }
});

Deno.test("/api/head-roles refuses bad fields, naming them; an encoder gets its role scores without losses", async () => {
  const app = createApp({ ...stories, compute: "inline", limits: { maxTokens: 41 } });
  const cases: [unknown, string][] = [
    [{ repeat_len: 0 }, "repeat_len"],
    [{ repeat_len: 21 }, "repeat_len"], // 1 + 2 · 21 tokens pass the limit of 41
    [{ rows: MAX_HEAD_ROLE_ROWS + 1 }, "rows"],
    [{ seed: -1 }, "seed"],
    [{ seed: "x" }, "seed"],
    [{ layers: [0] }, "layers"],
    [[1], "body"],
  ];
  for (const [body, field] of cases) {
    const r = await call<{ field: string }>(app, "/api/head-roles", body);
    strictEqual(r.status, 400, JSON.stringify(body));
    strictEqual(r.json.field, field, JSON.stringify(r.json));
  }
  const ok20 = await call<HeadRolesResponse>(app, "/api/head-roles", { repeat_len: 20, rows: 2 });
  strictEqual(ok20.status, 200, JSON.stringify(ok20.json));
  const bert = createApp({ ...(await fixture(BERT_DIR)), compute: "inline" });
  const enc = await call<HeadRolesResponse>(bert, "/api/head-roles", { repeat_len: 8, rows: 2 });
  strictEqual(enc.status, 200, JSON.stringify(enc.json));
  strictEqual(enc.json.loss_first_repeat, undefined);
  ok(enc.json.induction.length > 0);
});
