import { deepStrictEqual, ok } from "node:assert/strict";
import { loadSafetensors } from "@bertology/core/checkpoint";
import { fixtureModel, FIXTURES, maxAbsDiff, readGolden } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

const GOLDEN = "bert-tiny-random.head_mask";
const ASKED = ["logits", "hidden_states.1", "attentions.0", "blocks.0.attn.hook_z"];

for (const backend of ["wasm", "ort-wasm", "ort-node"]) {
  Deno.test(`bertology dump --names ${ASKED.join(",")} (${backend}): every name asked for is in the file under that name`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const inputs = JSON.parse(Deno.readTextFileSync(`${FIXTURES}goldens/${GOLDEN}.inputs.json`));
      Deno.writeTextFileSync(`${dir}/mask.json`, JSON.stringify(inputs.head_mask));
      const r = await cli(
        ...["dump", "--backend", backend, "--model", fixtureModel("bert-tiny-random")],
        ...["--inputs", `${FIXTURES}goldens/${GOLDEN}.inputs.json`, "--out", `${dir}/out.safetensors`],
        ...["--head-mask", `${dir}/mask.json`, "--names", ASKED.join(",")],
      );
      deepStrictEqual(r.code, 0, r.err);
      const out = loadSafetensors(Deno.readFileSync(`${dir}/out.safetensors`), "out");
      for (const name of ASKED) ok(out.get(name) !== undefined, `${name} is in the file (${[...out.keys()]})`);
      const golden = readGolden(GOLDEN);
      for (const name of ASKED.slice(0, 3)) ok(maxAbsDiff(name, golden.get(name)!, out.get(name)!) <= 1e-4, name);
      const hidden = golden.get("hidden_states.1")!.shape;
      deepStrictEqual(out.get("blocks.0.attn.hook_z")!.shape.slice(0, 2), hidden.slice(0, 2), "[batch, seq, …]");

      const bad = await cli(
        ...["dump", "--backend", backend, "--model", fixtureModel("bert-tiny-random")],
        ...["--inputs", `${FIXTURES}goldens/${GOLDEN}.inputs.json`, "--out", `${dir}/bad.safetensors`],
        ...["--names", "attentions.9"],
      );
      deepStrictEqual(bad.code, 1, bad.err);
      ok(bad.err.includes(`"attentions.9"`), bad.err);
      ok(!(await Deno.stat(`${dir}/bad.safetensors`).then(() => true, () => false)), "nothing written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
