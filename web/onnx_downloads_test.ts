import { ok, strictEqual } from "node:assert";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { exportOnnx } from "@bertology/core/export";
import { createApp } from "./app.ts";
import type { ComputeBackend } from "./_compute.ts";
import { resolveLimits } from "./_limits.ts";
import { ComputeQueue } from "./_queue.ts";
import { OnnxDownloads } from "./onnx_route.ts";
import { BERT_DIR, EMBEDDED_BERT_DIR, fixture, post } from "../tests/helpers/web.ts";

const bert = await fixture(BERT_DIR);

/** Whether two byte arrays hold the same bytes (whatever their classes: protobufjs may give a Buffer). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

/** A backend that counts its exports and holds each one until `release` is called. */
function countingBackend() {
  const calls: string[][] = [];
  let release = () => {};
  const gate = new Promise<void>((r) => release = r);
  const backend: ComputeBackend = {
    mode: "inline",
    run: () => Promise.reject(new Error("not used")),
    ready: () => Promise.resolve(),
    async exportOnnx(options) {
      calls.push([...options.outputs ?? []]);
      await gate;
      return exportOnnx(bert.model, options).bytes;
    },
    close() {},
  };
  return { backend, calls, release: () => release() };
}

Deno.test("OnnxDownloads: concurrent requests for one outputs set share one export; a full queue is 503 busy", async () => {
  const limits = resolveLimits({ maxQueue: 1 }, bert.model.config.maxPositions);
  const queue = new ComputeQueue({ maxWaiting: limits.maxQueue, timeoutMs: limits.timeoutMs });
  const { backend, calls, release } = countingBackend();
  const onnx = new OnnxDownloads(bert.model, limits, queue, backend);
  const same = Array.from(
    { length: 12 },
    (_, i) => onnx.response(i % 2 ? "attentions,logits" : null, queue.deadline()),
  );
  await new Promise((r) => setTimeout(r, 0));
  strictEqual(queue.busy, true, "the export has its turn");
  // the export runs and one more waits (maxQueue 1): a third outputs set is refused, before any export starts
  const other = onnx.response("hidden_states", queue.deadline());
  await new Promise((r) => setTimeout(r, 0));
  const third = await onnx.response("logits", queue.deadline()).then(() => undefined, (e) => e);
  strictEqual(third?.status, 503);
  strictEqual(third?.code, "busy");
  release();
  const answers = await Promise.all(same);
  const bodies = await Promise.all(answers.map(async (r) => new Uint8Array(await r.arrayBuffer())));
  for (const b of bodies) ok(sameBytes(b, bodies[0]!));
  strictEqual((await other).status, 200);
  strictEqual(calls.length, 2, `one export per outputs set: ${JSON.stringify(calls)}`);
  // kept: a later request exports nothing
  await (await onnx.response("logits,attentions", queue.deadline())).body?.cancel();
  strictEqual(calls.length, 2);
});

Deno.test("OnnxDownloads: the kept exports stay within maxOnnxBytes, the least recently asked for dropped", async () => {
  const size = exportOnnx(bert.model, { outputs: ["logits"] }).bytes.byteLength;
  const limits = resolveLimits({ maxOnnxBytes: Math.ceil(size * 2.5) }, bert.model.config.maxPositions);
  const queue = new ComputeQueue({ maxWaiting: 4, timeoutMs: limits.timeoutMs });
  const { backend, calls, release } = countingBackend();
  release();
  const onnx = new OnnxDownloads(bert.model, limits, queue, backend);
  const get = async (outputs: string) => await (await onnx.response(outputs, queue.deadline())).arrayBuffer();
  await get("logits");
  await get("attentions,logits");
  await get("logits"); // most recently asked for
  await get("hidden_states,logits"); // the third does not fit beside two: attentions,logits goes
  strictEqual(calls.length, 3);
  await get("logits");
  strictEqual(calls.length, 3, "logits kept");
  await get("attentions,logits");
  strictEqual(calls.length, 4, "attentions,logits was dropped and exported again");
});

Deno.test("GET /api/onnx runs under the compute queue's admission: 503 busy while compute fills it", async () => {
  const embedded = await fixture(EMBEDDED_BERT_DIR);
  const files = localFiles(EMBEDDED_BERT_DIR);
  const app = createApp({ ...embedded, files, browserCompute: true, limits: { maxQueue: 0 } });
  try {
    strictEqual((await app.fetch(post("/api/analyze", { text: "warm up" }))).status, 200);
    const examples = Array.from({ length: 32 }, () => ({ text: "a long and slow film ".repeat(20), label: 1 }));
    const busy = app.fetch(post("/api/importance", { examples }));
    // wait until the importance job holds the queue (a compute request is refused then)
    for (;;) {
      const probe = await app.fetch(post("/api/analyze", { text: "probe" }));
      await probe.body?.cancel();
      if (probe.status === 503) break;
    }
    const refused = await app.fetch(new Request("http://localhost/api/onnx"));
    const body = await refused.json();
    strictEqual(refused.status, 503, JSON.stringify(body));
    strictEqual(body.error, "busy");
    ok(refused.headers.get("retry-after"));
    strictEqual((await busy).status, 200);
    // once the queue is free, the worker exports it: the same bytes as an export here
    const res = await app.fetch(new Request("http://localhost/api/onnx?outputs=logits"));
    strictEqual(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    strictEqual(Number(res.headers.get("content-length")), bytes.byteLength);
    ok(sameBytes(bytes, exportOnnx(embedded.model, { outputs: ["logits"] }).bytes), "the bytes of an export here");
    const head = await app.fetch(new Request("http://localhost/api/onnx?outputs=logits", { method: "HEAD" }));
    strictEqual(head.status, 200);
    strictEqual(head.headers.get("content-length"), String(bytes.byteLength));
  } finally {
    app.close?.();
  }
});

Deno.test("GET /api/onnx on the embedded model: concurrent requests all answer 200 with one export's bytes", async () => {
  const embedded = await fixture(EMBEDDED_BERT_DIR);
  const app = createApp({ ...embedded, files: localFiles(EMBEDDED_BERT_DIR), browserCompute: true });
  try {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => app.fetch(new Request("http://localhost/api/onnx"))),
    );
    const bodies = await Promise.all(answers.map(async (r) => new Uint8Array(await r.arrayBuffer())));
    for (const [i, r] of answers.entries()) strictEqual(r.status, 200, `request ${i}`);
    for (const b of bodies) ok(sameBytes(b, bodies[0]!));
  } finally {
    app.close?.();
  }
});
