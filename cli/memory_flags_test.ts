import { deepStrictEqual, ok } from "node:assert/strict";
import { fixtureModel, FIXTURES } from "../tests/helpers/goldens.ts";
import { runCli as cli } from "../tests/helpers/cli.ts";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { takeMemoryFlags, useCommandMemory, withCommandMemory } from "./_common.ts";

Deno.test("bertology --recompute / --memory-budget: the same bytes recomputed or not; bad values are usage errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const golden = "gpt2-tiny-random.head_mask_grad";
    const dump = (out: string, ...flags: string[]) =>
      cli(
        "dump",
        "--model",
        fixtureModel("gpt2-tiny-random"),
        ...["--inputs", `${FIXTURES}goldens/${golden}.inputs.json`, "--out", `${dir}/${out}`],
        ...["--labels", "lm", "--grad", "head_mask", "--names", "blocks.0.attn.hook_z_grad,blocks.1.hook_resid_mid"],
        ...flags,
      );
    const off = await dump("off.safetensors", "--recompute", "off");
    const on = await dump("on.safetensors", "--recompute=on");
    // auto under a budget the weights alone exceed: recomputes
    const tight = await dump("tight.safetensors", "--memory-budget", "1");
    deepStrictEqual([off.code, on.code, tight.code], [0, 0, 0], off.err + on.err + tight.err);
    const bytes = (f: string) => Deno.readFileSync(`${dir}/${f}`);
    deepStrictEqual(bytes("on.safetensors"), bytes("off.safetensors"));
    deepStrictEqual(bytes("tight.safetensors"), bytes("off.safetensors"));

    for (
      const [flag, value, message] of [
        ["--recompute", "sometimes", `--recompute must be one of on, off, auto, got "sometimes"`],
        ["--memory-budget", "-3", `--memory-budget must be a positive number of MB, got "-3"`],
        ["--memory-budget", "lots", `--memory-budget must be a positive number of MB, got "lots"`],
      ]
    ) {
      const r = await dump("bad.safetensors", flag!, value!);
      deepStrictEqual(r.code, 2, r.err);
      ok(r.err.includes(message!), r.err);
    }
    // a command without backward passes does not take them
    const tok = await cli("tokenize", "--model", fixtureModel("bert-tiny-random"), "--text", "hi", "--recompute", "on");
    deepStrictEqual(tok.code, 2);
    const help = await cli("heads", "--help");
    ok(help.out.includes("--memory-budget MB") && help.out.includes("--recompute on|off|auto"), help.out);
    ok(!(await cli("tokenize", "--help")).out.includes("--memory-budget"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("takeMemoryFlags() and useCommandMemory(): the flags reach the command's models, and only its", async () => {
  const { args, memory } = takeMemoryFlags(["--model", "m", "--recompute", "on", "--memory-budget=700", "--json"]);
  deepStrictEqual(args, ["--model", "m", "--json"]);
  deepStrictEqual(memory, { recompute: "on", memoryBudgetMB: 700 });
  const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
  await withCommandMemory(memory, () => Promise.resolve(useCommandMemory(model)));
  deepStrictEqual([model.recompute, model.memoryBudgetMB], ["on", 700]);
  const other = (await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false })).model;
  useCommandMemory(other); // outside the command: the model keeps its defaults
  deepStrictEqual([other.recompute, other.memoryBudgetMB], ["auto", undefined]);
});
