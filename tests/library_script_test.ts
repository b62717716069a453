/**
 * The README's library example, as written, is a script of one's own: copied into a temporary folder outside the
 * repository beside a link to a clone, it runs under `deno run --no-config` with only the permission the README
 * names, gives the numbers the library gives in this workspace, and type-checks with the strict options.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { loadModel } from "@bertology/core";
import { localFiles } from "@bertology/core/checkpoint/deno";

const ROOT = new URL("../", import.meta.url).pathname;

/** The first ```ts block under the README's "## Library" heading (the script below runs it where it is meant to). */
function readmeLibraryExample(): string {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const section = readme.slice(readme.indexOf("\n## Library\n"));
  // `ts ignore`: deno test --doc would check it from the repository root, where ./bertology is not
  const block = section.match(/```ts(?: ignore)?\n([\s\S]*?)```/);
  if (block === null) throw new Error("README.md: no ```ts block under ## Library");
  return block[1]!;
}

/** `deno …args` in `cwd`, never prompting; its exit code and output. */
async function deno(cwd: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
}

Deno.test("the README's library example runs from a folder outside the repository with --no-config", async () => {
  const example = readmeLibraryExample();
  ok(!example.includes("@bertology/"), "the example imports by path, which needs no import map");
  const dir = await Deno.makeTempDir({ prefix: "bertology-script-" });
  try {
    await Deno.symlink(ROOT.replace(/\/$/, ""), `${dir}/bertology`);
    // The example as written, then one line that hands its results to this test.
    const report = `\nconsole.log(JSON.stringify({ logits: [...logits!.data], ` +
      `grad: [...cache.get("hook_head_mask_grad")!.data], z: [...cache.get("blocks.2.attn.hook_z")!.data] }));\n`;
    Deno.writeTextFileSync(`${dir}/study.ts`, example + report);

    const run = await deno(dir, "run", "--no-config", "--no-prompt", "--allow-read", "study.ts");
    deepStrictEqual(run.code, 0, run.err);
    const got = JSON.parse(run.out.trim().split("\n").at(-1)!);

    const { model, tokenizer } = await loadModel(localFiles(`${ROOT}models/bert-sst2`));
    const enc = tokenizer!.encode("a gripping, beautifully made film");
    const batch = { batchSize: 1, seqLen: enc.ids.length, inputIds: Int32Array.from(enc.ids) };
    const { logits, cache } = model.run({
      batch,
      labels: [1],
      names: ["blocks.2.attn.hook_z", "hook_head_mask_grad"],
    });
    deepStrictEqual(got.logits, [...logits!.data]);
    deepStrictEqual(got.grad, [...cache.get("hook_head_mask_grad")!.data]);
    deepStrictEqual(got.z, [...cache.get("blocks.2.attn.hook_z")!.data]);

    // The strict options of this repository's deno.json, and nothing else of it.
    const strict = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true };
    Deno.writeTextFileSync(`${dir}/strict.json`, JSON.stringify({ compilerOptions: strict }));
    const check = await deno(dir, "check", "--config", "strict.json", "study.ts");
    deepStrictEqual(check.code, 0, check.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
