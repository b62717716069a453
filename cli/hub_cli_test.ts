/**
 * The CLI on hub ids: what `tokenize` downloads, `HF_HUB_OFFLINE` in every command that loads a model, and a
 * cached BERT with only `vocab.txt`. A local server on 127.0.0.1 plays the hub; the cache is a temporary folder.
 *
 * @module
 */

import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { fixtureModel } from "../tests/helpers/goldens.ts";
import { runCli as cli } from "../tests/helpers/cli.ts";

const BERT = fixtureModel("bert-tiny-random");
const GPT2 = fixtureModel("gpt2-tiny-random");

/** A hub on 127.0.0.1 serving the fixture folders under `org/{folder name}`, logging every path asked for. */
function fixtureHub(): { endpoint: string; log: string[]; close(): Promise<void> } {
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    log.push(path);
    const match = /^\/org\/([^/]+)\/resolve\/main\/(.+)$/.exec(path);
    try {
      if (match !== null) return new Response(await Deno.readFile(join(fixtureModel(match[1]!), match[2]!)));
    } catch {
      // not a fixture file
    }
    return new Response("Entry not found", { status: 404, headers: { "x-error-code": "EntryNotFound" } });
  });
  return { endpoint: `http://127.0.0.1:${server.addr.port}`, log, close: () => server.shutdown() };
}

async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>) {
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

/** Puts `files` of a fixture folder in the cache as the snapshot of `org/{name}@main`. */
async function cacheSnapshot(cache: string, fixture: string, files: string[]): Promise<void> {
  const name = fixture.replace(/\/+$/, "").split("/").pop()!;
  const dir = join(cache, `org--${name}`, "snapshots", "main");
  await Deno.mkdir(dir, { recursive: true });
  for (const file of files) await Deno.copyFile(join(fixture, file), join(dir, file));
}

Deno.test("bertology tokenize on a hub id downloads config.json and the tokenizer files, not the weights", async () => {
  const cache = await Deno.makeTempDir();
  const hub = fixtureHub();
  try {
    await withEnv({ HF_ENDPOINT: hub.endpoint, BERTOLOGY_CACHE: cache, HF_HUB_OFFLINE: undefined }, async () => {
      const remote = await cli("tokenize", "--model", "org/bert-tiny-random", "--text", "Hello, world!");
      equal(remote.code, 0, remote.err);
      const local = await cli("tokenize", "--model", BERT, "--text", "Hello, world!");
      deepStrictEqual(JSON.parse(remote.out), JSON.parse(local.out));
    });
    const asked = hub.log.map((p) => p.split("/").pop());
    ok(asked.includes("config.json") && asked.includes("tokenizer.json"), asked.join());
    for (const weights of ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"]) {
      ok(!asked.includes(weights), `tokenize asked for ${weights}: ${asked.join()}`);
    }
  } finally {
    await hub.close();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("bertology: HF_HUB_OFFLINE=1 keeps every command that loads a model off the network (no --offline needed)", async () => {
  const cache = await Deno.makeTempDir();
  const hub = fixtureHub();
  const out = await Deno.makeTempDir();
  try {
    await cacheSnapshot(cache, BERT, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    await cacheSnapshot(cache, GPT2, await Array.fromAsync(Deno.readDir(GPT2), (e) => e.name));
    const data = join(out, "texts.jsonl");
    await Deno.writeTextFile(data, '{"text": "a fine film", "label": 1}\n{"text": "a dull film", "label": 0}\n');
    const bert = ["--model", "org/bert-tiny-random"];
    const commands: string[][] = [
      ["attribute", ...bert, "--text", "a fine film", "--method", "saliency"],
      ["patch", ...bert, "--clean", "a fine film", "--ablate"],
      ["export", ...bert, "--out", join(out, "bert.onnx")],
      [
        "attention-stats",
        ...bert,
        "--data-file",
        data,
        "--text-column",
        "text",
        "--label-column",
        "label",
        "--output-dir",
        join(out, "stats"),
      ],
      [
        "heads",
        ...bert,
        "--data-file",
        data,
        "--text-column",
        "text",
        "--label-column",
        "label",
        "--output-dir",
        join(out, "heads"),
      ],
      [
        "syntax",
        ...bert,
        "--conllu",
        "data/ud/en_ewt-ud-dev.conllu",
        "--max-sentences",
        "2",
        "--output-dir",
        join(out, "syntax"),
      ],
      [
        "probe",
        ...bert,
        ...["--train", "data/ud/en_ewt-ud-dev.conllu", "--test", "data/ud/en_ewt-ud-dev.conllu", "--task", "upos"],
        ...["--max-sentences", "4", "--epochs", "1", "--output-dir", join(out, "probe")],
      ],
      ["logit-lens", "--model", "org/gpt2-tiny-random", "--text", "a fine film"],
      ["tokenize", ...bert, "--text", "a fine film"],
    ];
    await withEnv({ HF_ENDPOINT: hub.endpoint, BERTOLOGY_CACHE: cache, HF_HUB_OFFLINE: "1" }, async () => {
      for (const args of commands) {
        const r = await cli(...args);
        equal(r.code, 0, `${args[0]}: ${r.err}`);
        deepStrictEqual(hub.log, [], `${args[0]} used the network though HF_HUB_OFFLINE=1`);
      }
    });
  } finally {
    await hub.close();
    await Deno.remove(cache, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("bertology loads a BERT cached with only vocab.txt offline, without asking for tokenizer.json", async () => {
  const cache = await Deno.makeTempDir();
  try {
    await cacheSnapshot(cache, BERT, ["config.json", "model.safetensors", "vocab.txt"]);
    await withEnv(
      { HF_ENDPOINT: "http://127.0.0.1:1", BERTOLOGY_CACHE: cache, HF_HUB_OFFLINE: undefined },
      async () => {
        const r = await cli("tokenize", "--model", "org/bert-tiny-random", "--offline", "--text", "Hello, world!");
        equal(r.code, 0, r.err);
        const local = await cli("tokenize", "--model", BERT, "--text", "Hello, world!");
        deepStrictEqual(JSON.parse(r.out), JSON.parse(local.out));
        const a = await cli(
          "attribute",
          "--model",
          "org/bert-tiny-random",
          "--offline",
          "--text",
          "hi",
          "--method",
          "saliency",
        );
        equal(a.code, 0, a.err);
      },
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("bertology on a hub id with the network down falls back on the cached copy and says so", async () => {
  const cache = await Deno.makeTempDir();
  try {
    await cacheSnapshot(cache, BERT, ["config.json", "vocab.txt"]);
    await withEnv(
      { HF_ENDPOINT: "http://127.0.0.1:1", BERTOLOGY_CACHE: cache, HF_HUB_OFFLINE: undefined },
      async () => {
        const r = await cli("tokenize", "--model", "org/bert-tiny-random", "--text", "Hello");
        equal(r.code, 0, r.err);
        match(r.err, /Cannot reach "http:\/\/127\.0\.0\.1:1\/org\/bert-tiny-random\/resolve\/main\/config\.json"/);
        match(
          r.err,
          /using the cached copy of org\/bert-tiny-random@main in .*snapshots.main \(--offline or HF_HUB_OFFLINE=1/,
        );
        const gone = await cli("tokenize", "--model", "org/not-cached", "--text", "Hello");
        equal(gone.code, 1);
        match(gone.err, /no cached copy to fall back on .*--offline/);
      },
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
