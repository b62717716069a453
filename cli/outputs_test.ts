/**
 * The output guards of `heads --output-dir`, `train --output-dir` and the demo (`prune --out` is tested in
 * `commands/prune_test.ts`, the mechanism in `core/checkpoint/output_dir_fs_test.ts`).
 */
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { fixtureModel } from "../tests/helpers/goldens.ts";
import { parseDemoArgs, runDemo } from "./demo.ts";
import { runCli as cli } from "../tests/helpers/cli.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bertology-outputs-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function writeData(dir: string): string {
  const file = join(dir, "data.tsv");
  Deno.writeTextFileSync(file, "sentence\tlabel\na good film\t1\na bad film\t0\ngood\t1\nbad\t0\n");
  return file;
}

const heads = (data: string, out: string, ...more: string[]) =>
  cli(
    "heads",
    "--model",
    fixtureModel("bert-tiny-random"),
    "--data-file",
    data,
    "--text-column",
    "sentence",
    "--label-column",
    "label",
    "--output-dir",
    out,
    ...more,
  );

Deno.test("heads --output-dir refuses someone else's folder and one holding its data; --force keeps files", async () => {
  await withTempDir(async (dir) => {
    const data = writeData(dir);
    const refusedData = await heads(data, dir);
    deepStrictEqual(refusedData.code, 1);
    ok(/--output-dir .*: it contains .*data.tsv, which this command reads/.test(refusedData.err), refusedData.err);
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(join(out, "thesis.tex"), "thesis");
    const refused = await heads(data, out);
    deepStrictEqual(refused.code, 1);
    ok(/not empty and bertology did not write it .*pass --force/.test(refused.err), refused.err);
    deepStrictEqual(names(out), ["thesis.tex"]);
    Deno.writeTextFileSync(join(out, "report.json"), "mine");
    const clash = await heads(data, out, "--force");
    deepStrictEqual(clash.code, 1);
    ok(/"report.json" was not written by bertology/.test(clash.err), clash.err);
    deepStrictEqual(Deno.readTextFileSync(join(out, "report.json")), "mine");
    Deno.removeSync(join(out, "report.json"));
    const forced = await heads(data, out, "--force", "--json");
    deepStrictEqual(forced.code, 0, forced.err);
    deepStrictEqual(Deno.readTextFileSync(join(out, "thesis.tex")), "thesis");
    // a re-run over its own output needs no --force
    const again = await heads(data, out, "--json");
    deepStrictEqual(again.code, 0, again.err);
    deepStrictEqual(names(out), [
      ".bertology-output.json",
      "attn_entropy.npy",
      "head_importance.npy",
      "report.json",
      "thesis.tex",
    ]);
  });
});

Deno.test("train --output-dir refuses a folder holding --from, and someone else's folder unless --force", async () => {
  await withTempDir(async (dir) => {
    const data = writeData(dir);
    const run = join(dir, "run");
    Deno.mkdirSync(join(run, "best"), { recursive: true });
    for (const f of ["config.json", "model.safetensors", "vocab.txt"]) {
      Deno.copyFileSync(join(fixtureModel("bert-tiny-random"), f), join(run, "best", f));
    }
    const train = (out: string, ...more: string[]) =>
      cli(
        "train",
        "--train-file",
        data,
        "--from",
        join(run, "best"),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--max-seq-length",
        "8",
        "--output-dir",
        out,
        "--json",
        ...more,
      );
    const holding = await train(run, "--force");
    deepStrictEqual(holding.code, 1);
    ok(/--output-dir .*run: it contains .*best, which this command reads/.test(holding.err), holding.err);
    deepStrictEqual(names(join(run, "best")), ["config.json", "model.safetensors", "vocab.txt"]);
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(join(out, "results.csv"), "1,2");
    const refused = await train(out);
    deepStrictEqual(refused.code, 1);
    ok(/not empty and bertology did not write it .*pass --force/.test(refused.err), refused.err);
    const forced = await train(out, "--force");
    deepStrictEqual(forced.code, 0, forced.err);
    deepStrictEqual(Deno.readTextFileSync(join(out, "results.csv")), "1,2");
    ok(Deno.lstatSync(join(out, "best")).isSymlink && Deno.statSync(join(out, "last", "config.json")).isFile);
    const again = await train(out);
    deepStrictEqual(again.code, 0, again.err);
  });
});

Deno.test("runDemo() refuses an output folder holding a model or someone else's files, before any work", async () => {
  await withTempDir(async (dir) => {
    const bert = join(dir, "bert");
    Deno.mkdirSync(bert);
    for (const f of ["config.json", "model.safetensors", "vocab.txt"]) {
      Deno.copyFileSync(join(fixtureModel("bert-tiny-random"), f), join(bert, f));
    }
    const opts = { bert, gpt2: fixtureModel("gpt2-tiny-random"), log: () => {} };
    await rejects(
      runDemo({ ...opts, out: dir, force: true }),
      /--out .*: it contains .*bert, which this command reads/,
    );
    const out = join(dir, "demo");
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(join(out, "summary.json"), "mine");
    await rejects(runDemo({ ...opts, out }), /not empty and bertology did not write it .*pass --force/);
    await rejects(runDemo({ ...opts, out, force: true }), /"summary.json" was not written by bertology/);
    deepStrictEqual(names(out), ["summary.json"]);
    deepStrictEqual(parseDemoArgs(["--force"]).force, true);
  });
});
