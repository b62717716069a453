/**
 * Test helpers: run the `bertology` CLI in-process with stdout and stderr captured, and check `dump` against the
 * HF goldens (the same check for every backend).
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { main } from "@bertology/cli";
import { loadSafetensors } from "@bertology/core/checkpoint";
import { fixtureModel, FIXTURES, maxAbsDiff, readGolden } from "./goldens.ts";

/** Runs `bertology …args` and returns its exit code and output. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/**
 * Runs `bertology dump …extra` on the head-masked BERT golden and on the GPT-2 head-mask-gradient golden, and
 * checks the outputs: every golden tensor within 1e-4, the loss within 1e-4, `head_mask_grad` within
 * 1e-5 + 1e-3·|x|. `extra` picks e.g. a backend (`--backend ort-wasm`).
 */
export async function checkDumpAgainstGoldens(...extra: string[]): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const golden = "bert-tiny-random.head_mask";
    const inputs = JSON.parse(Deno.readTextFileSync(`${FIXTURES}goldens/${golden}.inputs.json`));
    Deno.writeTextFileSync(`${dir}/mask.json`, JSON.stringify(inputs.head_mask));
    const r = await runCli(
      ...["dump", ...extra, "--model", fixtureModel("bert-tiny-random")],
      ...["--inputs", `${FIXTURES}goldens/${golden}.inputs.json`, "--out", `${dir}/out.safetensors`],
      ...["--head-mask", `${dir}/mask.json`],
    );
    deepStrictEqual(r.code, 0, r.err);
    const out = loadSafetensors(Deno.readFileSync(`${dir}/out.safetensors`), "out");
    for (const [name, t] of readGolden(golden)) ok(maxAbsDiff(name, t, out.get(name)!) <= 1e-4, name);

    const g = "gpt2-tiny-random.head_mask_grad";
    const r2 = await runCli(
      ...["dump", ...extra, "--model", fixtureModel("gpt2-tiny-random")],
      ...["--inputs", `${FIXTURES}goldens/${g}.inputs.json`, "--out", `${dir}/grad.safetensors`],
      ...["--labels", "lm", "--grad", "head_mask"],
    );
    deepStrictEqual(r2.code, 0, r2.err);
    const grads = loadSafetensors(Deno.readFileSync(`${dir}/grad.safetensors`), "grad");
    const expected = readGolden(g);
    ok(maxAbsDiff("loss", expected.get("loss")!, grads.get("loss")!) <= 1e-4);
    const e = expected.get("head_mask_grad")!, a = grads.get("head_mask_grad")!;
    e.data.forEach((v, i) => ok(Math.abs(v - a.data[i]!) <= 1e-5 + 1e-3 * Math.abs(v), `head_mask_grad[${i}]`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
