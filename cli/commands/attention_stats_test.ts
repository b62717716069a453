import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli } from "../../tests/helpers/cli.ts";

const KEYS = ["self", "next", "prev", "cls", "sep", "punct", "entropy", "cls_entropy"];

/** Checks attention_stats.json's keys and shapes for an L × H model. */
function checkStats(j: Record<string, unknown>, L: number, H: number, examples: number, wordLevel: boolean) {
  deepStrictEqual([j.layers, j.heads, j.examples, j.word_level], [L, H, examples, wordLevel]);
  const stats = j.stats as Record<string, number[][]>;
  deepStrictEqual(Object.keys(stats), KEYS);
  for (const k of KEYS) {
    deepStrictEqual([stats[k]!.length, stats[k]!.every((r) => r.length === H)], [L, true], k);
    for (const v of stats[k]!.flat()) {
      ok(Number.isFinite(v) && v >= 0 && (k.endsWith("entropy") || v <= 1 + 1e-6), `${k} ${v}`);
    }
  }
  const js = j.js_distance as number[][], mds = j.mds as number[][];
  deepStrictEqual([js.length, js.every((r) => r.length === L * H)], [L * H, true]);
  for (let a = 0; a < L * H; a++) {
    strictEqual(js[a]![a], 0);
    for (let b = 0; b < L * H; b++) ok(js[a]![b] === js[b]![a] && js[a]![b]! <= Math.log(2) + 1e-9);
  }
  deepStrictEqual([mds.length, mds.every((p) => p.length === 2)], [L * H, true]);
}

Deno.test("bertology attention-stats writes every statistic, the JS distances and the MDS map (fixture model)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = [
      "--model",
      fixtureModel("bert-tiny-random"),
      "--task",
      "sst-2",
      "--data-dir",
      "data/glue",
      "--data-subset",
      "6",
      "--max-seq-length",
      "32",
    ];
    const r = await runCli("attention-stats", ...args, "--output-dir", dir);
    strictEqual(r.code, 0, r.err);
    checkStats(JSON.parse(Deno.readTextFileSync(`${dir}/attention_stats.json`)), 3, 4, 6, false);
    const w = await runCli("attention-stats", ...args, "--word-level", "--output-dir", `${dir}/w`);
    strictEqual(w.code, 0, w.err);
    const j = JSON.parse(Deno.readTextFileSync(`${dir}/w/attention_stats.json`));
    checkStats(j, 3, 4, 6 - j.skipped, true);
    ok(j.examples > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology attention-stats on the bundled models/bert-sst2: keys and shapes; [SEP] and punctuation found", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli(
      "attention-stats",
      "--model",
      "models/bert-sst2",
      "--task",
      "sst-2",
      "--data-dir",
      "data/glue",
      "--data-subset",
      "8",
      "--output-dir",
      dir,
    );
    strictEqual(r.code, 0, r.err);
    const j = JSON.parse(Deno.readTextFileSync(`${dir}/attention_stats.json`));
    checkStats(j, 4, 8, 8, false);
    // every row has one [SEP]; SST-2 sentences have "." or ","; rows sum to 1: the masses are all in (0, 1)
    ok((j.stats.sep as number[][]).flat().every((v) => v > 0));
    ok((j.stats.punct as number[][]).flat().every((v) => v > 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
