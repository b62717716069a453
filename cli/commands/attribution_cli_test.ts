import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

const BERT = fixtureModel("bert-tiny-random"), GPT2 = fixtureModel("gpt2-tiny-random");

Deno.test("bertology attribute --json: tokens, target, one score per token; ig adds its completeness gap", async () => {
  for (const model of [BERT, GPT2]) {
    for (const method of ["saliency", "grad-input", "ig", "rollout", "flow"]) {
      const r = await cli(
        "attribute",
        "--model",
        model,
        "--text",
        "the film is a gripping tale",
        "--method",
        method,
        "--json",
      );
      strictEqual(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      const keys = ["tokens", "target", "scores", ...(method === "ig" ? ["completeness_gap"] : []), "method", "words"];
      deepStrictEqual(Object.keys(j), keys, `${model} ${method}`);
      strictEqual(j.scores.length, j.tokens.length);
      ok(Number.isInteger(j.target));
      if (method === "ig") ok(j.completeness_gap < 0.01, `gap ${j.completeness_gap}`);
    }
  }
  const pair = await cli(
    "attribute",
    "--model",
    BERT,
    "--text",
    "a film",
    "--text-pair",
    "it is",
    "--method",
    "ig",
    "--steps",
    "8",
    "--baseline",
    "mask",
    "--target",
    "0",
    "--json",
  );
  strictEqual(pair.code, 0, pair.err);
  const j = JSON.parse(pair.out);
  strictEqual(j.target, 0);
  strictEqual(j.tokens.filter((t: string) => t === "[SEP]").length, 2);
  // special tokens are kept in the baseline: their attribution is 0
  strictEqual(j.scores[0], 0);
});

Deno.test("bertology attribute refuses bad flags with exit code 2, naming the flag", async () => {
  const bad = async (re: RegExp, ...args: string[]) => {
    const r = await cli("attribute", "--model", BERT, "--text", "a film", ...args);
    strictEqual(r.code, 2, r.err);
    ok(re.test(r.err), r.err);
  };
  await bad(/--method must be one of saliency, grad-input, ig, rollout, flow, got "shap"/, "--method", "shap");
  await bad(/--method is required/);
  await bad(/--steps is for --method ig/, "--method", "saliency", "--steps", "3");
  await bad(/--baseline must be one of pad, zero, mask/, "--method", "ig", "--baseline", "noise");
  await bad(/--target "positive" is not a class index or label/, "--method", "ig", "--target", "positive");
  await bad(/--target 7 is outside 0\.\.1/, "--method", "ig", "--target", "7");
});

Deno.test("bertology patch --json: effect [L × H], the two logit differences, MLPs; --ablate gives zero and mean maps", async () => {
  for (const model of [BERT, GPT2]) {
    const r = await cli(
      "patch",
      "--model",
      model,
      "--clean",
      "the film is a gripping tale of",
      "--corrupted",
      "the film is a boring tale of",
      "--json",
    );
    strictEqual(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    deepStrictEqual(Object.keys(j), ["effect", "logit_diff_clean", "logit_diff_corrupted", "target", "other", "mlp"]);
    strictEqual(j.effect.length, 3);
    ok(j.effect.every((row: number[]) => row.length === 4 && row.every(Number.isFinite)));
    ok(j.logit_diff_clean !== j.logit_diff_corrupted);
    const a = await cli("patch", "--model", model, "--clean", "the film is a gripping tale", "--ablate", "--json");
    strictEqual(a.code, 0, a.err);
    deepStrictEqual(Object.keys(JSON.parse(a.out)), ["zero", "mean", "logit_diff", "target", "other"]);
  }
  const p = await cli(
    "patch",
    "--model",
    BERT,
    "--clean",
    "a gripping tale",
    "--corrupted",
    "a boring tale",
    "--positions",
    "--json",
  );
  const j = JSON.parse(p.out);
  strictEqual(j.resid.length, 3);
  strictEqual(j.resid[0].length, j.tokens.length);
  const r = await cli("patch", "--model", BERT, "--clean", "a gripping tale", "--corrupted", "a tale");
  strictEqual(r.code, 2);
  ok(/same number of tokens/.test(r.err), r.err);
});

Deno.test("bertology logit-lens --json: a row per layer and position; refuses a classifier", async () => {
  const r = await cli("logit-lens", "--model", GPT2, "--text", "the film is a gripping", "--top-k", "3", "--json");
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  deepStrictEqual(Object.keys(j), ["tokens", "layers", "targets", "top", "target_rank", "target_prob"]);
  deepStrictEqual(j.layers, ["embed", "0", "1", "2"]);
  const T = j.tokens.length;
  strictEqual(j.top.length, 4);
  ok(j.top.every((row: unknown[]) => row.length === T));
  deepStrictEqual(Object.keys(j.top[0][0][0]), ["token", "id", "prob"]);
  strictEqual(j.top[0][0].length, 3);
  strictEqual(j.target_rank[3][T - 1], 0, "the last position's target is the model's own prediction");
  const text = await cli("logit-lens", "--model", GPT2, "--text", "the film");
  strictEqual(text.code, 0, text.err);
  const b = await cli("logit-lens", "--model", BERT, "--text", "a film");
  strictEqual(b.code, 2);
  ok(/for language models/.test(b.err), b.err);
});

Deno.test("bertology head-roles --json: three [L × H] maps and the two repeats' losses; --ids takes exact rows", async () => {
  const r = await cli("head-roles", "--model", GPT2, "--repeat-len", "6", "--rows", "4", "--seed", "2", "--json");
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const k of ["previous_token", "duplicate_token", "induction"]) {
    deepStrictEqual([j[k].length, j[k].every((row: number[]) => row.length === 4)], [3, true], k);
    ok(j[k].flat().every((v: number) => v >= 0 && v <= 1), k);
  }
  ok(j.loss_first_repeat > 0 && j.loss_second_repeat > 0);
  deepStrictEqual([j.repeat_len, j.rows], [6, 4]);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(file, JSON.stringify([[0, 5, 9, 11, 5, 9, 11]]));
    const ids = await cli("head-roles", "--model", GPT2, "--ids", file, "--json");
    strictEqual(ids.code, 0, ids.err);
    deepStrictEqual([JSON.parse(ids.out).repeat_len, JSON.parse(ids.out).rows], [3, 1]);
    const both = await cli("head-roles", "--model", GPT2, "--ids", file, "--rows", "3");
    strictEqual(both.code, 2);
    ok(/--ids gives the rows/.test(both.err));
  } finally {
    await Deno.remove(file);
  }
  const bert = await cli("head-roles", "--model", BERT, "--repeat-len", "4", "--rows", "2", "--json");
  strictEqual(bert.code, 0, bert.err);
  strictEqual(JSON.parse(bert.out).loss_first_repeat, undefined);
});
