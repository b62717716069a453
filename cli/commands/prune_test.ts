import { deepStrictEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

/** Copies the loadable files of a fixture model (not its pytorch_model.bin twin) to `to`. */
function copyModel(name: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const e of Deno.readDirSync(fixtureModel(name))) {
    if (e.isFile && e.name !== "pytorch_model.bin") {
      Deno.copyFileSync(join(fixtureModel(name), e.name), join(to, e.name));
    }
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const prune = (model: string, out: string, ...more: string[]) =>
  cli("prune", "--model", model, "--heads", '{"1":[0]}', "--out", out, ...more);

Deno.test("prune --out refuses a folder of the user's files, the source, a folder holding it, and a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-prune-" });
  try {
    // the case: P holds docs/thesis.tex, results.csv and the source model
    const p = join(dir, "P");
    Deno.mkdirSync(join(p, "docs"), { recursive: true });
    Deno.writeTextFileSync(join(p, "docs", "thesis.tex"), "thesis");
    Deno.writeTextFileSync(join(p, "results.csv"), "a,b");
    copyModel("gpt2-tiny-random", join(p, "model"));
    const before = names(join(p, "model"));
    for (const force of [[], ["--force"]]) {
      const r = await prune(join(p, "model"), p, ...force);
      deepStrictEqual(r.code, 1, r.err);
      ok(/Refusing to write --out .*P: it contains .*model, which this command reads/.test(r.err), r.err);
    }
    deepStrictEqual(names(p), ["docs", "model", "results.csv"]);
    deepStrictEqual(names(join(p, "model")), before);
    // --out equal to --model (with a model card and notes in it)
    Deno.writeTextFileSync(join(p, "model", "README.md"), "model card");
    const same = await prune(join(p, "model"), join(p, "model"), "--force");
    deepStrictEqual(same.code, 1);
    ok(/it is .*model, which this command reads/.test(same.err), same.err);
    deepStrictEqual(Deno.readTextFileSync(join(p, "model", "README.md")), "model card");
    // a non-empty folder bertology did not write
    const notes = join(dir, "notes");
    Deno.mkdirSync(notes);
    Deno.writeTextFileSync(join(notes, "results.csv"), "1,2");
    const foreign = await prune(join(p, "model"), notes);
    deepStrictEqual(foreign.code, 1);
    ok(/not empty and bertology did not write it .*"results.csv".*pass --force/.test(foreign.err), foreign.err);
    deepStrictEqual(names(notes), ["results.csv"]);
    // an existing file, even with --force
    const file = join(dir, "FILE");
    Deno.writeTextFileSync(file, "data");
    const onFile = await prune(join(p, "model"), file, "--force");
    deepStrictEqual(onFile.code, 1);
    ok(/FILE: it is an existing file/.test(onFile.err), onFile.err);
    deepStrictEqual(Deno.readTextFileSync(file), "data");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prune --force writes beside the user's files; a re-run over its own output needs no --force", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-prune-" });
  try {
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(join(out, "results.csv"), "a,b");
    const r = await prune(fixtureModel("gpt2-tiny-random"), out, "--force", "--json");
    deepStrictEqual(r.code, 0, r.err);
    deepStrictEqual(Deno.readTextFileSync(join(out, "results.csv")), "a,b");
    ok(Deno.statSync(join(out, "model.safetensors")).size > 0);
    Deno.writeTextFileSync(join(out, "NOTES.md"), "pruned 1.0");
    const again = await cli("prune", "--model", fixtureModel("gpt2-tiny-random"), "--heads", '{"2":[1]}', "--out", out);
    deepStrictEqual(again.code, 0, again.err);
    deepStrictEqual(JSON.parse(Deno.readTextFileSync(join(out, "config.json"))).pruned_heads, { 2: [1] });
    deepStrictEqual(Deno.readTextFileSync(join(out, "results.csv")), "a,b");
    deepStrictEqual(Deno.readTextFileSync(join(out, "NOTES.md")), "pruned 1.0");
    deepStrictEqual(names(dir), [Deno.readLinkSync(out), "out"].sort(), "no temporary folders are left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
