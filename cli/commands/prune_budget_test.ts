import { deepStrictEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { readNpy } from "@bertology/core/checkpoint";
import { batchFromArrays, loadModel } from "@bertology/core/models";
import { saveModel } from "@bertology/core/training";
import { fixtureModel, maxAbsDiff } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";
import { tinySst2 } from "../../tests/helpers/glue.ts";

Deno.test("prune --budget: every format reloads with the masked model's outputs; report and masks written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-budget-" });
  try {
    const data = tinySst2(join(dir, "glue"));
    const src = fixtureModel("bert-tiny-random");
    const { model } = await loadModel(localFiles(src), { tokenizer: false });
    const batch = batchFromArrays({
      input_ids: [[2, 45, 17, 3, 9, 0], [2, 9, 3, 0, 0, 0]],
      attention_mask: [[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]],
    }, "budget test");
    for (const format of ["bertology", "hf-v4", "dense"]) {
      const out = join(dir, format);
      const flags = ["--budget", "flops=0.5", "--task", "sst-2", "--data-dir", data, "--sample", "24"];
      const r = await cli(
        "prune",
        "--model",
        src,
        ...flags,
        "--batch-size",
        "4",
        "--tune-sample",
        "8",
        "--speed-repeats",
        "1",
        "--format",
        format,
        "--out",
        out,
        "--json",
      );
      deepStrictEqual(r.code, 0, r.err);
      const summary = JSON.parse(r.out);
      ok(summary.flops.fraction <= 0.5 + 1e-9 && summary.flops.fraction > 0.3, `FLOPs ${summary.flops.fraction}`);
      deepStrictEqual(summary.sample.examples, 24);
      for (const k of ["fisher", "search", "rearrange", "tune"]) ok(summary.seconds[k] >= 0, k);
      ok(typeof summary.dev.before === "number" && typeof summary.dev.after === "number");
      ok(summary.speed.original_seconds > 0 && summary.speed.pruned_seconds > 0);
      const report = JSON.parse(Deno.readTextFileSync(join(out, "prune_report.json")));
      deepStrictEqual(report.neurons_per_layer, summary.neurons_per_layer);
      const hm = readNpy(Deno.readFileSync(join(out, "head_mask.npy")), "head_mask.npy");
      const nm = readNpy(Deno.readFileSync(join(out, "neuron_mask.npy")), "neuron_mask.npy");
      const { layers: L, heads: H, intermediate: I } = model.config;
      deepStrictEqual(hm.shape, [L, H]);
      deepStrictEqual(nm.shape, [L, I]);
      const headMask = Array.from({ length: L }, (_, l) => [...hm.data.subarray(l * H, (l + 1) * H)]);
      const neuronMask = Array.from({ length: L }, (_, l) => [...nm.data.subarray(l * I, (l + 1) * I)]);
      deepStrictEqual(neuronMask.map((row) => row.filter((x) => x !== 0).length), summary.neurons_per_layer);
      const masked = model.run({ batch, headMask, neuronMask });

      const { model: reloaded } = await loadModel(localFiles(out), { tokenizer: false });
      const raw = reloaded.config.raw;
      if (format === "bertology") {
        deepStrictEqual(reloaded.config.intermediateSizes, summary.neurons_per_layer);
        ok(reloaded.params.count() < model.params.count());
      } else {
        ok(raw.intermediate_sizes === undefined, `${format} has no intermediate_sizes`);
        deepStrictEqual(reloaded.config.intermediateSizes, new Array(L).fill(I));
      }
      if (format === "dense") {
        deepStrictEqual(raw.pruned_heads, {});
        for (const p of model.params.all()) deepStrictEqual(reloaded.params.get(p.name).shape, p.shape, p.name);
      } else deepStrictEqual(reloaded.headsPerLayer, summary.heads_per_layer);
      const diff = maxAbsDiff("logits", masked.logits!, reloaded.run({ batch }).logits!);
      ok(diff <= 1e-5, `${format}: reloaded − masked = ${diff}`);
    }
    const bad = await cli("prune", "--model", src, "--budget", "flops=1.5", "--task", "sst-2", "--out", join(dir, "x"));
    deepStrictEqual(bad.code, 2, bad.err);
    ok(/--budget "flops=1.5": expected flops=F or latency=F/.test(bad.err), bad.err);
    const fmt = await cli(
      "prune",
      "--model",
      src,
      "--budget",
      "flops=0.5",
      "--task",
      "sst-2",
      "--format",
      "onnx",
      "--out",
      join(dir, "y"),
    );
    ok(/--format must be one of bertology, hf-v4, dense/.test(fmt.err), fmt.err);
    const mixed = await cli("prune", "--model", src, "--heads", '{"0":[1]}', "--sample", "3", "--out", join(dir, "z"));
    ok(/--sample is for --budget/.test(mixed.err), mixed.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prune --budget latency=F measures a latency table and meets the predicted budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-budget-latency-" });
  try {
    const data = tinySst2(join(dir, "glue"));
    const src = fixtureModel("bert-tiny-random");
    const r = await cli(
      "prune",
      "--model",
      src,
      "--budget",
      "latency=0.7",
      "--task",
      "sst-2",
      "--data-dir",
      data,
      "--sample",
      "16",
      "--batch-size",
      "4",
      "--tune-sample",
      "8",
      "--speed-repeats",
      "1",
      "--out",
      join(dir, "out"),
      "--json",
    );
    deepStrictEqual(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    const lat = s.latency_predicted;
    ok(lat.fraction <= 0.7 + 1e-9, `predicted latency fraction ${lat.fraction}`);
    deepStrictEqual(lat.table.mha.length, 5);
    ok(lat.table.ffn.every((t: number, i: number, a: number[]) => i === 0 || t >= a[i - 1]!));
    ok(s.seconds.latency_table > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prune --budget over shards: the Fisher pass in 3 shards, then --gradients, equals one run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-budget-shards-" });
  try {
    const data = tinySst2(join(dir, "glue"));
    const src = fixtureModel("bert-tiny-random");
    const flags = ["--budget", "flops=0.5", "--task", "sst-2", "--data-dir", data, "--sample", "24"];
    const rest = ["--batch-size", "4", "--tune-sample", "8", "--speed-repeats", "1", "--json"];
    const one = await cli("prune", "--model", src, ...flags, ...rest, "--out", join(dir, "one"));
    deepStrictEqual(one.code, 0, one.err);
    for (let i = 0; i < 3; i++) {
      const r = await cli(
        "prune",
        "--model",
        src,
        ...flags,
        "--batch-size",
        "4",
        "--shard",
        `${i}/3`,
        "--out",
        join(dir, "fisher"),
      );
      deepStrictEqual(r.code, 0, r.err);
    }
    // a restarted shard finds its results and does nothing
    const again = await cli(
      "prune",
      "--model",
      src,
      ...flags,
      "--batch-size",
      "4",
      "--shard",
      "1/3",
      "--out",
      join(dir, "fisher"),
    );
    ok(/already holds this shard's gradients/.test(again.out + again.err));
    const merged = await cli(
      "prune",
      "--model",
      src,
      ...flags,
      ...rest,
      "--gradients",
      join(dir, "fisher"),
      "--out",
      join(dir, "merged"),
    );
    deepStrictEqual(merged.code, 0, merged.err);
    for (const file of ["head_mask.npy", "neuron_mask.npy"]) {
      const a = readNpy(Deno.readFileSync(join(dir, "one", file)), file);
      const b = readNpy(Deno.readFileSync(join(dir, "merged", file)), file);
      ok(maxAbsDiff(file, a, b) <= 1e-6, file);
    }
    // shards of another sample are refused with a sentence
    const other = await cli(
      "prune",
      "--model",
      src,
      ...flags.slice(0, -1),
      "16",
      ...rest,
      "--gradients",
      join(dir, "fisher"),
      "--out",
      join(dir, "other"),
    );
    deepStrictEqual(other.code, 1);
    ok(/holds the gradients of another run/.test(other.err), other.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The dtype of every tensor in a safetensors file, from its header. */
function safetensorsDtypes(path: string): Set<string> {
  const bytes = Deno.readFileSync(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return new Set(
    Object.entries(header).filter(([k]) => k !== "__metadata__").map(([, v]) => (v as { dtype: string }).dtype),
  );
}

Deno.test("prune --budget keeps an F16 source F16 unless --dtype asks otherwise", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-budget-f16-" });
  try {
    const data = tinySst2(join(dir, "glue"));
    const { model } = await loadModel(localFiles(fixtureModel("bert-tiny-random")), { tokenizer: false });
    const src = join(dir, "f16");
    await saveModel(model, src, { dtype: "F16", tokenizerDir: fixtureModel("bert-tiny-random") });
    deepStrictEqual(safetensorsDtypes(join(src, "model.safetensors")), new Set(["F16"]));
    const flags = ["--budget", "flops=0.5", "--task", "sst-2", "--data-dir", data, "--sample", "8"];
    const quick = ["--batch-size", "4", "--tune-sample", "4", "--speed-repeats", "1", "--json"];
    const kept = await cli("prune", "--model", src, ...flags, ...quick, "--out", join(dir, "kept"));
    deepStrictEqual(kept.code, 0, kept.err);
    deepStrictEqual(safetensorsDtypes(join(dir, "kept", "model.safetensors")), new Set(["F16"]));
    const asked = await cli("prune", "--model", src, ...flags, ...quick, "--dtype", "f32", "--out", join(dir, "f32"));
    deepStrictEqual(asked.code, 0, asked.err);
    deepStrictEqual(safetensorsDtypes(join(dir, "f32", "model.safetensors")), new Set(["F32"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
