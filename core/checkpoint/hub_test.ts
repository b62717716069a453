import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { hubCacheDir, hubFiles, parseHubId, resolveModel } from "./hub.ts";
import { writeSafetensors } from "./safetensors.ts";

const enc = new TextEncoder();
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
/** A valid safetensors file of about 100 kB. */
const BIG = new Uint8Array(
  writeSafetensors([{ name: "w", shape: [25_000], data: Float32Array.from({ length: 25_000 }, (_, i) => i) }]),
);
const HALF = Math.floor(BIG.length / 2);

interface Hub {
  endpoint: string;
  /** Requests seen: path and Authorization header. */
  log: Array<{ path: string; auth: string | null }>;
  close(): Promise<void>;
}

/** A local server in the hub's URL layout. */
function startHub(): Hub {
  const log: Hub["log"] = [];
  let bigRequests = 0;
  const handler = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    const auth = req.headers.get("authorization");
    log.push({ path, auth });
    switch (path) {
      case "/org/model/resolve/main/config.json":
        return new Response(null, { status: 302, headers: { location: "/cdn/config-main" } });
      case "/cdn/config-main":
        return new Response('{"rev":"main"}');
      case "/org/model/resolve/v1.0/config.json":
        return new Response(null, { status: 302, headers: { location: "../../cdn/config-v1" } });
      case "/org/model/cdn/config-v1":
        return new Response('{"rev":"v1.0"}');
      case "/org/model/resolve/refs%2Fpr%2F1/config.json":
        return new Response('{"rev":"pr1"}');
      case "/bert-base-uncased/resolve/main/vocab.txt":
        return new Response("[PAD]\n");
      case "/org/private/resolve/main/config.json":
        return auth === "Bearer hf_secret"
          ? new Response('{"private":true}')
          : new Response("unauthorized", { status: 401, statusText: "Unauthorized" });
      case "/org/model/resolve/main/teapot.json":
        return new Response("short and stout", { status: 418, statusText: "I'm a teapot" });
      case "/org/model/resolve/main/broken.json":
        return new Response("oops", { status: 500, statusText: "Internal Server Error" });
      case "/org/model/resolve/main/model.safetensors": {
        // The first download dies halfway through; later ones succeed.
        bigRequests++;
        if (bigRequests > 1) return new Response(BIG);
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(BIG.subarray(0, HALF));
            controller.error(new Error("connection dropped"));
          },
        });
        return new Response(body, { headers: { "content-length": String(BIG.length) } });
      }
      default:
        return new Response("not found", { status: 404, statusText: "Not Found" });
    }
  };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, handler);
  return { endpoint: `http://127.0.0.1:${server.addr.port}`, log, close: () => server.shutdown() };
}

/** A fetch that fails the test if called. */
const noNetwork: typeof fetch = () => Promise.reject(new Error("network used"));

async function withCache(fn: (cacheDir: string) => Promise<void>) {
  const cacheDir = await Deno.makeTempDir({ prefix: "bertology-hub-test-" });
  try {
    await fn(cacheDir);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

async function withEnv(vars: Record<string, string | undefined>, fn: () => void | Promise<void>) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  };
  set(vars);
  try {
    await fn();
  } finally {
    set(saved);
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) out.push(...(await listFiles(join(dir, entry.name))).map((f) => `${entry.name}/${f}`));
    else out.push(entry.name);
  }
  return out.sort();
}

Deno.test("parseHubId() splits names, orgs and revisions and rejects the rest", () => {
  assert.deepEqual(parseHubId("bert-base-uncased"), { repo: "bert-base-uncased", revision: "main" });
  assert.deepEqual(parseHubId("textattack/bert-base-uncased-SST-2"), {
    repo: "textattack/bert-base-uncased-SST-2",
    revision: "main",
  });
  assert.deepEqual(parseHubId("org/name@v1.0"), { repo: "org/name", revision: "v1.0" });
  assert.deepEqual(parseHubId("org/name@refs/pr/1"), { repo: "org/name", revision: "refs/pr/1" });
  for (const bad of ["", "a/b/c", "../x", "org/..", "org/name@", "org/name@../x", "-x", "a b"]) {
    assert.throws(() => parseHubId(bad), /is not a hub id/, bad);
  }
});

Deno.test("hubFiles() follows a relative redirect, caches under {org--name}/snapshots/{revision}, and falls back on the cache when the network fails", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    const progress: Array<[string, number, number | undefined]> = [];
    try {
      const files = hubFiles("org/model", {
        endpoint: hub.endpoint,
        cacheDir,
        token: "",
        onProgress: (file, done, total) => progress.push([file, done, total]),
      });
      assert.equal(text(await files.read("config.json")), '{"rev":"main"}');
      assert.deepEqual(hub.log.map((r) => r.path), ["/org/model/resolve/main/config.json", "/cdn/config-main"]);
      assert.deepEqual(progress.at(-1), ["config.json", 14, 14]);
      assert.equal(
        await Deno.readTextFile(join(cacheDir, "org--model", "snapshots", "main", "config.json")),
        '{"rev":"main"}',
      );
      assert.equal(text(await files.read("config.json")), '{"rev":"main"}');
      assert.equal(hub.log.length, 2, "a cached file is not fetched again");
    } finally {
      await hub.close();
    }
    // Server gone: cached files still load, with a notice that says so and names --offline and the cache.
    const notices: string[] = [];
    const again = hubFiles("org/model", {
      endpoint: hub.endpoint,
      cacheDir,
      fetch: noNetwork,
      onNotice: (m) => notices.push(m),
    });
    assert.equal(text(await again.read("config.json")), '{"rev":"main"}');
    assert.equal(notices.length, 1);
    assert.match(
      notices[0]!,
      /Cannot reach "http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/config\.json": network used/,
    );
    assert.match(notices[0]!, /using the cached copy of org\/model@main in .*org--model.snapshots.main \(--offline/);
    assert.match(again.location, /^hub:org\/model@main \(offline, cache .*snapshots.main\)$/);
    // a file the cached copy lacks reads as absent (as HF does), with no second notice
    assert.equal(await again.read("tokenizer.json"), undefined);
    assert.equal(notices.length, 1);
  });
});

Deno.test("hubFiles() puts the revision in the URL and the cache path", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    try {
      const v1 = hubFiles("org/model@v1.0", { endpoint: hub.endpoint, cacheDir });
      assert.equal(text(await v1.read("config.json")), '{"rev":"v1.0"}');
      const pr = hubFiles("org/model@refs/pr/1", { endpoint: hub.endpoint, cacheDir });
      assert.equal(text(await pr.read("config.json")), '{"rev":"pr1"}');
      const plain = hubFiles("bert-base-uncased", { endpoint: hub.endpoint, cacheDir });
      assert.equal(text(await plain.read("vocab.txt")), "[PAD]\n");
      assert.deepEqual((await listFiles(cacheDir)).filter((f) => f.includes("/snapshots/")), [
        "bert-base-uncased/snapshots/main/vocab.txt",
        "org--model/snapshots/refs--pr--1/config.json",
        "org--model/snapshots/v1.0/config.json",
      ]);
      assert.match(v1.location, /^hub:org\/model@v1\.0 \(cache .*org--model.snapshots.v1\.0\)$/);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("hubFiles() gives undefined for a 404 and remembers it for offline mode", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    try {
      const files = hubFiles("org/model", { endpoint: hub.endpoint, cacheDir });
      assert.equal(await files.read("model.safetensors.index.json"), undefined);
      assert.deepEqual(await listFiles(cacheDir), ["org--model/.no_exist/main/model.safetensors.index.json"]);
    } finally {
      await hub.close();
    }
    const offline = hubFiles("org/model", { endpoint: hub.endpoint, cacheDir, offline: true, fetch: noNetwork });
    assert.equal(await offline.read("model.safetensors.index.json"), undefined);
    const never = hubFiles("org/never", { endpoint: hub.endpoint, cacheDir, offline: true, fetch: noNetwork });
    await assert.rejects(
      () => never.read("config.json"),
      /org\/never@main is not in the cache \(.*org--never.snapshots.main\) and offline mode is on \(--offline or HF_HUB_OFFLINE=1\)/,
    );
  });
});

Deno.test("hubFiles() in offline mode (HF_HUB_OFFLINE=1) never touches the network", async () => {
  await withCache(async (cacheDir) => {
    await Deno.mkdir(join(cacheDir, "org--model", "snapshots", "main"), { recursive: true });
    await Deno.writeTextFile(join(cacheDir, "org--model", "snapshots", "main", "config.json"), "{}");
    await withEnv({ HF_HUB_OFFLINE: "1", BERTOLOGY_CACHE: cacheDir }, async () => {
      const files = hubFiles("org/model", { fetch: noNetwork });
      assert.equal(text(await files.read("config.json")), "{}");
      // a file the cached copy lacks is absent, as HF has it (a BERT cached with vocab.txt and no tokenizer.json)
      assert.equal(await files.read("tokenizer.json"), undefined);
      await assert.rejects(() => hubFiles("org/other", { fetch: noNetwork }).read("config.json"), /offline mode is on/);
    });
  });
});

Deno.test("hubFiles() reports 401 with a hint about HF_TOKEN and sends HF_TOKEN as a bearer token", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    try {
      await withEnv({ HF_TOKEN: undefined }, async () => {
        const anonymous = hubFiles("org/private", { endpoint: hub.endpoint, cacheDir });
        await assert.rejects(
          () => anonymous.read("config.json"),
          /"http:\/\/127\.0\.0\.1:\d+\/org\/private\/resolve\/main\/config.json" answered 401 Unauthorized: .*set HF_TOKEN/,
        );
        assert.equal(hub.log.at(-1)?.auth, null);
      });
      await withEnv({ HF_TOKEN: "hf_wrong" }, async () => {
        await assert.rejects(
          () => hubFiles("org/private", { endpoint: hub.endpoint, cacheDir }).read("config.json"),
          /the token in HF_TOKEN has no access/,
        );
      });
      await withEnv({ HF_TOKEN: "hf_secret", HF_ENDPOINT: hub.endpoint }, async () => {
        const files = hubFiles("org/private", { cacheDir });
        assert.equal(text(await files.read("config.json")), '{"private":true}');
        assert.equal(hub.log.at(-1)?.auth, "Bearer hf_secret");
      });
    } finally {
      await hub.close();
    }
  });
});

Deno.test("hubFiles() names the URL and status of other HTTP errors, and of a 5xx with no cached copy", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    try {
      await assert.rejects(
        () => hubFiles("org/model", { endpoint: hub.endpoint, cacheDir }).read("teapot.json"),
        /Download of "http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/teapot.json" failed: 418 I'm a teapot/,
      );
      await assert.rejects(
        () => hubFiles("org/model", { endpoint: hub.endpoint, cacheDir }).read("broken.json"),
        /"http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/broken.json" answered 500 Internal Server Error; and org\/model@main has no cached copy to fall back on \(.*org--model.snapshots.main\)\. Check the network or HF_ENDPOINT; .*--offline \(HF_HUB_OFFLINE=1\)/,
      );
      assert.deepEqual(await listFiles(cacheDir), []);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("hubFiles() leaves no file after an interrupted download and downloads again next time", async () => {
  await withCache(async (cacheDir) => {
    const hub = startHub();
    try {
      const files = hubFiles("org/model", { endpoint: hub.endpoint, cacheDir });
      await assert.rejects(
        () => files.read("model.safetensors"),
        new RegExp(
          String
            .raw`Download of "http://127\.0\.0\.1:\d+/org/model/resolve/main/model.safetensors" broke off after \d+ bytes: .* \(nothing was cached\); and org/model@main has no cached copy`,
        ),
      );
      assert.deepEqual(await listFiles(cacheDir), [], "neither the real name nor a temporary file remains");
      const again = hubFiles("org/model", { endpoint: hub.endpoint, cacheDir });
      assert.deepEqual(await again.read("model.safetensors"), BIG);
      assert.deepEqual((await listFiles(cacheDir)).filter((f) => !f.startsWith("org--model/.meta/")), [
        "org--model/snapshots/main/model.safetensors",
      ]);
    } finally {
      await hub.close();
    }
  });
});

Deno.test("hubFiles() rejects a body shorter than its Content-Length", async () => {
  await withCache(async (cacheDir) => {
    const short: typeof fetch = () =>
      Promise.resolve(new Response(enc.encode("12345"), { headers: { "content-length": "10" } }));
    const files = hubFiles("org/model", { endpoint: "http://127.0.0.1:1", cacheDir, fetch: short });
    await assert.rejects(
      () => files.read("config.json"),
      /Refusing to cache "http:\/\/127.0.0.1:1\/org\/model\/resolve\/main\/config.json" as ".*org--model.snapshots.main.config.json": received 5 of the 10 bytes its Content-Length announced; nothing was cached/,
    );
    assert.deepEqual(await listFiles(cacheDir), []);
  });
});

Deno.test("hubCacheDir() uses the option, then BERTOLOGY_CACHE, then ~/.cache/bertology", async () => {
  await withEnv({ BERTOLOGY_CACHE: "/tmp/bc", HOME: "/home/u" }, () => {
    assert.equal(hubCacheDir({ cacheDir: "/x" }), "/x");
    assert.equal(hubCacheDir(), "/tmp/bc");
  });
  await withEnv({ BERTOLOGY_CACHE: undefined, HOME: "/home/u" }, () => {
    assert.equal(hubCacheDir(), join("/home/u", ".cache", "bertology"));
  });
});

Deno.test("resolveModel() picks a folder, then a hub id, and explains anything else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "config.json"), "{}");
    assert.equal(resolveModel(dir).location, dir);
    assert.equal(text(await resolveModel(dir).read("config.json")), "{}");
    assert.match(resolveModel("org/name@v2", { cacheDir: dir, offline: true }).location, /^hub:org\/name@v2 /);
    assert.throws(() => resolveModel(join(dir, "config.json")), /is a file; expected a model folder or a hub id/);
    assert.throws(() => resolveModel("./no/such/folder"), /Model folder ".\/no\/such\/folder" does not exist/);
    assert.throws(() => resolveModel("a/b/c"), /"a\/b\/c" is neither an existing folder nor a hub id/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------------ hostile servers: time limits, cut bodies

/** A raw HTTP server on 127.0.0.1 whose answers are written by hand: held headers, drips, cut bodies. */
function rawServer(answer: (conn: Deno.TcpConn, path: string) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.TcpConn>();
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      tasks.push((async () => {
        try {
          const buffer = new Uint8Array(16384);
          const n = await conn.read(buffer);
          const path = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split(" ")[1] ?? "";
          await answer(conn, path);
        } catch {
          // the client went away
        } finally {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // closed already
          }
        }
      })());
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      for (const conn of open) conn.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array | string) {
  const data = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** Waits until the client closes the connection. */
async function untilClosed(conn: Deno.TcpConn) {
  while ((await conn.read(new Uint8Array(1024))) !== null);
}

Deno.test("hubFiles() abandons a server that holds back its headers, naming the URL and the limit", async () => {
  await withCache(async (cacheDir) => {
    const server = rawServer((conn) => untilClosed(conn));
    try {
      const files = hubFiles("org/model", { endpoint: server.endpoint, cacheDir, limits: { connectTimeoutMs: 200 } });
      await assert.rejects(
        () => files.read("config.json"),
        /"http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/config\.json" sent no answer within 0\.2 s \(BERTOLOGY_HUB_CONNECT_TIMEOUT\); and org\/model@main has no cached copy/,
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("hubFiles() abandons a server that sends headers and then nothing (first-byte limit, set by its variable)", async () => {
  await withCache(async (cacheDir) => {
    const server = rawServer(async (conn) => {
      await writeAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
      await untilClosed(conn);
    });
    try {
      await withEnv({ BERTOLOGY_HUB_FIRST_BYTE_TIMEOUT: "0.2" }, async () => {
        const files = hubFiles("org/model", { endpoint: server.endpoint, cacheDir });
        await assert.rejects(
          () => files.read("vocab.txt"),
          /Download of "http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/vocab\.txt" abandoned: no byte of the body within 0\.2 s of the headers \(BERTOLOGY_HUB_FIRST_BYTE_TIMEOUT\) \(nothing was cached\)/,
        );
      });
      assert.deepEqual(await listFiles(cacheDir), []);
    } finally {
      await server.close();
    }
  });
});

Deno.test("hubFiles() abandons a server that drips a byte at a time, though every byte comes in time (minimum rate over a window)", async () => {
  await withCache(async (cacheDir) => {
    const server = rawServer(async (conn) => {
      await writeAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
      for (;;) (await writeAll(conn, "x"), await sleep(20));
    });
    try {
      const files = hubFiles("org/model", {
        endpoint: server.endpoint,
        cacheDir,
        // the first-byte limit alone would never fire: a byte comes every 20 ms
        limits: { firstByteTimeoutMs: 100, minBytesPerSecond: 1000, rateWindowMs: 300 },
      });
      await assert.rejects(
        () => files.read("vocab.txt"),
        /Download of "http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/vocab\.txt" abandoned: \d+ bytes in the last 0\.3 s, under the minimum rate of 1000 bytes\/s \(BERTOLOGY_HUB_MIN_RATE over BERTOLOGY_HUB_RATE_WINDOW\)/,
      );
      assert.deepEqual(await listFiles(cacheDir), []);
    } finally {
      await server.close();
    }
  });
});

Deno.test("hubFiles() refuses a limit variable that is not a number, naming it", async () => {
  await withEnv({ BERTOLOGY_HUB_MIN_RATE: "fast" }, () => {
    assert.throws(
      () => hubFiles("org/model", { cacheDir: "/nonexistent" }),
      /BERTOLOGY_HUB_MIN_RATE must be a number of bytes per second, 0 or more, got "fast"/,
    );
  });
  await withEnv({ BERTOLOGY_HUB_CONNECT_TIMEOUT: "0" }, () => {
    assert.throws(
      () => hubFiles("org/model", { cacheDir: "/nonexistent" }),
      /BERTOLOGY_HUB_CONNECT_TIMEOUT must be a positive number of seconds, got "0"/,
    );
  });
});

Deno.test("hubFiles() never caches a body cut short without a length header, or shorter than its Content-Length", async () => {
  await withCache(async (cacheDir) => {
    const server = rawServer(async (conn, path) => {
      if (path.endsWith("/lying.safetensors")) {
        // a Content-Length the body does not reach: the connection closes after half
        await writeAll(conn, `HTTP/1.1 200 OK\r\nContent-Length: ${BIG.length}\r\n\r\n`);
        await writeAll(conn, BIG.subarray(0, HALF));
        return;
      }
      // no length at all: the body ends where the connection does, which looks complete to HTTP
      await writeAll(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
      await writeAll(conn, path.endsWith(".json") ? '{"hidden_size": 7' : BIG.subarray(0, HALF));
    });
    try {
      const files = hubFiles("org/model", { endpoint: server.endpoint, cacheDir });
      await assert.rejects(
        () => files.read("model.safetensors"),
        /Refusing to cache "http:\/\/127\.0\.0\.1:\d+\/org\/model\/resolve\/main\/model\.safetensors" as ".*org--model.snapshots.main.model\.safetensors": its safetensors header does not parse \(.*\); nothing was cached/,
      );
      await assert.rejects(
        () => files.read("config.json"),
        /Refusing to cache ".*config\.json" as ".*org--model.snapshots.main.config\.json": it is not valid JSON/,
      );
      await assert.rejects(
        () => files.read("lying.safetensors"),
        /Download of ".*lying\.safetensors" broke off after \d+ bytes: .*\(nothing was cached\)/,
      );
      assert.deepEqual(await listFiles(cacheDir), [], "no file joined the cache, and no partial file is left");
    } finally {
      await server.close();
    }
  });
});

Deno.test("hubFiles() never caches an HTML page answered with 200, a size other than X-Linked-Size, or a sha256 other than the ETag", async () => {
  await withCache(async (cacheDir) => {
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    const vocab = enc.encode("[PAD]\n[UNK]\n");
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const name = new URL(req.url).pathname.split("/").pop();
      switch (name) {
        case "config.json": // a captive portal or a wrong endpoint
          return new Response("<html><body>Sign in</body></html>", { headers: { "content-type": "text/html" } });
        case "vocab.txt": // the same, with no content type to tell
          return new Response("\n  <!DOCTYPE html><title>Proxy</title>", { headers: { "content-type": "" } });
        case "short.txt":
          return new Response(vocab, { headers: { "x-linked-size": "999", "x-repo-commit": "a".repeat(40) } });
        case "wrong.bin":
          return new Response(vocab, { headers: { etag: `"${"0".repeat(64)}"`, "x-repo-commit": "a".repeat(40) } });
        case "right.bin":
          return new Response(vocab, {
            headers: {
              "x-linked-etag": `"${sha(vocab)}"`,
              "x-linked-size": String(vocab.length),
              "x-repo-commit": "a".repeat(40),
            },
          });
        default:
          return new Response("not found", { status: 404 });
      }
    });
    try {
      const files = () => hubFiles("org/model", { endpoint: `http://127.0.0.1:${server.addr.port}`, cacheDir });
      await assert.rejects(
        () => files().read("config.json"),
        /Refusing to cache ".*config\.json" as ".*config\.json": the server answered an HTML page \(Content-Type "text\/html"\), not the file/,
      );
      await assert.rejects(
        () => files().read("vocab.txt"),
        /as ".*vocab\.txt": the server answered an HTML page, not the file/,
      );
      await assert.rejects(
        () => files().read("short.txt"),
        /as ".*snapshots.a{40}.short\.txt": received 12 bytes where the hub's X-Linked-Size says 999; nothing was cached/,
      );
      await assert.rejects(
        () => files().read("wrong.bin"),
        new RegExp(`as ".*wrong\\.bin": its sha256 is ${sha(vocab)}, not the hub's 0{64} \\(ETag\\)`),
      );
      assert.deepEqual((await listFiles(cacheDir)).filter((f) => f.includes("snapshots")), []);
      assert.deepEqual(await files().read("right.bin"), vocab);
      const meta = JSON.parse(
        await Deno.readTextFile(join(cacheDir, "org--model", ".meta", "a".repeat(40), "right.bin.json")),
      );
      assert.equal(meta.sha256, sha(vocab));
      assert.equal(meta.commit, "a".repeat(40));
    } finally {
      await server.shutdown();
    }
  });
});

// ------------------------------------------------------------------ revisions, ETags, partial files, streaming

Deno.test("hubFiles() resolves main again on each run, keeps each commit's files apart, and reads a pinned commit's files from it", async () => {
  await withCache(async (cacheDir) => {
    const C1 = "1".repeat(40), C2 = "2".repeat(40);
    let head = C1;
    const log: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      log.push(path);
      const [, , , , rev, name] = path.split("/");
      const commit = rev === "main" ? head : rev!;
      if (commit !== C1 && commit !== C2) return new Response("no such revision", { status: 404 });
      return new Response(`${name} of ${commit.slice(0, 1)}`, { headers: { "x-repo-commit": commit } });
    });
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const repoDir = join(cacheDir, "org--model");
    try {
      const first = hubFiles("org/model", { endpoint, cacheDir });
      assert.equal(text(await first.read("merges.txt")), "merges.txt of 1");
      assert.equal(text(await first.read("vocab.txt")), "vocab.txt of 1");
      assert.equal(await Deno.readTextFile(join(repoDir, "refs", "main")), C1);
      assert.deepEqual(log.splice(0), ["/org/model/resolve/main/merges.txt", `/org/model/resolve/${C1}/vocab.txt`]);

      head = C2; // main moves on: the next run sees it
      const second = hubFiles("org/model", { endpoint, cacheDir });
      assert.equal(text(await second.read("merges.txt")), "merges.txt of 2");
      head = C1; // and moves back in the middle of the run: the run's files stay with the commit it resolved
      assert.equal(text(await second.read("vocab.txt")), "vocab.txt of 2");
      assert.deepEqual(log.splice(0), ["/org/model/resolve/main/merges.txt", `/org/model/resolve/${C2}/vocab.txt`]);
      assert.equal(await Deno.readTextFile(join(repoDir, "refs", "main")), C2);
      assert.match(second.location, new RegExp(`snapshots.${C2}\\)$`));
      assert.deepEqual((await listFiles(repoDir)).filter((f) => f.startsWith("snapshots/")), [
        `snapshots/${C1}/merges.txt`,
        `snapshots/${C1}/vocab.txt`,
        `snapshots/${C2}/merges.txt`,
        `snapshots/${C2}/vocab.txt`,
      ]);
    } finally {
      await server.shutdown();
    }
    // a commit's files never change: read with no network at all
    const pinned = hubFiles(`org/model@${C1}`, { endpoint, cacheDir, fetch: noNetwork });
    assert.equal(text(await pinned.read("vocab.txt")), "vocab.txt of 1");
    // offline, main is where it last resolved
    const offline = hubFiles("org/model", { endpoint, cacheDir, offline: true });
    assert.equal(text(await offline.read("merges.txt")), "merges.txt of 2");
  });
});

Deno.test("hubFiles() revalidates a file by its ETag where the server names no commit", async () => {
  await withCache(async (cacheDir) => {
    let body = "v1", etag = '"e1"';
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      requests++;
      return new Response(body, { headers: { etag } });
    });
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    try {
      assert.equal(text(await hubFiles("org/model", { endpoint, cacheDir }).read("vocab.txt")), "v1");
      body = "v1 changed under the same ETag"; // the cached copy is the one the ETag names
      assert.equal(text(await hubFiles("org/model", { endpoint, cacheDir }).read("vocab.txt")), "v1");
      (body = "v2"), (etag = '"e2"');
      assert.equal(text(await hubFiles("org/model", { endpoint, cacheDir }).read("vocab.txt")), "v2");
      assert.equal(requests, 3, "each run asks once");
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("hubFiles() removes the partial files of dead writers and keeps those of live ones", async () => {
  await withCache(async (cacheDir) => {
    const partials = join(cacheDir, "org--model", ".incomplete");
    await Deno.mkdir(partials, { recursive: true });
    const dead = join(partials, "4242-deadbeef-model.safetensors.incomplete");
    const live = join(partials, "4243-0a1b2c3d-model.safetensors.incomplete");
    await Deno.writeFile(dead, BIG.subarray(0, 1000)); // killed writer: nobody holds its lock
    await Deno.writeFile(live, BIG.subarray(0, 1000));
    const writer = await Deno.open(live, { read: true, write: true });
    await writer.lock(true); // a download still running elsewhere
    const hub = startHub();
    try {
      assert.equal(
        text(await hubFiles("org/model", { endpoint: hub.endpoint, cacheDir }).read("config.json")),
        '{"rev":"main"}',
      );
      assert.deepEqual(await listFiles(partials), [basename(live)]);
    } finally {
      writer.close();
      await hub.close();
    }
  });
});

Deno.test("hubFiles() streams a download to disk: nothing read back is a chunk kept in memory", async () => {
  await withCache(async (cacheDir) => {
    // The body is served through ONE buffer, refilled for each chunk only once the reader asks for the next one
    // (as a network stack may reuse its buffers): a downloader that kept the chunks and joined them at the end
    // would return the last chunk over and over; one that streams to disk and reads the file back is exact.
    const chunk = 64 * 1024, chunks = 64;
    const expected = new Uint8Array(chunk * chunks).map((_, i) => (i * 7 + (i >> 16)) % 256);
    const shared = new Uint8Array(chunk);
    let sent = 0;
    const partialSizes: number[] = [];
    const streaming: typeof fetch = () => {
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === chunks) return controller.close();
          shared.set(expected.subarray(sent * chunk, (sent + 1) * chunk));
          sent++;
          controller.enqueue(shared);
        },
      }, { highWaterMark: 0 });
      return Promise.resolve(new Response(body, { headers: { "content-length": String(expected.length) } }));
    };
    const partials = join(cacheDir, "org--model", ".incomplete");
    const files = hubFiles("org/model", {
      endpoint: "http://127.0.0.1:1",
      cacheDir,
      fetch: streaming,
      onProgress: (_, done) => {
        // the bytes are on disk as they arrive
        try {
          for (const entry of Deno.readDirSync(partials)) {
            partialSizes.push(Deno.statSync(join(partials, entry.name)).size - done);
          }
        } catch {
          partialSizes.push(NaN); // no partial file where the cache keeps them
        }
      },
    });
    const got = await files.read("weights.bin");
    assert.equal(got?.length, expected.length);
    assert.ok(got!.every((b, i) => b === expected[i]), "the bytes read back are every chunk as it was sent");
    assert.equal(partialSizes.length, chunks);
    assert.ok(partialSizes.every((d) => d === 0), "each chunk was on disk before the next was read");
    const file = await hubFiles("org/model", { endpoint: "http://127.0.0.1:1", cacheDir, offline: true }).open!(
      "weights.bin",
    );
    assert.equal(file?.size, expected.length, "open() gives the cached file for positioned reads");
    file!.close();
  });
});

Deno.test("resolveModel() says a mistyped folder was tried before the hub, and names the near folder", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  // as the hub answers an unknown repository to an anonymous caller
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response("Repository not found", {
        status: 401,
        statusText: "Unauthorized",
        headers: { "x-error-code": "RepoNotFound" },
      }),
  );
  try {
    await Deno.mkdir(join(dir, "models", "bert-sst2"), { recursive: true });
    await Deno.mkdir(join(dir, "models", "gpt2-tiny"), { recursive: true });
    Deno.chdir(dir);
    const opts = { endpoint: `http://127.0.0.1:${server.addr.port}`, cacheDir: join(dir, "cache") };
    await assert.rejects(
      () => resolveModel("models/bert-sst", opts).read("config.json"),
      /^Error: There is no folder "models\/bert-sst" \(did you mean "models\/bert-sst2"\?\), so it was tried as a hub id: "http:\/\/127\.0\.0\.1:\d+\/models\/bert-sst\/resolve\/main\/config\.json" answered 401 Unauthorized/,
    );
    await assert.rejects(
      () => resolveModel("models/roberta-large", opts).read("config.json"),
      /There is no folder "models\/roberta-large" \(the folder "models" exists but has no "roberta-large"\), so it was tried as a hub id/,
    );
    assert.throws(
      () => resolveModel("./models/bert-ss2", opts),
      /Model folder ".\/models\/bert-ss2" does not exist; did you mean "models\/bert-sst2"\?/,
    );
    assert.throws(() => resolveModel("models/sub/bert-sst", opts), /neither an existing folder nor a hub id[^;]*$/);
    await Deno.mkdir(join(dir, "models", "sub", "bert-sst2"), { recursive: true });
    assert.throws(
      () => resolveModel("models/sub/bert-sst", opts),
      /nor a hub id .*; did you mean "models\/sub\/bert-sst2"\?/,
    );
    // a hub id that cannot be a folder here is left alone
    await assert.rejects(
      () => resolveModel("textattack/bert", opts).read("config.json"),
      /^Error: "http:.*answered 401/,
    );
  } finally {
    Deno.chdir(cwd);
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hubFiles() with no network and no cached copy says so, naming the cache and --offline", async () => {
  await withCache(async (cacheDir) => {
    await assert.rejects(
      () => hubFiles("org/model", { endpoint: "http://127.0.0.1:1", cacheDir }).read("config.json"),
      /^Error: Cannot reach "http:\/\/127\.0\.0\.1:1\/org\/model\/resolve\/main\/config\.json": .*; and org\/model@main has no cached copy to fall back on \(.*org--model.snapshots.main\)\. Check the network or HF_ENDPOINT; once the model is cached, --offline \(HF_HUB_OFFLINE=1\) uses the cache alone$/,
    );
  });
});
