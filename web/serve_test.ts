import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { parseServeBackends, serve } from "./serve.ts";
import { ortDistDir } from "./_ort_vendor.ts";
import { BERT_DIR } from "../tests/helpers/web.ts";

Deno.test("serve --backend: a comma-separated list, wasm by default, the first the page's default", () => {
  deepStrictEqual(parseServeBackends(undefined), ["wasm"]);
  deepStrictEqual(parseServeBackends("ort-wasm, wasm,ort-node"), ["ort-wasm", "wasm", "ort-node"]);
  throws(() => parseServeBackends("wasm,cuda"), /--backend takes .*wasm, ort-wasm, ort-webgpu, ort-node, got "cuda"/);
  throws(() => parseServeBackends("wasm,wasm"), /twice/);
  throws(() => parseServeBackends(""), /got ""/);
});

const SERVE = decodeURIComponent(new URL("./serve.ts", import.meta.url).pathname);
const TASK_FLAGS = [
  "--lock=deno.lock",
  "--allow-read=.",
  "--allow-env=BERTOLOGY_MODEL",
  "--allow-net=127.0.0.1,localhost,0.0.0.0",
];

async function runServe(flags: string[], args: string[]): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, SERVE, ...args],
    stdout: "piped",
    stderr: "piped",
    cwd: decodeURIComponent(new URL("../", import.meta.url).pathname),
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("serve --backend under the serve task's permissions: one line naming the missing flag", async () => {
  const model = ["--model", "tests/fixtures/models/bert-tiny-random", "--port", "0"];
  const web = await runServe(TASK_FLAGS, [...model, "--backend", "wasm,ort-wasm"]);
  strictEqual(web.code, 2, web.stderr);
  ok(web.stderr.includes(`--allow-read=.,${ortDistDir()}`) && web.stderr.includes("serve:ort"), web.stderr);
  strictEqual(web.stderr.trim().split("\n").length, 1, web.stderr);
  const node = await runServe(TASK_FLAGS, [...model, "--backend", "ort-node"]);
  strictEqual(node.code, 2, node.stderr);
  ok(node.stderr.includes("--allow-ffi"), node.stderr);
  const bad = await runServe(TASK_FLAGS, [...model, "--backend", "gpu"]);
  strictEqual(bad.code, 2);
  ok(bad.stderr.includes('got "gpu"'), bad.stderr);
});

Deno.test("serve({backends, ortDistDir}): ORT on the compute worker, the vendor files, in-browser compute offered", async () => {
  const server = await serve({
    port: 0,
    hostname: "127.0.0.1",
    modelDir: BERT_DIR,
    backends: ["ort-node", "wasm", "ort-wasm"],
    ortDistDir: ortDistDir(),
    onListen: () => {},
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const m = await (await fetch(`${base}/api/model`)).json();
    deepStrictEqual(m.backends, ["ort-node", "wasm", "ort-wasm"]);
    strictEqual(m.browser_compute, true);
    const analyze = async (backend: string) => {
      const res = await fetch(`${base}/api/analyze`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "a gripping film", backend }),
      });
      const json = await res.json();
      strictEqual(res.status, 200, JSON.stringify(json));
      return json;
    };
    const ours = await analyze("wasm");
    for (const backend of ["ort-node", "ort-wasm"]) {
      const theirs = await analyze(backend);
      (theirs.attention as number[][][][]).flat(3).forEach((v, i) =>
        ok(Math.abs(v - (ours.attention as number[][][][]).flat(3)[i]!) <= 1e-4 + 1e-9, `${backend} attention ${i}`)
      );
    }
    const vendor = await fetch(`${base}/vendor/onnxruntime-web/ort.wasm.bundle.min.mjs`);
    strictEqual(vendor.status, 200);
    strictEqual(vendor.headers.get("content-type"), "text/javascript; charset=utf-8");
    await vendor.body?.cancel();
    const onnx = await fetch(`${base}/api/onnx`);
    strictEqual(onnx.status, 200);
    ok((await onnx.arrayBuffer()).byteLength > 1000);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve --model HUB_ID under the serve task's permissions: one line saying it is taken for a hub id and what it needs", async () => {
  const r = await runServe(TASK_FLAGS, ["--model", "bert-base-uncased", "--port", "0"]);
  strictEqual(r.code, 2, r.stderr);
  ok(r.stderr.includes('"bert-base-uncased" is no folder here, so it is taken for a hub id'), r.stderr);
  ok(r.stderr.includes("--allow-env") && r.stderr.includes("--allow-net"), r.stderr);
  strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
});

Deno.test("serve({modelDir: HUB_ID}) serves a hub model from the cache", async () => {
  const cache = await Deno.makeTempDir();
  const saved = { cache: Deno.env.get("BERTOLOGY_CACHE"), offline: Deno.env.get("HF_HUB_OFFLINE") };
  const restore = (name: string, value: string | undefined) =>
    value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value);
  try {
    const snapshot = `${cache}/org--bert-tiny-random/snapshots/main`;
    await Deno.mkdir(snapshot, { recursive: true });
    for await (const entry of Deno.readDir(BERT_DIR)) {
      await Deno.copyFile(`${BERT_DIR}/${entry.name}`, `${snapshot}/${entry.name}`);
    }
    Deno.env.set("BERTOLOGY_CACHE", cache);
    Deno.env.set("HF_HUB_OFFLINE", "1");
    const server = await serve({
      port: 0,
      hostname: "127.0.0.1",
      modelDir: "org/bert-tiny-random",
      onListen: () => {},
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/api/model`);
      strictEqual(res.status, 200);
      const m = await res.json();
      strictEqual(m.name, "bert-tiny-random");
    } finally {
      await server.shutdown();
    }
  } finally {
    restore("BERTOLOGY_CACHE", saved.cache);
    restore("HF_HUB_OFFLINE", saved.offline);
    await Deno.remove(cache, { recursive: true });
  }
});
