import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { createApp } from "./app.ts";
import { OnnxExports, OrtSessions } from "./_ort_sessions.ts";
import { BERT_DIR, fixture, GPT2_DIR, post } from "../tests/helpers/web.ts";

const bert = await fixture(BERT_DIR);
const gpt2 = await fixture(GPT2_DIR);
const SENTENCE = "the film was a gripping ride";

/** Every number of two answers within `tol(x)` of each other, the rest (tokens, nulls, shapes) equal. */
function expectClose(a: unknown, b: unknown, tol: (x: number) => number, path = "$"): void {
  if (typeof a === "number" && typeof b === "number") {
    ok(Math.abs(a - b) <= tol(b), `${path}: ${a} vs ${b}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    strictEqual(a.length, b.length, `${path}: length`);
    a.forEach((x, i) => expectClose(x, b[i], tol, `${path}[${i}]`));
  } else if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    deepStrictEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path}: keys`);
    for (const k of Object.keys(a)) {
      expectClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol, `${path}.${k}`);
    }
  } else deepStrictEqual(a, b, path);
}

// answers are rounded to 4 decimals: two values 1e-6 apart may round 1e-4 apart
const FORWARD = () => 1e-4 + 1e-9;
const GRADIENT = (x: number) => 1e-5 + 1e-3 * Math.abs(x);
const withoutTime = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, elapsed_ms: 0 });

async function answer(app: ReturnType<typeof createApp>, path: string, body: Record<string, unknown>) {
  const res = await app.fetch(post(path, body));
  const json = await res.json();
  strictEqual(res.status, 200, JSON.stringify(json));
  return withoutTime(json);
}

for (const backend of ["ort-wasm", "ort-node"] as const) {
  for (
    const [name, opts, example] of [
      ["bert-tiny-random", bert, { text: SENTENCE, label: 1 }],
      ["gpt2-tiny-random", gpt2, { text: SENTENCE }],
    ] as const
  ) {
    Deno.test(`backend ${backend} on ${name}: /api/analyze and /api/importance equal our engine's`, async () => {
      const app = createApp({ ...opts, backends: ["wasm", backend] });
      try {
        const ours = await answer(app, "/api/analyze", { text: SENTENCE, word_level: true });
        const theirs = await answer(app, "/api/analyze", { text: SENTENCE, word_level: true, backend });
        expectClose(theirs, ours, FORWARD);
        const some = { text: SENTENCE, layers: [1], heads: [0, 2] };
        expectClose(
          await answer(app, "/api/analyze", { ...some, backend }),
          await answer(app, "/api/analyze", some),
          FORWARD,
        );
        const examples = [example, { ...example, text: "a dull film" }];
        const imp = await answer(app, "/api/importance", { examples });
        const impOrt = await answer(app, "/api/importance", { examples, backend });
        expectClose(impOrt, imp, GRADIENT);
        ok((imp.importance_raw as number[][]).flat().some((x) => x > 0), "importance is not all zeros");
      } finally {
        app.close?.();
      }
    });
  }
}

Deno.test("backend ort-wasm on a pruned BERT (uneven heads): the same answers, pruned heads null", async () => {
  const { pruneModel } = await import("@bertology/core/bertology");
  const model = pruneModel(bert.model, { 0: [1], 1: [0, 2] }, bert.model.kernels);
  const app = createApp({ ...bert, model, backends: ["wasm", "ort-wasm"] });
  try {
    const ours = await answer(app, "/api/analyze", { text: SENTENCE });
    const theirs = await answer(app, "/api/analyze", { text: SENTENCE, backend: "ort-wasm" });
    expectClose(theirs, ours, FORWARD);
    const attention = theirs.attention as (number[][] | null)[][];
    strictEqual(attention[1]![0], null);
    strictEqual(attention[0]![1], null);
    ok(attention[1]![1] !== null);
    const examples = [{ text: SENTENCE, label: 0 }];
    const imp = await answer(app, "/api/importance", { examples, backend: "ort-wasm" });
    expectClose(imp, await answer(app, "/api/importance", { examples }), GRADIENT);
    strictEqual((imp.importance as (number | null)[][])[1]![2], null);
  } finally {
    app.close?.();
  }
});

Deno.test("backend on the compute worker: the session runs there, same numbers", async () => {
  const app = createApp({ ...bert, files: localFiles(BERT_DIR), backends: ["ort-wasm", "wasm"] });
  try {
    const m = await (await app.fetch(new Request("http://localhost/api/model"))).json();
    deepStrictEqual(m.backends, ["ort-wasm", "wasm"]);
    const ours = await answer(app, "/api/analyze", { text: SENTENCE, backend: "wasm" });
    const theirs = await answer(app, "/api/analyze", { text: SENTENCE, backend: "ort-wasm" });
    expectClose(theirs, ours, FORWARD);
  } finally {
    app.close?.();
  }
});

Deno.test("backend: one the app does not allow is a 422 naming the field and the allowed ones", async () => {
  const app = createApp(bert); // default: wasm only
  try {
    const m = await (await app.fetch(new Request("http://localhost/api/model"))).json();
    deepStrictEqual(m.backends, ["wasm"]);
    strictEqual(m.browser_compute, false);
    for (const path of ["/api/analyze", "/api/importance"]) {
      const body = path === "/api/analyze" ? { text: SENTENCE } : { examples: [{ text: SENTENCE, label: 0 }] };
      const res = await app.fetch(post(path, { ...body, backend: "ort-wasm" }));
      const err = await res.json();
      strictEqual(res.status, 422, JSON.stringify(err));
      strictEqual(err.error, "backend_not_allowed");
      strictEqual(err.field, "backend");
      ok(err.detail.includes("allowed: wasm"), err.detail);
      strictEqual((await app.fetch(post(path, { ...body, backend: "wasm" }))).status, 200);
    }
    const bad = await app.fetch(post("/api/analyze", { text: SENTENCE, backend: 3 }));
    strictEqual(bad.status, 400);
    strictEqual((await bad.json()).field, "backend");
    const unknown = await (await app.fetch(post("/api/analyze", { text: SENTENCE, backend: "cuda" }))).json();
    strictEqual(unknown.error, "backend_not_allowed");
  } finally {
    app.close?.();
  }
});

Deno.test("backend: allowed but unavailable here (no WebGPU) is a 503 backend_unavailable saying why", async () => {
  // this VM has a software adapter: hide navigator.gpu for the test, as a runtime without WebGPU has none
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  const app = createApp({ ...bert, backends: ["wasm", "ort-webgpu"] });
  try {
    const res = await app.fetch(post("/api/analyze", { text: SENTENCE, backend: "ort-webgpu" }));
    const err = await res.json();
    strictEqual(res.status, 503, JSON.stringify(err));
    strictEqual(err.error, "backend_unavailable");
    strictEqual(err.field, "backend");
    strictEqual(err.detail, "ort-webgpu is not available: this runtime has no navigator.gpu");
    strictEqual((await app.fetch(post("/api/analyze", { text: SENTENCE }))).status, 200, "wasm still answers");
  } finally {
    delete (navigator as { gpu?: unknown }).gpu;
    app.close?.();
  }
});

Deno.test("the backends option: unknown or repeated names are refused at creation", () => {
  for (const backends of [[], ["cuda"], ["wasm", "wasm"]]) {
    let threw = false;
    try {
      createApp({ ...bert, backends: backends as never });
    } catch (e) {
      threw = (e as Error).message.includes('"backends"');
    }
    ok(threw, JSON.stringify(backends));
  }
});

// ort-webgpu: on a software adapter (llvmpipe) compiling the shaders takes minutes, so, as core/export's WebGPU
// goldens, it runs when BERTOLOGY_TEST_WEBGPU=1 and says loudly why it is skipped otherwise
const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
const webgpuSkip = adapter === null
  ? "no WebGPU adapter"
  : Deno.env.get("BERTOLOGY_TEST_WEBGPU") !== "1"
  ? "an adapter exists; set BERTOLOGY_TEST_WEBGPU=1 to run (a software adapter compiles shaders for minutes)"
  : "";
if (webgpuSkip) console.warn(`SKIPPED web API on ort-webgpu: ${webgpuSkip}`);

Deno.test({
  name: "backend ort-webgpu on gpt2-tiny-random: /api/analyze and /api/importance equal our engine's",
  ignore: webgpuSkip !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const app = createApp({ ...gpt2, backends: ["wasm", "ort-webgpu"] });
    try {
      const ours = await answer(app, "/api/analyze", { text: SENTENCE });
      expectClose(await answer(app, "/api/analyze", { text: SENTENCE, backend: "ort-webgpu" }), ours, FORWARD);
      const examples = [{ text: SENTENCE }];
      const imp = await answer(app, "/api/importance", { examples });
      expectClose(await answer(app, "/api/importance", { examples, backend: "ort-webgpu" }), imp, GRADIENT);
    } finally {
      app.close?.();
    }
  },
});

Deno.test("OnnxExports and OrtSessions: one export per outputs set, one session per backend and export", async () => {
  const exports = new OnnxExports(bert.model);
  const a = exports.bytes({ outputs: ["logits", "attentions"] });
  strictEqual(exports.bytes({ outputs: ["attentions", "logits"] }), a, "the same outputs in another order");
  ok(exports.bytes({ outputs: ["logits"] }) !== a, "another outputs set is another export");
  const sessions = new OrtSessions(bert.model, exports);
  try {
    const one = await sessions.open("ort-wasm", { outputs: ["attentions", "logits"] });
    strictEqual(await sessions.open("ort-wasm", { outputs: ["logits", "attentions"] }), one);
    ok(await sessions.open("ort-node", { outputs: ["logits", "attentions"] }) !== one);
    deepStrictEqual([...one.outputNames].sort(), ["attentions.0", "attentions.1", "attentions.2", "logits"]);
  } finally {
    await sessions.close();
  }
});
