import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli } from "../../tests/helpers/cli.ts";

const BERT = fixtureModel("bert-tiny-random"), GPT2 = fixtureModel("gpt2-tiny-random");
const TEXTS = ["a film , slow .", "the movie was fine , really .", "no ."];

Deno.test("bertology head-roles gives an encoder Clark's attention sinks, equal to attention-stats on the same text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // on the rows closed with [SEP]: one example per row, every head's mass on [CLS] and [SEP] between 0 and 1
    const rows = await runCli("head-roles", "--model", BERT, "--repeat-len", "5", "--rows", "3", "--json");
    strictEqual(rows.code, 0, rows.err);
    const s = JSON.parse(rows.out).sinks;
    deepStrictEqual(Object.keys(s), ["cls", "sep", "punct", "examples", "inputs"]);
    deepStrictEqual([s.examples, s.inputs], [3, "the rows closed with [SEP]"]);
    for (const k of ["cls", "sep", "punct"]) {
      deepStrictEqual([s[k].length, s[k].every((r: number[]) => r.length === 4)], [3, true], k);
      ok(s[k].flat().every((v: number) => v >= 0 && v <= 1), k);
    }
    ok(s.sep.flat().some((v: number) => v > 0) && s.cls.flat().some((v: number) => v > 0));

    // on text: the same numbers attention-stats computes over the same sentences
    Deno.writeTextFileSync(`${dir}/s.txt`, TEXTS.join("\n") + "\n");
    Deno.writeTextFileSync(`${dir}/s.tsv`, ["sentence\tlabel", ...TEXTS.map((t) => `${t}\t0`)].join("\n") + "\n");
    const text = await runCli(
      "head-roles",
      "--model",
      BERT,
      "--repeat-len",
      "5",
      "--sink-text",
      `${dir}/s.txt`,
      "--json",
    );
    strictEqual(text.code, 0, text.err);
    const t = JSON.parse(text.out).sinks;
    deepStrictEqual([t.examples, t.inputs], [3, `${dir}/s.txt`]);
    const stats = await runCli(
      ...["attention-stats", "--model", BERT, "--data-file", `${dir}/s.tsv`, "--text-column", "sentence"],
      ...["--label-column", "label", "--output-dir", `${dir}/stats`],
    );
    strictEqual(stats.code, 0, stats.err);
    const a = JSON.parse(Deno.readTextFileSync(`${dir}/stats/attention_stats.json`)).stats;
    for (const k of ["cls", "sep", "punct"]) {
      const d = Math.max(...a[k].flat().map((v: number, i: number) => Math.abs(v - t[k].flat()[i])));
      ok(d <= 1e-9, `${k}: ${d}`);
    }
    ok(t.punct.flat().some((v: number) => v > 0), "the text's punctuation draws attention");

    const table = await runCli("head-roles", "--model", BERT, "--repeat-len", "5", "--sink-text", `${dir}/s.txt`);
    strictEqual(table.code, 0, table.err);
    ok(
      table.out.includes("Attention on [SEP] (the separators)") && /Most \[CLS\]-focused head: \d\.\d/.test(table.out),
    );

    // a decoder has no separators: no sinks, and --sink-text says why
    const gpt = await runCli("head-roles", "--model", GPT2, "--repeat-len", "5", "--rows", "2", "--json");
    strictEqual(gpt.code, 0, gpt.err);
    strictEqual(JSON.parse(gpt.out).sinks, undefined);
    const refused = await runCli("head-roles", "--model", GPT2, "--sink-text", `${dir}/s.txt`, "--repeat-len", "5");
    strictEqual(refused.code, 2);
    ok(/adds no separator token \(\[SEP\]\): attention sinks are an encoder's/.test(refused.err), refused.err);
    Deno.writeTextFileSync(`${dir}/empty.txt`, "\n\n");
    const empty = await runCli("head-roles", "--model", BERT, "--repeat-len", "5", "--sink-text", `${dir}/empty.txt`);
    strictEqual(empty.code, 1);
    ok(empty.err.includes(`${dir}/empty.txt holds no text`), empty.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
