import { ok, strictEqual } from "node:assert";
import { createApp } from "./app.ts";
import { BERT_DIR, fixture } from "../tests/helpers/web.ts";

Deno.test("a real server answers 200 concurrent analyze requests with 200 or 503, in bounded time and memory", async () => {
  const app = createApp(await fixture(BERT_DIR));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/api/analyze`;
    const rssBefore = Deno.memoryUsage().rss;
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `request number ${i} asks for every attention head of the model` }),
      });
      const body = await res.json();
      return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
    }));
    const elapsed = performance.now() - t0;
    const rssGrowth = Deno.memoryUsage().rss - rssBefore;
    const ok200 = results.filter((r) => r.status === 200);
    const busy = results.filter((r) => r.status === 503);
    strictEqual(ok200.length + busy.length, 200, `statuses: ${[...new Set(results.map((r) => r.status))]}`);
    ok(ok200.length >= 17, `at least the running one and a full queue succeed (${ok200.length})`);
    for (const r of busy) {
      ok(Number(r.retryAfter) >= 1, "503 carries Retry-After");
      ok(r.body.error === "busy" || r.body.error === "timeout", r.body.error);
    }
    for (const r of ok200) strictEqual(r.body.attention.length, 3);
    ok(elapsed < 30_000, `answered within 30 s (${elapsed.toFixed(0)} ms)`);
    ok(rssGrowth < 512 * 1024 * 1024, `memory growth bounded (${(rssGrowth / 2 ** 20).toFixed(0)} MiB)`);
    // and the server still works afterwards
    const after = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"text":"still up"}',
    });
    strictEqual(after.status, 200);
    await after.body?.cancel();
  } finally {
    await server.shutdown();
  }
});
