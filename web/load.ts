/**
 * A bounded load run against `deno task serve` on 127.0.0.1 (not part of `deno task test`): starts the server
 * as a child process, opens `--drips` connections that each drip a POST body one byte at a time (at most 40
 * bytes, one every 250 ms), sends `--burst` concurrent importance requests of 32 long examples, probes
 * `GET /api/model` every 100 ms, and samples the server's RSS. Prints peak RSS, status counts, latencies and
 * how the dripping connections ended. Everything stops by itself after `--seconds` (default 40). `--onnx N` runs
 * the server as `deno task serve:ort` does (in-browser compute on) and adds N concurrent `GET /api/onnx`
 * requests after the burst, each read to its end (`deno task load:onnx`: 30 of them, alone).
 *
 * @example Usage
 * ```sh
 * cd web && deno task load                               # 300 requests, 3,000 drips, models/bert-sst2
 * deno run -A web/load.ts --burst 50 --drips 200 --model tests/fixtures/models/bert-tiny-random
 * cd web && deno task load:onnx                          # 30 concurrent GET /api/onnx under serve:ort
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BUNDLED_MODEL_DIR } from "./_model_dir.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    burst: { type: "string", default: "300" },
    drips: { type: "string", default: "3000" },
    seconds: { type: "string", default: "40" },
    port: { type: "string", default: "8791" },
    model: { type: "string", default: BUNDLED_MODEL_DIR },
    nice: { type: "string", default: "0" },
    backlog: { type: "string" },
    onnx: { type: "string", default: "0" },
  },
});
const ONNX = Number(values.onnx);
const BURST = Number(values.burst), DRIPS = Number(values.drips), SECONDS = Number(values.seconds);
const PORT = Number(values.port), MODEL = values.model, NICE = Number(values.nice);
const HOST = "127.0.0.1";
const DEADLINE_MS = 20_000; // the server's default timeoutMs
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const now = () => performance.now() - t0;
const stopAt = SECONDS * 1000;

/** The server's resident memory in MiB, from `ps` (reading /proc needs --allow-all under Deno). */
function rssMiB(pid: number): number {
  try {
    const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" }).outputSync();
    return Number(new TextDecoder().decode(out.stdout).trim()) / 1024 || NaN;
  } catch {
    return NaN;
  }
}

/** A process's CPU time so far (user + system) in seconds, from `ps`. */
function cpuSeconds(pid: number): number {
  try {
    const out = new Deno.Command("ps", { args: ["-o", "times=", "-p", String(pid)], stdout: "piped" }).outputSync();
    return Number(new TextDecoder().decode(out.stdout).trim());
  } catch {
    return NaN;
  }
}

/** The kernel's count of connections dropped because a listen queue was full (Linux), or NaN. */
function listenOverflows(): number {
  try {
    // through cat: Deno reads /proc only with --allow-all
    const out = new Deno.Command("cat", { args: ["/proc/net/netstat"], stdout: "piped" }).outputSync();
    const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("TcpExt:"));
    const keys = lines[0]!.split(/\s+/), values = lines[1]!.split(/\s+/);
    return Number(values[keys.indexOf("ListenOverflows")]);
  } catch {
    return NaN;
  }
}

/** The machine's load average, from `uptime` (the load client shares the machine with the server). */
function loadAverage(): string {
  try {
    const out = new Deno.Command("uptime", { stdout: "piped" }).outputSync();
    return new TextDecoder().decode(out.stdout).split("load average:")[1]?.trim() ?? "?";
  } catch {
    return "?";
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (x: number) => Number.isFinite(x) ? x.toFixed(0) : "-";

// --- the server --------------------------------------------------------------------------------------------
const serveTs = new URL("./serve.ts", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    // serve:ort's permissions (onnxruntime's files and native library) where GET /api/onnx is part of the run
    ...(ONNX > 0
      ? ["--allow-read", "--allow-ffi"]
      : [`--allow-read=${MODEL},${new URL("..", import.meta.url).pathname}`]), // the model, the worker's modules
    "--allow-env=BERTOLOGY_MODEL",
    `--allow-net=${HOST}:${PORT}`,
    serveTs,
    "--port",
    String(PORT),
    "--model",
    MODEL,
    "--server-timing",
    ...(values.backlog !== undefined ? ["--backlog", values.backlog] : []),
  ],
  stdout: "piped",
  stderr: "piped",
}).spawn();
const serverLog: string[] = [];
for (const stream of [child.stdout, child.stderr]) {
  void stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void serverLog.push(t) }),
  ).catch(() => {});
}
const base = `http://${HOST}:${PORT}`;
for (let i = 0; i < 200; i++) {
  const ok = await fetch(`${base}/api/model`).then((r) => r.body?.cancel().then(() => true), () => false);
  if (ok) break;
  if (i === 199) throw new Error(`server did not start:\n${serverLog.join("")}`);
  await sleep(100);
}
const labels: string[] = (await (await fetch(`${base}/api/model`)).json()).labels;
const body = JSON.stringify({
  examples: Array.from({ length: 32 }, (_, i) => ({
    text: `review ${i}: ` + "the film was long, slow and yet somehow good in the end ".repeat(8),
    ...(labels.length ? { label: labels[i % labels.length] } : {}),
  })),
});
// warm the worker (it loads its model on the first compute request)
await fetch(`${base}/api/importance`, { method: "POST", headers: { "content-type": "application/json" }, body })
  .then((r) => r.body?.cancel());
const rssIdle = rssMiB(child.pid);
const serverCpu0 = cpuSeconds(child.pid), clientCpu0 = cpuSeconds(Deno.pid);
const overflows0 = listenOverflows();

// --- probes: RSS and GET /api/model ------------------------------------------------------------------------
let peakRss = rssIdle;
let running = true;
const modelLatencies: number[] = [];
const modelServerMs: number[] = []; // the server's own time for each probe (its server-timing header)
// the server's longest event-loop stall in the second before each probe, and its main thread's CPU ms in it
const loopStalls: [number, number][] = [];
const slowProbes: string[] = []; // when the slow ones happened (s since start)
let modelFailures = 0;
const sampler = (async () => {
  while (running) {
    peakRss = Math.max(peakRss, rssMiB(child.pid));
    await sleep(250);
  }
})();
// the prober runs in its own process, so that the load client's busy event loop does not delay it
const PROBER = `
  const [base, stopFile] = Deno.args;
  const out = [];
  while (true) {
    try { Deno.statSync(stopFile); break; } catch { /* keep probing */ }
    const t = performance.now();
    try {
      const r = await fetch(base + "/api/model", { signal: AbortSignal.timeout(10000) });
      await r.json();
      const timing = r.headers.get("server-timing") ?? "";
      const parts = Object.fromEntries(timing.split(",").map((m) => m.trim().split(";dur=")));
      const metric = (name) => parts[name] === undefined ? -1 : Number(parts[name]);
      out.push([Date.now(), performance.now() - t, metric("app"), metric("loop"), metric("loopcpu")]);
    } catch { out.push([Date.now(), -1]); }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(JSON.stringify(out));
`;
const stopFile = await Deno.makeTempFile({ prefix: "web-load-stop-" });
await Deno.remove(stopFile);
const wallT0 = Date.now() - now();
const proberChild = new Deno.Command(Deno.execPath(), {
  args: ["eval", PROBER, base, stopFile],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
// the load client (drips and burst) yields the CPU to the server and the prober, which keep their priority
if (NICE > 0) {
  await new Deno.Command("renice", {
    args: ["-n", String(NICE), "-p", String(Deno.pid)],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => undefined);
}
const prober = (async () => {
  while (running) await sleep(100);
  await Deno.writeTextFile(stopFile, "stop");
  const out = await proberChild.output();
  await Deno.remove(stopFile).catch(() => {});
  const probes = JSON.parse(new TextDecoder().decode(out.stdout)) as [number, number, number, number, number][];
  for (const [wall, ms, app, loop, loopCpu] of probes) {
    if (ms < 0) {
      modelFailures++;
      continue;
    }
    modelLatencies.push(ms);
    if (app >= 0) modelServerMs.push(app);
    if (loop >= 0) loopStalls.push([loop, loopCpu]);
    if (ms > 100) slowProbes.push(`${((wall - wallT0) / 1000).toFixed(1)} s: ${ms.toFixed(0)} ms`);
  }
})();

// --- dripping connections ----------------------------------------------------------------------------------
const dripEnds = { response408: 0, response503: 0, responseOther: 0, closedSilently: 0, stillOpen: 0, failed: 0 };
const dripCloseMs: number[] = [];
async function drip(): Promise<void> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: HOST, port: PORT });
  } catch {
    dripEnds.failed++;
    return;
  }
  const opened = performance.now();
  const head =
    `POST /api/analyze HTTP/1.1\r\nhost: ${HOST}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n`;
  let closed = false;
  let firstLine = "";
  const reader = (async () => {
    const buf = new Uint8Array(1024);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      if (!firstLine) firstLine = new TextDecoder().decode(buf.subarray(0, Math.min(n, 12)));
    }
    closed = true;
    dripCloseMs.push(performance.now() - opened);
  })();
  try {
    await conn.write(new TextEncoder().encode(head));
    for (let i = 0; i < 40 && !closed && now() < stopAt - 2000; i++) {
      await conn.write(new Uint8Array([32]));
      await sleep(250);
    }
  } catch { /* the server closed it */ }
  // wait for the server's verdict, bounded
  for (let i = 0; i < 20 && !closed; i++) await sleep(100);
  if (firstLine.startsWith("HTTP/1.1 408")) dripEnds.response408++;
  else if (firstLine.startsWith("HTTP/1.1 503")) dripEnds.response503++;
  else if (firstLine) dripEnds.responseOther++;
  else if (closed) dripEnds.closedSilently++;
  if (!closed) dripEnds.stillOpen++;
  try {
    conn.close();
  } catch { /* closed already */ }
  await reader;
}
const drips: Promise<void>[] = [];
const dripT0 = now();
const dripStart = (async () => {
  for (let i = 0; i < DRIPS; i += 100) {
    for (let j = i; j < Math.min(DRIPS, i + 100); j++) drips.push(drip());
    await sleep(20);
  }
})();

// --- the burst ---------------------------------------------------------------------------------------------
await sleep(500);
const statuses = new Map<string, number>();
const latencies: number[] = [];
let overDeadline = 0;
const burstStart = performance.now();
const burstT0 = now();
await Promise.all(Array.from({ length: BURST }, async () => {
  const t = performance.now();
  let key: string;
  try {
    const r = await fetch(`${base}/api/importance`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(Math.max(1000, stopAt - now())),
    });
    const j = await r.json();
    key = r.status === 200 ? "200" : `${r.status} ${j.error}${r.headers.get("retry-after") ? " +Retry-After" : ""}`;
  } catch (e) {
    key = `client error (${(e as Error).name})`;
  }
  const ms = performance.now() - t;
  latencies.push(ms);
  if (ms > DEADLINE_MS + 1000) overDeadline++;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
}));
const burstMs = performance.now() - burstStart;
const onnxStatuses = new Map<string, number>();
const onnxLatencies: number[] = [];
const onnxBytes = new Set<number>();
const onnxStart = performance.now();
await Promise.all(Array.from({ length: ONNX }, async () => {
  const t = performance.now();
  let key: string;
  try {
    const r = await fetch(`${base}/api/onnx`, { signal: AbortSignal.timeout(Math.max(1000, stopAt - now())) });
    if (r.status === 200) {
      let n = 0;
      for await (const chunk of r.body!) n += chunk.byteLength;
      onnxBytes.add(n);
      key = "200";
    } else key = `${r.status} ${(await r.json()).error}`;
  } catch (e) {
    key = `client error (${(e as Error).name})`;
  }
  onnxLatencies.push(performance.now() - t);
  onnxStatuses.set(key, (onnxStatuses.get(key) ?? 0) + 1);
}));
const onnxMs = performance.now() - onnxStart;
await dripStart;
await Promise.all(drips);
running = false;
await Promise.all([sampler, prober]);
const rssEnd = rssMiB(child.pid);
const serverCpu = cpuSeconds(child.pid) - serverCpu0, clientCpu = cpuSeconds(Deno.pid) - clientCpu0;
const runSeconds = (now() - burstT0 + 500) / 1000;
const overflows = listenOverflows() - overflows0;
child.kill("SIGTERM");
await child.status;

console.log(
  `machine: ${navigator.hardwareConcurrency} cores, load average ${loadAverage()} (the load client runs here too)`,
);
console.log(
  `model ${MODEL}; ${BURST} concurrent importance requests (32 examples each), ${DRIPS} dripping connections`,
);
console.log(
  `CPU over the ${runSeconds.toFixed(1)} s run: server ${serverCpu.toFixed(1)} s (${
    (100 * serverCpu / runSeconds).toFixed(0)
  } % of a core), load client ${clientCpu.toFixed(1)} s at nice ${NICE}`,
);
console.log(
  `listen queue overflows (connections whose SYN the kernel dropped, machine-wide): ${
    Number.isNaN(overflows) ? "?" : overflows
  }`,
);
console.log(`server RSS: idle ${fmt(rssIdle)} MiB, peak ${fmt(peakRss)} MiB, end ${fmt(rssEnd)} MiB`);
console.log(`burst: answered in ${fmt(burstMs)} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
console.log(
  `burst latency ms: p50 ${fmt(pct(latencies, 50))}, p90 ${fmt(pct(latencies, 90))}, max ${
    fmt(Math.max(...latencies))
  }; past the ${DEADLINE_MS} ms deadline (+1 s): ${overDeadline}`,
);
if (ONNX > 0) {
  console.log(
    `GET /api/onnx: ${ONNX} concurrent requests answered in ${fmt(onnxMs)} ms; statuses ${
      JSON.stringify(Object.fromEntries(onnxStatuses))
    }; body sizes ${[...onnxBytes].join(", ")} bytes; latency ms p50 ${fmt(pct(onnxLatencies, 50))}, max ${
      fmt(Math.max(...onnxLatencies))
    }`,
  );
}
console.log(
  `GET /api/model: ${modelLatencies.length} probes, p50 ${fmt(pct(modelLatencies, 50))} ms, p99 ${
    fmt(pct(modelLatencies, 99))
  } ms, max ${fmt(Math.max(...modelLatencies))} ms, failures ${modelFailures}`,
);
console.log(
  `GET /api/model inside the server (request event to response written, its server-timing): p50 ${
    pct(modelServerMs, 50).toFixed(2)
  } ms, p99 ${pct(modelServerMs, 99).toFixed(2)} ms, max ${Math.max(...modelServerMs).toFixed(2)} ms`,
);
const stallMs = loopStalls.map(([s]) => s);
const worst = [...loopStalls].sort((a, b) => b[0] - a[0]).slice(0, 5);
console.log(
  `server event-loop stall (longest in the second before each probe): p50 ${fmt(pct(stallMs, 50))} ms, p99 ${
    fmt(pct(stallMs, 99))
  } ms, max ${fmt(Math.max(...stallMs))} ms; the worst, with the main thread's CPU ms in them (the rest it ` +
    `waited for a core): ${worst.map(([s, c]) => `${fmt(s)} (cpu ${fmt(c)})`).join(", ")}`,
);
console.log(
  `drips: ${JSON.stringify(dripEnds)}; closed by the server after p50 ${fmt(pct(dripCloseMs, 50))} ms, max ${
    fmt(Math.max(...dripCloseMs))
  } ms`,
);
if (slowProbes.length) console.log(`GET /api/model over 100 ms: ${slowProbes.slice(0, 12).join(", ")}`);
console.log(`drips started at ${(dripT0 / 1000).toFixed(1)} s, burst at ${(burstT0 / 1000).toFixed(1)} s`);
const errors = serverLog.join("").split("\n").filter((l) => /error|trace|\s{4}at /i.test(l));
console.log(`server log: ${errors.length} error lines${errors.length ? ` (first: ${errors[0]!.slice(0, 160)})` : ""}`);
