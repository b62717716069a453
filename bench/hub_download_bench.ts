/**
 * Peak memory of a hub download: `deno run --allow-all bench/hub_download_bench.ts [MB (300)]`. This process serves
 * a valid safetensors file of MB megabytes on 127.0.0.1 in the hub's URL layout, generated as it is sent; a child
 * process downloads it through `hubFiles(…).open()` into a fresh cache and reports its resident set before and at
 * the peak (sampled on every progress callback). A download that streams to disk stays near the runtime's own
 * footprint; one that held the body would add about MB (twice that when it also joined the chunks).
 *
 * @module
 */

import { hubFiles } from "@bertology/core/checkpoint/deno";

const CHUNK = 1 << 20;

/** A safetensors header for one F32 tensor of `bytes` bytes, padded to a multiple of 8 as writers do. */
function safetensorsHeader(bytes: number): Uint8Array {
  let json = JSON.stringify({ w: { dtype: "F32", shape: [bytes / 4], data_offsets: [0, bytes] } });
  while ((json.length + 8) % 8 !== 0) json += " ";
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  return out;
}

async function child(endpoint: string): Promise<void> {
  const cacheDir = await Deno.makeTempDir({ prefix: "bertology-hub-bench-" });
  try {
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const files = hubFiles("bench/model", {
      endpoint,
      cacheDir,
      onProgress: () => (peak = Math.max(peak, Deno.memoryUsage().rss)),
    });
    const file = await files.open!("model.safetensors");
    peak = Math.max(peak, Deno.memoryUsage().rss);
    console.log(JSON.stringify({ size: file!.size, rss_before: before, rss_peak: peak }));
    file!.close();
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

async function parent(megabytes: number): Promise<void> {
  const dataBytes = megabytes * CHUNK;
  const header = safetensorsHeader(dataBytes);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(header.slice());
      },
      pull(controller) {
        if (sent === dataBytes) return controller.close();
        const n = Math.min(CHUNK, dataBytes - sent);
        controller.enqueue(new Uint8Array(n).fill(sent / CHUNK));
        sent += n;
      },
    });
    return new Response(body, { headers: { "content-length": String(header.length + dataBytes) } });
  });
  try {
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL(import.meta.url).pathname,
        "--child",
        `http://127.0.0.1:${server.addr.port}`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`the download child failed (exit ${out.code})`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      size: number;
      rss_before: number;
      rss_peak: number;
    };
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(
      `hub download of ${mb(r.size)} MB: child RSS ${mb(r.rss_before)} MB before, peak ${mb(r.rss_peak)} MB ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    await server.shutdown();
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") await child(Deno.args[1]!);
  else await parent(Number(Deno.args[0] ?? 300));
}
