import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { readNpy } from "@bertology/core/checkpoint";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli } from "../../tests/helpers/cli.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}cli/main.ts`;
const GLUE = `${ROOT}data/glue`;
const UD_DEV = `${ROOT}data/ud/en_ewt-ud-dev.conllu`;
const BERT_SST2 = `${ROOT}models/bert-sst2`;
const TINY = fixtureModel("bert-tiny-random");

/** The largest |a − b| over two .npy files. */
function npyDiff(a: string, b: string): number {
  const x = readNpy(Deno.readFileSync(a), a), y = readNpy(Deno.readFileSync(b), b);
  deepStrictEqual(x.shape, y.shape);
  let m = 0;
  for (let i = 0; i < x.data.length; i++) m = Math.max(m, Math.abs(x.data[i]! - y.data[i]!));
  return m;
}

/** The largest |a − b| over every number of two JSON values of the same shape (other values must be equal). */
function jsonDiff(a: unknown, b: unknown, path = "$"): number {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    strictEqual(a.length, b.length, `${path} length`);
    return Math.max(0, ...a.map((v, i) => jsonDiff(v, b[i], `${path}[${i}]`)));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    deepStrictEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path} keys`);
    return Math.max(0, ...Object.keys(a).map((k) => jsonDiff((a as never)[k], (b as never)[k], `${path}.${k}`)));
  }
  strictEqual(a, b, path);
  return 0;
}

const withoutTimes = (r: Record<string, unknown>) => {
  const { timings: _t, seconds: _s, shards: _n, rounds: _r, ...rest } = r;
  if (rest.masking) {
    const m = rest.masking as { steps: { seconds?: number }[] };
    rest.masking = { ...m, steps: m.steps.map(({ seconds: _x, ...s }) => s) };
  }
  return rest;
};

/** Runs the CLI as its own process, as a pod of a Kubernetes Indexed Job runs it. */
async function cliProcess(args: string[], env: Record<string, string>): Promise<{ code: number; err: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout) };
}

Deno.test("heads in 3 processes of a Kubernetes Indexed Job (JOB_COMPLETION_INDEX), merged, equals one run within 1e-6", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shards-k8s-" });
  try {
    const study = ["heads", "--model", BERT_SST2, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "60"];
    study.push("--batch-size", "8", "--threads", "1");
    const single = await runCli(...study, "--output-dir", `${dir}/single`);
    strictEqual(single.code, 0, single.err);
    const pods = await Promise.all(
      [0, 1, 2].map((i) =>
        cliProcess([...study, "--shards", "3", "--output-dir", `${dir}/shards`], { JOB_COMPLETION_INDEX: String(i) })
      ),
    );
    pods.forEach((p, i) => strictEqual(p.code, 0, `pod ${i}: ${p.err}`));
    ok(/shard 2 of 3: 2 of 8 batches/.test(pods[2]!.err), pods[2]!.err);
    const merged = await runCli("merge", `${dir}/shards`, "--output-dir", `${dir}/merged`);
    strictEqual(merged.code, 0, merged.err);
    for (const f of ["head_importance.npy", "attn_entropy.npy"]) {
      const d = npyDiff(`${dir}/single/${f}`, `${dir}/merged/${f}`);
      ok(d <= 1e-6, `${f}: ${d}`);
    }
    const a = JSON.parse(Deno.readTextFileSync(`${dir}/single/report.json`));
    const b = JSON.parse(Deno.readTextFileSync(`${dir}/merged/report.json`));
    ok(jsonDiff(withoutTimes(a), withoutTimes(b)) <= 1e-6);
    strictEqual(b.score, a.score);
    strictEqual(b.shards, 3);

    // a restarted pod finds its own shard done and leaves it as it was
    const before = Deno.readTextFileSync(`${dir}/shards/shard-1-of-3/partial.json`);
    const again = await cliProcess([...study, "--shards", "3", "--output-dir", `${dir}/shards`], {
      JOB_COMPLETION_INDEX: "1",
    });
    strictEqual(again.code, 0, again.err);
    ok(/shard 1 of 3 is done/.test(again.err), again.err);
    strictEqual(Deno.readTextFileSync(`${dir}/shards/shard-1-of-3/partial.json`), before);

    // a shard of another run (another data slice) is refused, with the flag that differs; so is a missing shard
    const odd = await runCli(
      ...study.slice(0, -6),
      "--data-subset",
      "52",
      "--batch-size",
      "8",
      "--threads",
      "1",
      "--shard",
      "1/3",
      "--output-dir",
      `${dir}/odd`,
    );
    strictEqual(odd.code, 0, odd.err);
    const mixed = await runCli(
      "merge",
      `${dir}/shards/shard-0-of-3`,
      `${dir}/odd/shard-1-of-3`,
      `${dir}/shards/shard-2-of-3`,
      "--output-dir",
      `${dir}/mixed`,
    );
    strictEqual(mixed.code, 1);
    ok(
      /they come from different runs \(the data differs, --data-subset is "52" in one and "60" in the other\)/.test(
        mixed.err,
      ),
      mixed.err,
    );
    const missing = await runCli(
      "merge",
      `${dir}/shards/shard-0-of-3`,
      `${dir}/shards/shard-2-of-3`,
      "--output-dir",
      `${dir}/missing`,
    );
    strictEqual(missing.code, 1);
    ok(/1 of the 3 shards is missing \(1\)/.test(missing.err), missing.err);
    ok(!(await exists(`${dir}/mixed`)) && !(await exists(`${dir}/missing`)), "a refused merge writes nothing");
    // the job engine's variable without --shards does not shard a run; --shards without the variable is a usage error
    const noIndex = await cliProcess([...study, "--shards", "3", "--output-dir", `${dir}/x`], {});
    strictEqual(noIndex.code, 2);
    ok(/neither is set: give --shard I\/3 instead/.test(noIndex.err), noIndex.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("heads --try-masking sharded in rounds (each merged before the next) equals one masking run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shards-masking-" });
  try {
    const study = ["heads", "--model", TINY, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "24"];
    study.push("--batch-size", "4", "--try-masking", "--masking-amount", "0.25", "--masking-threshold", "0.97");
    study.push("--no-prune", "--threads", "1");
    // the single run's extra statistics (bootstrap, random masks, rank stability) have no sharded twin
    const single = await runCli(
      ...study,
      ...["--bootstrap", "0", "--random-masks", "0", "--stability-splits", "0"],
      "--output-dir",
      `${dir}/single`,
    );
    strictEqual(single.code, 0, single.err);
    let k = 0;
    for (; k < 20; k++) {
      for (const i of [0, 1]) {
        const r = await runCli(...study, "--shard", `${i}/2`, "--round", String(k), "--output-dir", `${dir}/rounds`);
        strictEqual(r.code, 0, r.err);
      }
      const m = await runCli("merge", `${dir}/rounds/round-${k}`, "--output-dir", `${dir}/rounds/round-${k}/merged`);
      strictEqual(m.code, 0, m.err);
      if (await exists(`${dir}/rounds/round-${k}/merged/head_mask.npy`)) break;
    }
    const last = `${dir}/rounds/round-${k}/merged`;
    const a = JSON.parse(Deno.readTextFileSync(`${dir}/single/report.json`));
    const b = JSON.parse(Deno.readTextFileSync(`${last}/report.json`));
    strictEqual(b.rounds, a.masking.steps.length);
    ok(b.rounds >= 2, `${b.rounds} rounds`);
    ok(jsonDiff(withoutTimes(a), withoutTimes(b)) <= 1e-6);
    for (const f of ["head_importance.npy", "attn_entropy.npy", "head_mask.npy"]) {
      ok(npyDiff(`${dir}/single/${f}`, `${last}/${f}`) <= 1e-6, f);
    }
    // a round past the end has nothing to run; a round whose previous round is not merged says so
    const after = await runCli(...study, "--shard", "0/2", "--round", String(k + 1), "--output-dir", `${dir}/rounds`);
    strictEqual(after.code, 0, after.err);
    ok(/ended after round/.test(after.out), after.out);
    const early = await runCli(...study, "--shard", "0/2", "--round", "3", "--output-dir", `${dir}/other`);
    strictEqual(early.code, 1);
    ok(/merge round 2 first, or name its merged folder with --previous DIR/.test(early.err), early.err);
    const prune = await runCli(
      ...study.filter((s) => s !== "--no-prune"),
      "--shard",
      "0/2",
      "--output-dir",
      `${dir}/p`,
    );
    strictEqual(prune.code, 2);
    ok(/a sharded --try-masking needs --no-prune/.test(prune.err), prune.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attention-stats and syntax sharded in 3, merged, equal one run within 1e-6", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shards-analysis-" });
  try {
    const studies = [
      [
        "attention-stats",
        "attention_stats.json",
        "--task",
        "sst-2",
        "--data-dir",
        GLUE,
        "--data-subset",
        "30",
        "--word-level",
      ],
      ["syntax", "syntax.json", "--conllu", UD_DEV, "--max-sentences", "30"],
    ];
    for (const [command, file, ...flags] of studies) {
      const study = [command!, "--model", TINY, ...flags, "--batch-size", "4", "--threads", "1"];
      const single = await runCli(...study, "--output-dir", `${dir}/${command}`);
      strictEqual(single.code, 0, single.err);
      for (const i of [0, 1, 2]) {
        const r = await runCli(...study, "--shard", `${i}/3`, "--output-dir", `${dir}/${command}-shards`);
        strictEqual(r.code, 0, r.err);
      }
      const m = await runCli("merge", `${dir}/${command}-shards`, "--output-dir", `${dir}/${command}-merged`);
      strictEqual(m.code, 0, m.err);
      const a = JSON.parse(Deno.readTextFileSync(`${dir}/${command}/${file}`));
      const b = JSON.parse(Deno.readTextFileSync(`${dir}/${command}-merged/${file}`));
      const d = jsonDiff(withoutTimes(a), withoutTimes(b));
      ok(d <= 1e-6, `${command}: ${d}`);
    }
    // shards of two different studies are not one run
    const mixed = await runCli(
      "merge",
      `${dir}/attention-stats-shards/shard-0-of-3`,
      `${dir}/syntax-shards/shard-1-of-3`,
      "--output-dir",
      `${dir}/mixed`,
    );
    strictEqual(mixed.code, 1);
    ok(/one is a "syntax" study, the other "attention-stats"/.test(mixed.err), mixed.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
