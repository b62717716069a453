import { deepStrictEqual, ok } from "node:assert/strict";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { loadSafetensors } from "@bertology/core/checkpoint";
import { decodeModelProto } from "@bertology/core/export";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { checkDumpAgainstGoldens, runCli as cli } from "../../tests/helpers/cli.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

Deno.test("bertology export writes an ONNX file that onnxruntime loads, and keeps an existing file without --force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/gpt2.onnx`;
    const args = ["export", "--model", fixtureModel("gpt2-tiny-random"), "--out", file];
    const r = await cli(...args, "--outputs", "logits,attentions,blocks.1.attn.hook_z", "--grad", "head_mask");
    deepStrictEqual(r.code, 0, r.err);
    const session = await ort.InferenceSession.create(Deno.readFileSync(file), { executionProviders: ["wasm"] });
    deepStrictEqual(session.inputNames, ["input_ids", "attention_mask", "head_mask"]);
    deepStrictEqual(session.outputNames, [
      "logits",
      "attentions.0",
      "attentions.1",
      "attentions.2",
      "blocks.1.attn.hook_z",
      "loss",
      "head_mask_grad",
    ]);
    await session.release();
    const before = Deno.readFileSync(file);
    const again = await cli(...args);
    deepStrictEqual(again.code, 1);
    ok(again.err.includes("already exists (pass --force"), again.err);
    deepStrictEqual(Deno.readFileSync(file), before);
    deepStrictEqual((await cli(...args, "--force", "--dtype", "f16")).code, 0);
    ok(Deno.readFileSync(file).length < before.length);
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["gpt2.onnx"]); // no temp file left
    const bad = await cli(...args, "--force", "--outputs", "pooler.hook_out");
    deepStrictEqual(bad.code, 1);
    ok(bad.err.includes(`Unknown output "pooler.hook_out"`), bad.err);
    deepStrictEqual((await cli(...args, "--dtype", "f64")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const backend of ["ort-wasm", "ort-node"]) {
  Deno.test(`bertology dump --backend ${backend} writes the HF golden tensors, loss and head_mask_grad`, async () => {
    await checkDumpAgainstGoldens("--backend", backend);
  });
}

Deno.test("bertology dump --backend refuses an unknown backend (exit 2)", async () => {
  const r = await cli("dump", "--backend", "cuda", "--model", "x", "--inputs", "y", "--out", "z");
  deepStrictEqual(r.code, 2);
  ok(r.err.includes("--backend takes wasm, ort-wasm, ort-webgpu, ort-node"), r.err);
});

Deno.test("bertology export writes ONNX external data past the threshold, and onnxruntime-node loads it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = fixtureModel("gpt2-tiny-random");
    const inline = await cli(
      "export",
      "--model",
      model,
      "--out",
      `${dir}/inline.onnx`,
      "--outputs",
      "logits,attentions",
    );
    deepStrictEqual(inline.code, 0, inline.err);
    ok(!existsSync(`${dir}/inline.onnx.data`), "no data file under the threshold");
    const args = ["export", "--model", model, "--out", `${dir}/big.onnx`, "--outputs", "logits,attentions"];
    const r = await cli(...args, "--external-data-threshold", "0");
    deepStrictEqual(r.code, 0, r.err);
    ok(r.err.includes(`external data ${dir}/big.onnx.data`), r.err);
    const proto = decodeModelProto(Deno.readFileSync(`${dir}/big.onnx`)) as {
      graph: {
        initializer: Array<
          {
            name: string;
            raw_data?: Uint8Array;
            data_location?: number;
            external_data?: Array<{ key: string; value: string }>;
          }
        >;
      };
    };
    const data = Deno.readFileSync(`${dir}/big.onnx.data`);
    const weights = loadSafetensors(Deno.readFileSync(`${model}/model.safetensors`), "weights");
    const external = proto.graph.initializer.filter((i) => i.data_location === 1);
    ok(external.length >= 10, `${external.length} external initializers`);
    let matched = 0;
    for (const init of external) {
      const entry = Object.fromEntries(init.external_data!.map((e) => [e.key, e.value]));
      deepStrictEqual(entry.location, "big.onnx.data");
      const offset = Number(entry.offset), length = Number(entry.length);
      deepStrictEqual(offset % 4096, 0, `${init.name} offset ${offset} is page-aligned`);
      ok(init.raw_data === undefined || init.raw_data.length === 0, `${init.name} holds no inline bytes`);
      const w = weights.get(init.name) ?? weights.get(`transformer.${init.name}`);
      if (w) matched++;
      if (w) deepStrictEqual(new Float32Array(data.slice(offset, offset + length).buffer), w.data, init.name);
    }
    ok(matched >= 10, `${matched} external initializers checked against the checkpoint's bytes`);
    ok(Deno.statSync(`${dir}/big.onnx`).size < Deno.statSync(`${dir}/inline.onnx`).size / 4);
    // both files run on onnxruntime-node (the data file found beside the model) and give the same numbers
    const node = await import("npm:onnxruntime-node@1.30.0");
    const ids = new node.Tensor("int64", BigInt64Array.from([464n, 3290n, 318n, 257n]), [1, 4]);
    const feeds = {
      input_ids: ids,
      attention_mask: new node.Tensor("int64", new BigInt64Array(4).fill(1n), [1, 4]),
      head_mask: new node.Tensor("float32", new Float32Array(12).fill(1), [3, 4]),
    };
    const outs = [];
    for (const file of ["inline", "big"]) {
      const session = await node.InferenceSession.create(`${dir}/${file}.onnx`);
      outs.push(await session.run(feeds));
      await session.release();
    }
    for (const name of ["logits", "attentions.2"]) deepStrictEqual(outs[1]![name]!.data, outs[0]![name]!.data, name);
    const again = await cli(...args, "--external-data-threshold", "0");
    deepStrictEqual(again.code, 1);
    ok(again.err.includes("big.onnx already exists"), again.err);
    deepStrictEqual((await cli(...args, "--external-data-threshold", "-1")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
