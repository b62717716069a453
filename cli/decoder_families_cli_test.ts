/**
 * The CLI on the decoder families (Llama with grouped-query attention, Qwen2, GPT-Neo fixtures, the pretrained
 * stories260K; GPT-NeoX has its own `gpt_neox_cli_test.ts`): `heads` under the next-token loss with masking by
 * perplexity, `prune --heads` (a GQA key/value head stays while a query head it serves does; the note says so;
 * the checkpoint reloads equal to the masked model), `export` run by onnxruntime, `logit-lens`, `attribute`,
 * `patch`, `generate`.
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { readNpy } from "@bertology/core/checkpoint";
import { OrtModel } from "@bertology/core/export";
import { loadModel } from "@bertology/core/models";
import { familyModel, maxAbsDiff } from "../tests/helpers/goldens.ts";
import { runCli as cli } from "../tests/helpers/cli.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const GLUE = new URL("../data/glue", import.meta.url).pathname;
const MODELS = [
  familyModel("llama-tiny-random"),
  familyModel("qwen2-tiny-random"),
  familyModel("gpt-neo-tiny-random"),
  decodeURIComponent(new URL("../models/stories260k", import.meta.url).pathname),
];

for (const model of MODELS) {
  const name = model.split("/").pop()!;
  Deno.test(`${name}: heads, prune, export, logit-lens, attribute, patch and generate through the CLI`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "bertology-decoder-" });
    try {
      const { model: original, tokenizer } = await loadModel(localFiles(model));
      const { layers: L, heads: H } = original.config;
      const heads = await cli(
        ...["heads", "--model", model, "--task", "sst-2", "--data-dir", GLUE, "--data-subset", "8"],
        ...["--batch-size", "4", "--max-seq-length", "24", "--try-masking", "--output-dir", join(dir, "heads")],
        "--json",
      );
      strictEqual(heads.code, 0, heads.err);
      deepStrictEqual(readNpy(Deno.readFileSync(join(dir, "heads", "head_importance.npy")), "imp").shape, [L, H]);
      ok(JSON.parse(heads.out).masking.steps.length >= 1);

      // prune query heads 0 and 1 of layer 0: under GQA their kv head goes only if no other query head reads it
      const pruned = await cli("prune", "--model", model, "--heads", '{"0":[0,1]}', "--out", join(dir, "p"));
      strictEqual(pruned.code, 0, pruned.err);
      if (original.config.kvHeads < H && H / original.config.kvHeads > 2) {
        match(pruned.err, /key\/value head only when every query head it serves is pruned/);
      }
      const { model: reloaded } = await loadModel(localFiles(join(dir, "p")));
      const ids = tokenizer!.encode("Lily saw a big red ball").ids;
      const batch = { batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) };
      const mask = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => (l === 0 && h < 2 ? 0 : 1)));
      const d = maxAbsDiff(
        "logits",
        original.run({ batch, headMask: mask, names: ["logits"] }).logits!,
        reloaded.run({ batch, names: ["logits"] }).logits!,
      );
      ok(d <= 1e-5, `pruned logits differ from the masked model's by ${d}`);

      const exported = await cli("export", "--model", join(dir, "p"), "--out", join(dir, "m.onnx"));
      strictEqual(exported.code, 0, exported.err);
      const onnx = await OrtModel.create(ort, Deno.readFileSync(join(dir, "m.onnx")), reloaded.config, {
        executionProviders: ["wasm"],
      });
      try {
        ok(
          maxAbsDiff(
            "logits",
            reloaded.run({ batch, names: ["logits"] }).logits!,
            (await onnx.run({ batch })).logits!,
          ) <= 1e-4,
        );
      } finally {
        await onnx.release();
      }

      const lens = await cli("logit-lens", "--model", model, "--text", "Lily saw a big red ball", "--json");
      strictEqual(lens.code, 0, lens.err);
      strictEqual(JSON.parse(lens.out).layers.length, L + 1);
      const attr = await cli(
        ...["attribute", "--model", model, "--text", "Lily saw a big red ball", "--method", "ig", "--json"],
      );
      strictEqual(attr.code, 0, attr.err);
      strictEqual(JSON.parse(attr.out).scores.length, ids.length);
      const patch = await cli("patch", "--model", model, "--clean", "a b c d", "--corrupted", "a b e d", "--json");
      strictEqual(patch.code, 0, patch.err);
      strictEqual(JSON.parse(patch.out).effect.length, L);
      const gen = await cli("generate", "--model", model, "--ids", ids.join(","), "--max-new-tokens", "5", "--json");
      strictEqual(gen.code, 0, gen.err);
      const out = JSON.parse(gen.out) as { ids: number[] };
      deepStrictEqual(out.ids.slice(0, ids.length), ids);
      ok(out.ids.length > ids.length && out.ids.length <= ids.length + 5);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
