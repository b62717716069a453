import { deepStrictEqual, ok } from "node:assert/strict";
import { loadSafetensors, writeSafetensors } from "@bertology/core/checkpoint";
import { readNpy } from "@bertology/core/checkpoint";
import { fixtureModel, FIXTURES, maxAbsDiff, readGolden } from "../tests/helpers/goldens.ts";
import { checkDumpAgainstGoldens, runCli as cli } from "../tests/helpers/cli.ts";

Deno.test("bertology tokenize matches the HF golden lines, pairs included", async () => {
  const lines = Deno.readTextFileSync(`${FIXTURES}tokenize.bert-base-uncased.jsonl`).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const single = lines.filter((l) => l.text_pair === undefined).slice(0, 20);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  Deno.writeTextFileSync(file, JSON.stringify(single.map((l) => l.text)));
  const r = await cli("tokenize", "--model", fixtureModel("bert-tiny-random"), "--texts", file);
  deepStrictEqual(r.code, 0, r.err);
  deepStrictEqual(r.out.split("\n").map((l) => JSON.parse(l)), single.map((l) => ({ text: l.text, ids: l.ids })));
  const pair = lines.find((l) => l.text_pair !== undefined)!;
  const p = await cli(
    "tokenize",
    "--model",
    fixtureModel("bert-tiny-random"),
    "--text",
    pair.text,
    "--text-pair",
    pair.text_pair,
  );
  const got = JSON.parse(p.out);
  deepStrictEqual([got.ids, got.token_type_ids], [pair.ids, pair.token_type_ids]);
  await Deno.remove(file);
});

Deno.test("bertology dump writes the HF golden tensors, and loss + head_mask_grad with --labels --grad", async () => {
  await checkDumpAgainstGoldens();
});

Deno.test("bertology heads writes HF's npy files and a report; masking and pruning run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli(
      "heads",
      "--model",
      fixtureModel("bert-tiny-random"),
      "--task",
      "sst-2",
      "--data-dir",
      new URL("../data/glue", import.meta.url).pathname,
      "--data-subset",
      "32",
      "--batch-size",
      "8",
      "--max-seq-length",
      "64",
      "--batching",
      "hf",
      "--try-masking",
      "--output-dir",
      dir,
      "--json",
    );
    deepStrictEqual(r.code, 0, r.err);
    const imp = readNpy(Deno.readFileSync(`${dir}/head_importance.npy`), "imp");
    ok(maxAbsDiff("importance", readGolden("bert-tiny-random.importance.bs8").get("importance")!, imp) <= 1e-4);
    deepStrictEqual(readNpy(Deno.readFileSync(`${dir}/head_mask.npy`), "mask").shape, [3, 4]);
    const report = JSON.parse(Deno.readTextFileSync(`${dir}/report.json`));
    ok(report.masking.steps.length >= 1 && report.pruning.parameters_after <= report.pruning.parameters_before);
    deepStrictEqual(JSON.parse(r.out).examples, 32);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology prune writes a checkpoint that reloads with pruned_heads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli(
      "prune",
      "--model",
      fixtureModel("gpt2-tiny-random"),
      "--heads",
      '{"1":[0,2],"2":[3]}',
      "--out",
      `${dir}/p`,
      "--json",
    );
    deepStrictEqual(r.code, 0, r.err);
    deepStrictEqual(JSON.parse(r.out).heads_per_layer, [4, 2, 3]);
    const cfg = JSON.parse(Deno.readTextFileSync(`${dir}/p/config.json`));
    deepStrictEqual(cfg.pruned_heads, { 1: [0, 2], 2: [3] });
    const again = await cli("prune", "--model", `${dir}/p`, "--heads", '{"1":[1]}', "--out", `${dir}/p2`, "--json");
    deepStrictEqual(JSON.parse(again.out).pruned_heads, { 1: [0, 1, 2], 2: [3] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology reports usage errors with exit code 2 and data errors with 1", async () => {
  deepStrictEqual((await cli("dump", "--model", "x")).code, 2);
  deepStrictEqual((await cli("tokenize", "--model", "x", "--bogus")).code, 2);
  deepStrictEqual((await cli("nonsense")).code, 2);
  const missing = await cli("tokenize", "--model", "/nonexistent/model-dir", "--text", "hi", "--offline");
  deepStrictEqual(missing.code, 1);
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/dev.tsv`, "sentence\tlabel\n");
    const empty = await cli(
      "heads",
      "--model",
      fixtureModel("bert-tiny-random"),
      "--data-file",
      `${dir}/dev.tsv`,
      "--text-column",
      "sentence",
      "--label-column",
      "label",
      "--output-dir",
      `${dir}/o`,
    );
    deepStrictEqual(empty.code, 1);
    ok(/no examples/i.test(empty.err), empty.err);
    Deno.writeTextFileSync(`${dir}/bad.tsv`, "sentence\tlabel\ngood film\t1\nbad film\t7\n");
    const bad = await cli(
      "heads",
      "--model",
      fixtureModel("bert-tiny-random"),
      "--data-file",
      `${dir}/bad.tsv`,
      "--text-column",
      "sentence",
      "--label-column",
      "label",
      "--output-dir",
      `${dir}/o`,
    );
    deepStrictEqual(bad.code, 1);
    ok(/7/.test(bad.err), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology --model takes a hub id: files come from HF_ENDPOINT into BERTOLOGY_CACHE, then offline", async () => {
  const cache = await Deno.makeTempDir();
  const dir = fixtureModel("bert-tiny-random");
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    const m = /^\/acme\/tiny-bert\/resolve\/v1\/(.+)$/.exec(path);
    if (!m) return new Response("not found", { status: 404 });
    try {
      return new Response(Deno.readFileSync(`${dir}/${m[1]}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const env = { HF_ENDPOINT: `http://127.0.0.1:${server.addr.port}`, BERTOLOGY_CACHE: cache };
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, Deno.env.get(k)]));
  try {
    for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
    const r = await cli("tokenize", "--model", "acme/tiny-bert@v1", "--text", "hello world");
    deepStrictEqual(r.code, 0, r.err);
    deepStrictEqual(JSON.parse(r.out).ids, [101, 7592, 2088, 102]);
    ok(seen.includes("/acme/tiny-bert/resolve/v1/config.json"));
    await server.shutdown();
    const offline = await cli("tokenize", "--model", "acme/tiny-bert@v1", "--text", "hello world", "--offline");
    deepStrictEqual(offline.code, 0, offline.err);
  } finally {
    for (const [k, v] of Object.entries(old)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await server.shutdown().catch(() => {});
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("bertology dump --dtype f16 rounds the weights to F16 and matches an F16 checkpoint run in F32", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = fixtureModel("bert-tiny-random");
    const inputs = `${FIXTURES}goldens/bert-tiny-random.head_mask.inputs.json`;
    // the same checkpoint with F16 weights, run with --dtype f32 (weights widened once, at load)
    await Deno.mkdir(`${dir}/f16`);
    Deno.copyFileSync(`${model}/config.json`, `${dir}/f16/config.json`);
    const weights = loadSafetensors(Deno.readFileSync(`${model}/model.safetensors`), "model.safetensors");
    Deno.writeFileSync(`${dir}/f16/model.safetensors`, writeSafetensors(weights, { dtype: "F16" }));
    const dump = async (from: string, dtype: string, out: string) => {
      const r = await cli("dump", "--model", from, "--inputs", inputs, "--out", out, "--dtype", dtype);
      deepStrictEqual(r.code, 0, r.err);
      return loadSafetensors(Deno.readFileSync(out), out);
    };
    const half = await dump(model, "f16", `${dir}/half.safetensors`);
    const widened = await dump(`${dir}/f16`, "f32", `${dir}/widened.safetensors`);
    const full = await dump(model, "f32", `${dir}/full.safetensors`);
    deepStrictEqual([...half.keys()], [...full.keys()]);
    for (const [name, t] of widened) ok(maxAbsDiff(name, half.get(name)!, t) <= 1e-5, name);
    ok(maxAbsDiff("hidden_states.3", half.get("hidden_states.3")!, full.get("hidden_states.3")!) > 0, "not rounded");
    const bad = await cli("dump", "--model", model, "--inputs", inputs, "--out", `${dir}/x`, "--dtype", "f64");
    deepStrictEqual(bad.code, 2);
    ok(/--dtype must be one of f32, f16, got "f64"/.test(bad.err), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology --threads: every command takes it, 2 threads write the same bytes as 1, a bad value is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const golden = "bert-tiny-random.head_mask";
    const dump = (threads: string, out: string) =>
      cli(
        "dump",
        "--threads",
        threads,
        "--model",
        "models/bert-sst2",
        "--inputs",
        `${FIXTURES}goldens/${golden}.inputs.json`,
        "--out",
        out,
      );
    const one = await dump("1", `${dir}/one.safetensors`), two = await dump("2", `${dir}/two.safetensors`);
    deepStrictEqual([one.code, two.code], [0, 0], one.err + two.err);
    deepStrictEqual(Deno.readFileSync(`${dir}/two.safetensors`), Deno.readFileSync(`${dir}/one.safetensors`));
    for (const bad of ["0", "1.5", "x", "65"]) {
      const r = await cli("tokenize", "--model", fixtureModel("bert-tiny-random"), "--text", "hi", `--threads=${bad}`);
      deepStrictEqual(r.code, 2);
      ok(r.err.includes(`--threads must be an integer from 1 to 64, got "${bad}"`), r.err);
    }
    const help = await cli("heads", "--help");
    ok(help.out.includes("--threads N"), help.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology suggests the near command or flag for a mistyped one", async () => {
  const cmd = await cli("prbe", "--model", "x");
  deepStrictEqual(cmd.code, 2);
  ok(cmd.err.includes(`unknown command "prbe"; did you mean "probe"?`), cmd.err);
  const flag = await cli("tokenize", "--modle", "x", "--text", "hi");
  deepStrictEqual(flag.code, 2);
  ok(flag.err.includes("unknown flag --modle; did you mean --model?"), flag.err);
  const far = await cli("tokenize", "--zzzzzz", "x");
  ok(far.err.includes("unknown flag --zzzzzz") && !far.err.includes("did you mean"), far.err);
  ok((await cli("xyzzy")).err.includes(`unknown command "xyzzy"\n`));
});

Deno.test("bertology dump --text/--text-pair equals dump --inputs of the same token ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = fixtureModel("bert-tiny-random");
    const tok = await cli("tokenize", "--model", model, "--text", "the film", "--text-pair", "was good");
    const { ids, token_type_ids } = JSON.parse(tok.out);
    const inputs = { input_ids: [ids], attention_mask: [ids.map(() => 1)], token_type_ids: [token_type_ids] };
    Deno.writeTextFileSync(`${dir}/in.json`, JSON.stringify(inputs));
    const a = await cli("dump", "--model", model, "--inputs", `${dir}/in.json`, "--out", `${dir}/a.safetensors`);
    deepStrictEqual(a.code, 0, a.err);
    const b = await cli(
      ...["dump", "--model", model, "--text", "the film", "--text-pair", "was good"],
      ...["--out", `${dir}/b.safetensors`],
    );
    deepStrictEqual(b.code, 0, b.err);
    const ta = loadSafetensors(Deno.readFileSync(`${dir}/a.safetensors`), "a");
    const tb = loadSafetensors(Deno.readFileSync(`${dir}/b.safetensors`), "b");
    deepStrictEqual([...tb.keys()].sort(), [...ta.keys()].sort());
    for (const [name, t] of ta) deepStrictEqual(tb.get(name)!.data, t.data, name);
    ok(ta.has("token_type_ids") && ta.has("attentions.0"));
    const both = await cli("dump", "--model", model, "--inputs", "x", "--text", "y", "--out", `${dir}/c`);
    ok(both.code === 2 && both.err.includes("give exactly one of --inputs or --text"), both.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
