/**
 * The deploy files run what they say: the Slurm task script through the Slurm array's variables, merged, equals one
 * run; the Kubernetes manifest asks for as many shards as it runs pods and merges.
 */
import { ok, strictEqual } from "node:assert/strict";
import { readNpy } from "@bertology/core/checkpoint";
import { runCli } from "../tests/helpers/cli.ts";
import { fixtureModel } from "../tests/helpers/goldens.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("deploy/slurm/heads.sbatch run as 2 array tasks (SLURM_ARRAY_TASK_ID), merged, equals one run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy-slurm-" });
  try {
    const flags = ["--data-subset", "20", "--batch-size", "4"];
    const env = { DENO: Deno.execPath(), MODEL: fixtureModel("bert-tiny-random"), SLURM_ARRAY_TASK_COUNT: "2" };
    for (const [id, min] of [["5", "5"], ["6", "5"]]) {
      const out = await new Deno.Command("bash", {
        args: [`${ROOT}deploy/slurm/heads.sbatch`, `${dir}/out`, ...flags],
        cwd: ROOT,
        env: { ...env, SLURM_ARRAY_TASK_ID: id!, SLURM_ARRAY_TASK_MIN: min! },
        stdout: "piped",
        stderr: "piped",
      }).output();
      strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const merged = await runCli("merge", `${dir}/out`, "--output-dir", `${dir}/out/merged`);
    strictEqual(merged.code, 0, merged.err);
    const single = await runCli(
      ...["heads", "--model", env.MODEL, "--task", "sst-2", "--data-dir", `${ROOT}data/glue`, ...flags],
      ...["--threads", "1", "--output-dir", `${dir}/single`],
    );
    strictEqual(single.code, 0, single.err);
    for (const f of ["head_importance.npy", "attn_entropy.npy"]) {
      const a = readNpy(Deno.readFileSync(`${dir}/single/${f}`), f).data;
      const b = readNpy(Deno.readFileSync(`${dir}/out/merged/${f}`), f).data;
      ok(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-6), f);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy/kubernetes/heads-indexed-job.yaml runs as many pods as shards and merges that many", () => {
  const yaml = Deno.readTextFileSync(`${ROOT}deploy/kubernetes/heads-indexed-job.yaml`);
  const n = (re: RegExp) => {
    const m = re.exec(yaml);
    ok(m, `${re} not found in the manifest`);
    return Number(m[1]);
  };
  const completions = n(/completions: (\d+)/);
  strictEqual(n(/parallelism: (\d+)/), completions);
  strictEqual(n(/--shards=(\d+)/), completions);
  strictEqual(n(/name: SHARDS, value: "(\d+)"/), completions);
  ok(/completionMode: Indexed/.test(yaml));
  ok(/cli\/main\.ts merge \/work\/out\/heads --output-dir \/work\/out\/heads\/merged/.test(yaml));
});
