import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { blobFile, hubUrl, pickedFiles, urlFiles } from "./browser_files.ts";
import { localFiles } from "./local_files.ts";
import { loadModel } from "../models/load.ts";

const FIXTURE = "tests/fixtures/models/bert-tiny-random";

async function pickedFixture(prefix: string): Promise<{ path: string; blob: Blob }[]> {
  const out: { path: string; blob: Blob }[] = [];
  for await (const e of Deno.readDir(FIXTURE)) {
    if (e.isFile) {
      out.push({ path: `${prefix}${e.name}`, blob: new Blob([await Deno.readFile(`${FIXTURE}/${e.name}`)]) });
    }
  }
  return out;
}

Deno.test("pickedFiles() reads the folder that holds config.json, by plain names", async () => {
  const picked = await pickedFixture("bert-tiny-random/");
  picked.push({ path: "bert-tiny-random/onnx/model.onnx", blob: new Blob(["x"]) });
  picked.push({ path: "other/config.json/../x", blob: new Blob(["y"]) });
  const files = pickedFiles(picked);
  strictEqual(files.location, "bert-tiny-random");
  deepStrictEqual(await files.read("config.json"), await Deno.readFile(`${FIXTURE}/config.json`));
  deepStrictEqual(await files.read("onnx/model.onnx"), new TextEncoder().encode("x"));
  strictEqual(await files.read("pytorch_model.bin.index.json"), undefined);
  await rejects(files.read("../config.json"), /not a plain name/);
  // a model loaded from the picked files computes what the same folder on disk computes
  const a = await loadModel(files), b = await loadModel(localFiles(FIXTURE));
  const enc = b.tokenizer!.encode("a picked folder");
  const batch = { batchSize: 1, seqLen: enc.ids.length, inputIds: Int32Array.from(enc.ids) };
  deepStrictEqual(a.tokenizer!.encode("a picked folder").ids, enc.ids);
  deepStrictEqual(a.model.run({ batch }).logits!.data, b.model.run({ batch }).logits!.data);
});

Deno.test("pickedFiles() refuses a pick without config.json, naming what was picked", () => {
  throws(
    () => pickedFiles([{ path: "m/vocab.txt", blob: new Blob([""]) }]),
    /No config\.json among the 1 picked file\(s\) \(m\/vocab\.txt…\)/,
  );
});

Deno.test("blobFile() reads slices and refuses a read past the end", async () => {
  const f = blobFile(new Blob([new Uint8Array([1, 2, 3, 4])]), "w.bin", "m");
  const into = new Uint8Array(2);
  await f.readAt(2, into);
  deepStrictEqual([...into], [3, 4]);
  await rejects(f.readAt(3, into), /"w\.bin" in m ends at byte 4: cannot read 2 bytes at 3/);
});

Deno.test("urlFiles() fetches {base}{name}: 404 is a missing file, other statuses throw naming the URL", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    if (path === "/broken/config.json") return new Response("no", { status: 500 });
    const m = /^\/org\/tiny\/resolve\/main\/(.+)$/.exec(path);
    if (!m) return new Response("not found", { status: 404 });
    try {
      return new Response(await Deno.readFile(`${FIXTURE}/${m[1]}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const progress: number[] = [];
    const files = urlFiles(hubUrl("org/tiny", endpoint), { onProgress: (_f, done) => progress.push(done) });
    strictEqual(await files.read("merges.txt"), undefined);
    deepStrictEqual(await files.read("config.json"), await Deno.readFile(`${FIXTURE}/config.json`));
    ok(progress.length > 0);
    const { model } = await loadModel(files);
    strictEqual(model.config.family, "bert");
    ok(seen.includes("/org/tiny/resolve/main/model.safetensors"));
    await rejects(
      urlFiles(`${endpoint}/broken`).read("config.json"),
      /Cannot fetch http:\/\/127\.0\.0\.1:\d+\/broken\/config\.json: HTTP 500/,
    );
    await rejects(files.read("a/../b"), /Refusing to read/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("hubUrl() builds {endpoint}/{repo}/resolve/{revision}/ and keeps a URL as it is", () => {
  strictEqual(hubUrl("bert-base-uncased"), "https://huggingface.co/bert-base-uncased/resolve/main/");
  strictEqual(hubUrl("org/name@v1.0", "http://127.0.0.1:9/"), "http://127.0.0.1:9/org/name/resolve/v1.0/");
  strictEqual(hubUrl("https://host/m"), "https://host/m/");
  throws(() => hubUrl("../etc"), /neither a hub id/);
  throws(() => hubUrl("org/name@a/../b"), /is not a branch, tag or commit/);
  throws(() => urlFiles("file:///etc/"), /not an http\(s\) URL/);
});
