import { ok, strictEqual } from "node:assert";
import { serveOverNodeHttp } from "./_node_server.ts";

Deno.test("serveOverNodeHttp() passes method, path, headers and body through, and answers with the app's response", async () => {
  const server = await serveOverNodeHttp(async (req) => {
    const body = req.body ? await req.text() : null;
    return Response.json({ method: req.method, path: new URL(req.url).pathname, type: req.headers.get("x-t"), body }, {
      status: 201,
      headers: { "x-answer": "yes" },
    });
  }, { hostname: "127.0.0.1", port: 0 });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const res = await fetch(`${base}/a/b?c=1`, { method: "POST", headers: { "x-t": "json" }, body: "hello" });
    strictEqual(res.status, 201);
    strictEqual(res.headers.get("x-answer"), "yes");
    const j = await res.json();
    strictEqual(j.method, "POST");
    strictEqual(j.path, "/a/b");
    strictEqual(j.type, "json");
    strictEqual(j.body, "hello");
    const again = await (await fetch(`${base}/`)).json(); // the connection is still good for another request
    strictEqual(again.method, "GET");
    strictEqual(again.body, null);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveOverNodeHttp() closes the socket after answering a request whose body it did not read", async () => {
  const server = await serveOverNodeHttp(
    () => Promise.resolve(new Response("refused", { status: 503 })),
    { hostname: "127.0.0.1", port: 0 },
  );
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc"));
    const buf = new Uint8Array(4096);
    let text = "";
    const t0 = performance.now();
    let timedOut = false;
    const guard = setTimeout(() => (timedOut = true, conn.close()), 2000); // never hang the suite
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    clearTimeout(guard);
    if (!timedOut) conn.close();
    ok(text.startsWith("HTTP/1.1 503"), text.slice(0, 40));
    ok(!timedOut, `closed by the server, not by the test's guard (${(performance.now() - t0).toFixed(0)} ms)`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveOverNodeHttp({ serverTiming }) adds the app time, the loop stall and its CPU to each response", async () => {
  const server = await serveOverNodeHttp(
    () => Promise.resolve(new Response("ok")),
    { hostname: "127.0.0.1", port: 0, serverTiming: true },
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const plain = await serveOverNodeHttp(() => Promise.resolve(new Response("ok")), {
      hostname: "127.0.0.1",
      port: 0,
    });
    const none = await fetch(`http://127.0.0.1:${plain.addr.port}/`);
    await none.body?.cancel();
    strictEqual(none.headers.get("server-timing"), null, "off unless asked");
    await plain.shutdown();
    // block the loop for 150 ms: the next answer reports a stall at least that long
    await new Promise((r) => setTimeout(r, 30));
    const until = performance.now() + 150;
    while (performance.now() < until) { /* busy */ }
    await new Promise((r) => setTimeout(r, 30));
    const res = await fetch(`${base}/`);
    await res.body?.cancel();
    const parts = Object.fromEntries(
      (res.headers.get("server-timing") ?? "").split(",").map((m) => m.trim().split(";dur=")),
    );
    ok(Number(parts.app) >= 0 && Number(parts.app) < 1000, JSON.stringify(parts));
    ok(Number(parts.loop) >= 130, `stall ${parts.loop} ms`);
    // the main thread's CPU in it: some (the machine may be busy: not all), never more than the stall itself
    const cpu = Number(parts.loopcpu);
    ok(cpu > 0 && cpu <= Number(parts.loop) + 20, `cpu during the stall ${parts.loopcpu} ms`);
  } finally {
    await server.shutdown();
  }
});
