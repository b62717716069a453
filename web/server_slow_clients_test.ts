/**
 * The analyzer on a real server (127.0.0.1, port 0) under slow, aborting and heavy clients: a dripping body
 * is timed out, a body cut off mid-way is no server error, requests are admitted or refused on arrival, and
 * `GET /api/model` answers quickly while compute runs on the worker.
 */

import { ok, strictEqual } from "node:assert";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { serveOverNodeHttp } from "./_node_server.ts";
import { type App, createApp, type Limits } from "./app.ts";
import { BERT_DIR, EMBEDDED_BERT_DIR, fixture } from "../tests/helpers/web.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tiny = await fixture(BERT_DIR);

/** The two ways the app is served: `deno task serve` (node:http) and `deno serve` / Deno Deploy (`Deno.serve`). */
type ServerKind = "node:http" | "Deno.serve";

/** Serves `app` on 127.0.0.1 and records every status it answers, and anything logged as an error. */
async function withServer(
  app: App,
  body: (port: number, seen: { statuses: number[]; errors: string[] }) => Promise<void>,
  kind: ServerKind = "node:http",
): Promise<void> {
  const seen = { statuses: [] as number[], errors: [] as string[] };
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void seen.errors.push(args.map(String).join(" "));
  const handler = async (req: Request) => {
    const res = await app.fetch(req);
    seen.statuses.push(res.status);
    return res;
  };
  const server = kind === "node:http"
    ? await serveOverNodeHttp(handler, { hostname: "127.0.0.1", port: 0 })
    : Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      onError: (e) => {
        seen.errors.push(`onError: ${e}`);
        return new Response("onError", { status: 500 });
      },
    }, handler);
  try {
    await body(server.addr.port, seen);
  } finally {
    await server.shutdown();
    app.close?.();
    console.error = consoleError;
  }
}

/** A raw HTTP/1.1 connection: the headers of a JSON POST that declares `declared` body bytes. */
async function openPost(port: number, path: string, declared: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
    `content-length: ${declared}\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head));
  return conn;
}

/** Reads from a raw connection until it closes or `ms` pass; the text, and whether it closed. */
async function readFor(conn: Deno.TcpConn, ms: number): Promise<{ text: string; closed: boolean }> {
  const buf = new Uint8Array(4096);
  let text = "";
  const stop = sleep(ms).then(() => "stop" as const);
  while (true) {
    const n = await Promise.race([conn.read(buf).catch(() => null), stop]);
    if (n === "stop") return { text, closed: false };
    if (n === null) return { text, closed: true };
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

const limits = (l: Partial<Limits>): Partial<Limits> => l;

for (const kind of ["node:http", "Deno.serve"] as const) {
  Deno.test(`${kind}: a client that drips its body slower than bodyTimeoutMs gets 408 at the deadline`, async () => {
    await withServer(createApp({ ...tiny, limits: limits({ bodyTimeoutMs: 300 }) }), async (port, seen) => {
      const conn = await openPost(port, "/api/analyze", 200);
      const t0 = performance.now();
      let dripping = true;
      const drip = (async () => {
        for (let i = 0; i < 30 && dripping; i++) { // at most 1.5 s of drip, 1 byte each 50 ms
          await conn.write(new Uint8Array([32])).catch(() => (dripping = false));
          await sleep(50);
        }
      })();
      const { text, closed } = await readFor(conn, kind === "node:http" ? 2500 : 600);
      const took = performance.now() - t0;
      dripping = false;
      await drip;
      conn.close();
      ok(text.startsWith("HTTP/1.1 408"), `408 first: ${text.slice(0, 80)}`);
      ok(text.includes("body_timeout"), text);
      // Deno.serve holds the socket until the declared body is in; `deno task serve` (node:http) closes it
      if (kind === "node:http") {
        ok(closed, "the server closed the connection");
        ok(took < 1500, `answered and closed near the deadline (${took.toFixed(0)} ms)`);
      }
      strictEqual(seen.errors.length, 0, seen.errors.join("\n"));
    }, kind);
  });

  Deno.test(`${kind}: a client that aborts mid-body gets no 500 and leaves nothing in the error log`, async () => {
    await withServer(createApp(tiny), async (port, seen) => {
      for (let i = 0; i < 5; i++) {
        const conn = await openPost(port, i % 2 ? "/api/importance" : "/api/analyze", 1000);
        await conn.write(new TextEncoder().encode('{"text": "half a bo'));
        await sleep(20);
        conn.close();
      }
      for (let t = 0; t < 100 && seen.statuses.length < 5; t++) await sleep(20);
      strictEqual(seen.statuses.length, 5, `every aborted request was answered: ${seen.statuses}`);
      ok(seen.statuses.every((s) => s === 400), `400 body_incomplete, no 500: ${seen.statuses}`);
      strictEqual(seen.errors.length, 0, `nothing logged as an error:\n${seen.errors.join("\n")}`);
      const res = await fetch(`http://127.0.0.1:${port}/api/analyze`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"text":"still up"}',
      });
      strictEqual(res.status, 200, "and the server still answers");
      await res.body?.cancel();
    }, kind);
  });
}

// the embedded model: 32 examples of ~100 tokens take a few tenths of a second (bucketed, per-example
// gradients), long enough to overlap with probes
const embedded = await fixture(EMBEDDED_BERT_DIR);
const label = embedded.model.config.labels[0];
const heavy = JSON.stringify({
  examples: Array.from(
    { length: 32 },
    (_, i) => ({ text: `review ${i}: ` + "the film was long and good ".repeat(16), label }),
  ),
});
const postHeavy = (port: number) =>
  fetch(`http://127.0.0.1:${port}/api/importance`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: heavy,
  });

Deno.test("compute on the worker: /api/model stays fast, bursts and full queues are refused on arrival", async (t) => {
  // one app and one worker for the three steps (the worker's model load is the slow part)
  const app = createApp({ ...embedded, files: localFiles(EMBEDDED_BERT_DIR), limits: limits({ maxQueue: 3 }) });
  await withServer(app, async (port) => {
    const warm = await postHeavy(port); // starts the worker and loads its model
    strictEqual(warm.status, 200, await warm.text());

    // not a timing test: a probe answered while jobs compute proves the event loop is free (the 100 ms
    // target is measured by `deno task load`); a blocked loop would hold each probe for a whole job
    await t.step("GET /api/model answers while importance computes", async () => {
      let computing = true;
      const t0 = performance.now();
      const jobs = Promise.all(
        [0, 1, 2].map(() => postHeavy(port).then(async (r) => (await r.body?.cancel(), r.status))),
      )
        .finally(() => (computing = false));
      const latencies: number[] = [];
      while (computing && latencies.length < 200) {
        const t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/api/model`);
        await res.json();
        if (computing) latencies.push(performance.now() - t);
        await sleep(10);
      }
      const statuses = await jobs;
      const computeMs = performance.now() - t0;
      strictEqual(statuses.join(), "200,200,200");
      ok(latencies.length >= 5, `probed during ${computeMs.toFixed(0)} ms of compute (${latencies.length} probes)`);
      const worst = Math.max(...latencies);
      ok(
        worst < computeMs / 2,
        `no probe waited for the compute (worst ${worst.toFixed(1)} ms of ${computeMs.toFixed(0)} ms)`,
      );
    });

    await t.step("a burst: the running one and a full queue are served, the rest refused at once", async () => {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 40 }, async () => {
        const res = await postHeavy(port);
        const body = await res.json();
        return { status: res.status, ms: performance.now() - t0, retryAfter: res.headers.get("retry-after"), body };
      }));
      const done = results.filter((r) => r.status === 200);
      const busy = results.filter((r) => r.status === 503);
      strictEqual(done.length + busy.length, 40, `only 200 and 503: ${results.map((r) => r.status)}`);
      ok(done.length >= 4, `the running one and a full queue are served (${done.length})`);
      ok(busy.length >= 20, `most of the burst is refused (${busy.length})`);
      for (const r of busy) {
        strictEqual(r.body.error, "busy");
        ok(Number(r.retryAfter) >= 1, "Retry-After");
      }
      const slowestRefusal = Math.max(...busy.map((r) => r.ms));
      const lastServed = Math.max(...done.map((r) => r.ms));
      ok(
        slowestRefusal < lastServed,
        `refusals come before the queue drains (${slowestRefusal.toFixed(0)} < ${lastServed.toFixed(0)} ms)`,
      );
    });

    await t.step("a request that arrives at a full queue is refused before its body is read", async () => {
      const inFlight = [0, 1, 2, 3].map(() => postHeavy(port)); // one running, three waiting: full
      await sleep(100);
      const conn = await openPost(port, "/api/analyze", 100); // headers only: no body yet
      const t0 = performance.now();
      const { text, closed } = await readFor(conn, 2000);
      const took = performance.now() - t0;
      conn.close();
      ok(text.startsWith("HTTP/1.1 503"), `503 before any body byte: ${text.slice(0, 60)}`);
      ok(/retry-after: [1-9]/i.test(text), "Retry-After");
      ok(text.includes('"busy"'), text);
      ok(closed && took < 1000, `answered and closed at once (${took.toFixed(0)} ms)`);
      for (const r of await Promise.all(inFlight)) await r.body?.cancel();
    });
  });
});
