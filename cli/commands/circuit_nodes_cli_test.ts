import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel, FIXTURES } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

const GPT2 = fixtureModel("gpt2-tiny-random");
const REF = JSON.parse(Deno.readTextFileSync(`${FIXTURES}hf/circuits_reference.out.json`)).gpt2;
const [CLEAN, CORRUPTED] = REF.text as [string, string];
const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

Deno.test("bertology dla --json: the issue's shape, equal to the Hugging Face reference; tokens by string or id", async () => {
  for (const [target, distractor] of [[" Mary", " John"], ["ĠMary", String(REF.distractor)]]) {
    const r = await cli(
      "dla",
      "--model",
      GPT2,
      "--text",
      CLEAN,
      "--target",
      target!,
      "--distractor",
      distractor!,
      "--json",
    );
    strictEqual(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    deepStrictEqual(Object.keys(j), ["metric", "embed", "heads", "mlps", "attn_bias", "constant"]);
    ok(close(j.metric, REF.dla.metric, 1e-4), `${j.metric} vs ${REF.dla.metric}`);
    j.heads.flat().forEach((v: number, i: number) => ok(close(v, REF.dla.heads.flat()[i], 1e-4), `head ${i}`));
    j.mlps.forEach((v: number, i: number) => ok(close(v, REF.dla.mlps[i], 1e-4), `mlp ${i}`));
  }
});

Deno.test("bertology dla prints the table and the check that the parts sum to m", async () => {
  const r = await cli("dla", "--model", GPT2, "--text", CLEAN, "--target", " Mary", "--distractor", " John");
  strictEqual(r.code, 0, r.err);
  ok(/m = logit\[5335 \(ĠMary\)\] − logit\[1757 \(ĠJohn\)\]/.test(r.out), r.out);
  ok(/sum of the parts -3\.42395\d = m -3\.42395\d \(difference/.test(r.out), r.out);
  ok(/direct logit attribution per head/.test(r.out));
});

Deno.test("bertology dla refuses post-norm models and unknown tokens in one sentence", async () => {
  const gpt = await cli("dla", "--model", fixtureModel("openai-gpt-tiny-random"), "--text", "a film is");
  strictEqual(gpt.code, 1, gpt.err);
  ok(/not defined for post-norm models/.test(gpt.err), gpt.err);
  const tok = await cli("dla", "--model", GPT2, "--text", CLEAN, "--target", "no such token here");
  strictEqual(tok.code, 2, tok.err);
  ok(/--target "no such token here" is not a token id or a token of the vocabulary/.test(tok.err), tok.err);
  const far = await cli("dla", "--model", GPT2, "--text", CLEAN, "--distractor", "50257");
  strictEqual(far.code, 2, far.err);
  ok(/--distractor 50257 is outside 0\.\.50256/.test(far.err), far.err);
});

Deno.test("bertology atp --json: the issue's shape, AtP and exact patching equal to the reference", async () => {
  const r = await cli(
    "atp",
    "--model",
    GPT2,
    "--clean",
    CLEAN,
    "--corrupted",
    CORRUPTED,
    "--target",
    " Mary",
    "--distractor",
    " John",
    "--json",
  );
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  deepStrictEqual(Object.keys(j), ["heads", "mlps", "exact", "pearson"]);
  deepStrictEqual(Object.keys(j.exact), ["heads", "mlps"]);
  const ref = REF.atp;
  j.heads.flat().forEach((v: number, i: number) => {
    const e = ref.heads.flat()[i];
    ok(close(v, e, 1e-5 + 1e-3 * Math.abs(e)), `head ${i}: ${v} vs ${e}`);
  });
  j.exact.heads.flat().forEach((v: number, i: number) => ok(close(v, ref.exact.heads.flat()[i], 1e-4), `exact ${i}`));
  ok(j.pearson > 0.5 && j.pearson <= 1, `pearson ${j.pearson}`);
});

Deno.test("bertology atp prints both tables and the correlation; --positions adds per-position values", async () => {
  const r = await cli("atp", "--model", GPT2, "--clean", CLEAN, "--corrupted", CORRUPTED);
  strictEqual(r.code, 0, r.err);
  ok(/attribution patching \(AtP\) per head/.test(r.out) && /exact activation patching per head/.test(r.out));
  ok(/Pearson correlation of AtP and exact patching over every head and MLP: /.test(r.out), r.out);
  const p = await cli("atp", "--model", GPT2, "--clean", CLEAN, "--corrupted", CORRUPTED, "--positions", "--json");
  strictEqual(p.code, 0, p.err);
  const j = JSON.parse(p.out);
  deepStrictEqual([j.heads_by_position.length, j.heads_by_position[0].length, j.heads_by_position[0][0].length], [
    3,
    4,
    REF.clean.length,
  ]);
  const bad = await cli("atp", "--model", GPT2, "--clean", CLEAN, "--corrupted", "a film");
  strictEqual(bad.code, 2, bad.err);
  ok(/--clean and --corrupted must have the same number of tokens/.test(bad.err), bad.err);
});

Deno.test("bertology composition --json: {Q, K, V} as [L][H][L][H], equal to TransformerLens's scores", async () => {
  const r = await cli("composition", "--model", GPT2, "--json");
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  deepStrictEqual(Object.keys(j), ["Q", "K", "V"]);
  for (const mode of ["Q", "K", "V"]) {
    const got = j[mode].flat(3), want = REF.composition[mode].flat(3);
    strictEqual(got.length, 3 * 4 * 3 * 4);
    got.forEach((v: number, i: number) => ok(close(v, want[i], 1e-4), `${mode}[${i}]: ${v} vs ${want[i]}`));
  }
  const b = await cli("composition", "--model", GPT2, "--json", "--baseline", "10", "--seed", "3");
  deepStrictEqual(Object.keys(JSON.parse(b.out).baseline), ["Q", "K", "V", "samples", "seed"]);
  const t = await cli("composition", "--model", GPT2, "--top", "2", "--baseline", "5");
  strictEqual(t.code, 0, t.err);
  ok(/^Q-composition: top 2 of 48 pairs \(random baseline 0\.\d+\)$/m.test(t.out), t.out);
  ok(/^ {2}a\d\.h\d → a\d\.h\d {2}0\.\d{4}$/m.test(t.out), t.out);
});
