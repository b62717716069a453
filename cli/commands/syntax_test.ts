import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli } from "../../tests/helpers/cli.ts";

interface Rel {
  count: number;
  best: { layer: number; head: number; direction: string; accuracy: number };
  baseline: { offset: number; accuracy: number };
  per_head: number[][];
  per_head_dep_to_parent: number[][];
  per_head_parent_to_dep: number[][];
}

function checkRelation(r: Rel, L: number, H: number) {
  deepStrictEqual(Object.keys(r), [
    "count",
    "best",
    "baseline",
    "per_head",
    "per_head_dep_to_parent",
    "per_head_parent_to_dep",
  ]);
  deepStrictEqual([r.per_head.length, r.per_head.every((row) => row.length === H)], [L, true]);
  ok(["dep->parent", "parent->dep"].includes(r.best.direction));
  const grid = r.best.direction === "dep->parent" ? r.per_head_dep_to_parent : r.per_head_parent_to_dep;
  strictEqual(grid[r.best.layer]![r.best.head], r.best.accuracy);
  strictEqual(Math.max(...r.per_head.flat()), r.best.accuracy);
  ok(
    r.baseline.accuracy > 0 && r.baseline.accuracy <= 1 && Number.isInteger(r.baseline.offset) &&
      r.baseline.offset !== 0,
  );
}

for (const [model, L, H] of [[fixtureModel("bert-tiny-random"), 3, 4], ["models/bert-sst2", 4, 8]] as const) {
  Deno.test(`bertology syntax writes every relation's best head and baseline (${model.split("/").pop()})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await runCli(
        "syntax",
        "--model",
        model,
        "--conllu",
        "data/ud/en_ewt-ud-dev.conllu",
        "--max-sentences",
        "12",
        "--output-dir",
        dir,
      );
      strictEqual(r.code, 0, r.err);
      const j = JSON.parse(Deno.readTextFileSync(`${dir}/syntax.json`));
      strictEqual(j.sentences + j.skipped, 12);
      const rels = Object.values(j.relations) as Rel[];
      ok(rels.length > 5);
      for (const rel of rels) checkRelation(rel, L, H);
      checkRelation(j.all, L, H);
      strictEqual(j.all.count, rels.reduce((s, x) => s + x.count, 0));
      ok(r.out.includes("all"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("bertology syntax names a bad CoNLL-U file and its line", async () => {
  const file = await Deno.makeTempFile({ suffix: ".conllu" });
  try {
    Deno.writeTextFileSync(file, "1\tA\ta\tDET\n");
    const r = await runCli(
      "syntax",
      "--model",
      fixtureModel("bert-tiny-random"),
      "--conllu",
      file,
      "--output-dir",
      "/tmp/x",
    );
    strictEqual(r.code, 1);
    ok(r.err.includes(`${file}:1: expected 10 tab-separated fields`), r.err);
  } finally {
    await Deno.remove(file);
  }
});
