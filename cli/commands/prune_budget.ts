/**
 * `bertology prune --budget flops=F|latency=F`: Kwon et al. 2022's retraining-free pruning of heads and MLP
 * neurons to a budget (core `studies/budget_pruning.ts`), scored on the dev set before and after, the pruned
 * model timed against the original, and written as a checkpoint in one of three formats with
 * `prune_report.json`, `head_mask.npy` and `neuron_mask.npy` beside it.
 *
 * @module
 */

import { applyMasks, collectMaskGradients, PRUNED_FORMATS, type PrunedFormat } from "@bertology/core/bertology/kwon";
import { writeNpy } from "@bertology/core/checkpoint";
import { checkCheckpointDir, checkOutputFolder, resolveModel, saveCheckpoint } from "@bertology/core/checkpoint/deno";
import { glueTask } from "@bertology/core/data";
import { readGlueExamples } from "@bertology/core/data/read-files";
import { createWasmKernels } from "@bertology/core/kernels";
import { loadModel, TransformerModel } from "@bertology/core/models";
import {
  batchesFingerprint,
  buildStudyDataset,
  canonicalJson,
  defaultMetric,
  digestParts,
  FISHER_STUDY,
  fisherShardSums,
  makePartial,
  maskedPass,
  measureLatencyTable,
  median,
  mergeFisherShards,
  modelFingerprint,
  parseBudget,
  parsePartial,
  PARTIAL_FILE,
  pruneToBudget,
  scoreTask,
  shardUnits,
  taskSpec,
  trainingSample,
} from "@bertology/core/studies";
import { checkpointConfig, storedDtype } from "@bertology/core/training";
import { localSources, numberFlag, UsageError, useCommandMemory, withoutUndefined } from "../_common.ts";
import { commandShard, SHARD_FLAGS, shardAlreadyDone, shardFolder, writeShardPartial } from "../_shard.ts";
import { partialFiles } from "./merge.ts";

/** Help text of the budget mode (appended to `prune`'s). */
export const PRUNE_BUDGET_HELP =
  `bertology prune --model DIR --budget flops=F|latency=F --task sst-2 [--data-dir data/glue] --out DIR2
                [--sample 2048] [--seed 0] [--units heads+neurons|heads] [--format bertology|hf-v4|dense]
                [--no-rearrange] [--no-tune] [--tune-sample 512] [--batch-size 32] [--max-seq-length 128]
                [--speed-repeats 5] [--dtype f32|f16 (default: as the source's torch_dtype)] [--json] [--offline] [--force]
  Kwon et al. 2022, without retraining: Fisher importance of every head and MLP neuron from the squared
  mask gradients on a random sample of the training split, the mask search under the budget (a fraction of
  the unpruned encoder's FLOPs at the sample's mean length, or of its latency, measured here as a table of
  per-layer times by head and neuron count), the per-layer mask rearrangement, and least-squares tuning of
  the kept mask values (folded into the weights). Scores the dev split before and after, times both models
  (median of --speed-repeats passes) and writes DIR2 with prune_report.json, head_mask.npy [layers, heads]
  and neuron_mask.npy [layers, intermediate] (0 = pruned, else the tuned value).
  --format bertology: heads and neurons removed; config.json gets pruned_heads and intermediate_sizes (one
    MLP width per layer), which bertology reads and Hugging Face does not;
  --format hf-v4: heads removed with pruned_heads (transformers <= 4.x), pruned neurons zeroed in place;
  --format dense: original shapes, pruned heads' and neurons' weights zeroed: any transformers release.
  --shard I/N, --shards N|auto: run only the Fisher pass over shard I's batches of the training sample (every
    N-th batch, as one run makes them) and write their mask gradients to DIR2/shard-I-of-N/partial.json;
  --gradients DIR: read the N shards' gradients from DIR (its shard-I-of-N folders) instead of running the
    Fisher pass — the same flags as the shards, checked by fingerprint — and finish the pruning.`;

/** The flags of the budget mode (besides `prune`'s own). */
export const PRUNE_BUDGET_FLAGS = {
  budget: { type: "string" },
  task: { type: "string" },
  "data-dir": { type: "string" },
  sample: { type: "string" },
  seed: { type: "string" },
  units: { type: "string" },
  format: { type: "string" },
  "no-rearrange": { type: "boolean" },
  "no-tune": { type: "boolean" },
  "tune-sample": { type: "string" },
  "batch-size": { type: "string" },
  "max-seq-length": { type: "string" },
  "speed-repeats": { type: "string" },
  gradients: { type: "string" },
  ...SHARD_FLAGS,
} as const;

/** Parsed flags the budget mode reads. */
export interface PruneBudgetValues {
  model: string;
  out: string;
  budget: string;
  task?: string | undefined;
  "data-dir"?: string | undefined;
  sample?: string | undefined;
  seed?: string | undefined;
  units?: string | undefined;
  format?: string | undefined;
  "no-rearrange"?: boolean | undefined;
  "no-tune"?: boolean | undefined;
  "tune-sample"?: string | undefined;
  "batch-size"?: string | undefined;
  "max-seq-length"?: string | undefined;
  "speed-repeats"?: string | undefined;
  gradients?: string | undefined;
  shard?: string | undefined;
  shards?: string | undefined;
  dtype?: "F32" | "F16" | undefined;
  json?: boolean | undefined;
  offline?: boolean | undefined;
  force?: boolean | undefined;
}

/** Every file the budget mode writes into DIR2. */
export const PRUNE_BUDGET_OUTPUTS = [
  "config.json",
  "model.safetensors",
  "prune_report.json",
  "head_mask.npy",
  "neuron_mask.npy",
];

/** Runs the budget mode; returns the exit code. */
export async function pruneBudgetCommand(v: PruneBudgetValues): Promise<number> {
  let budget;
  try {
    budget = parseBudget(v.budget);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  if (!v.task) throw new UsageError("--budget needs --task (a GLUE task: its train split is sampled, dev scored)");
  const format = (v.format ?? "bertology") as PrunedFormat;
  if (!PRUNED_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${PRUNED_FORMATS.join(", ")}, got "${v.format}"`);
  }
  const units = v.units ?? "heads+neurons";
  if (units !== "heads" && units !== "heads+neurons") {
    throw new UsageError(`--units must be heads+neurons or heads, got "${v.units}"`);
  }
  const int = (flag: keyof PruneBudgetValues, fallback: number) => {
    const n = numberFlag(v[flag] as string | undefined, flag, fallback, true);
    if (n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${v[flag]}"`);
    return n;
  };
  const sampleSize = int("sample", 2048), batchSize = int("batch-size", 32);
  const maxSeqLength = int("max-seq-length", 128), repeats = int("speed-repeats", 5);
  const tuneSample = int("tune-sample", 512);
  const seed = numberFlag(v.seed, "seed", 0, true);
  const dataDir = v["data-dir"] ?? "data/glue";
  const output = { force: v.force, sources: localSources(v.model, dataDir), flag: "--out" };
  const shard = commandShard(v);
  if (shard && v.gradients !== undefined) {
    throw new UsageError("--gradients finishes the pruning from the shards' results; --shard runs one shard: not both");
  }
  if (shard) await checkOutputFolder(shardFolder(v.out, shard), [PARTIAL_FILE], output);
  else await checkCheckpointDir(v.out, PRUNE_BUDGET_OUTPUTS, output);
  const log = (s: string) => (v.json ? console.error(s) : console.log(s));
  const clock = () => performance.now() / 1000;
  const t0 = clock();

  const files = resolveModel(v.model, withoutUndefined({ offline: v.offline }));
  const { model, tokenizer } = await loadModel(files);
  useCommandMemory(model);
  if (!tokenizer) throw new Error(`${v.model}: no tokenizer files: the budget mode reads text`);
  const t = glueTask(v.task);
  const batching = { batchSize, maxSeqLength };
  const build = (name: string, examples: typeof train) =>
    buildStudyDataset(model, tokenizer, {
      name,
      task: t.name,
      outputMode: t.outputMode,
      labels: [...t.labels],
      examples,
    }, batching);
  const train = await readGlueExamples(dataDir, t, "train");
  const sample = build(`${t.name} train sample`, trainingSample(train, sampleSize, seed));
  // a shard's gradients depend on the model and the sample's batches only: the fingerprint covers exactly those
  const fisherInputs = {
    settings: {},
    model: await modelFingerprint(model),
    data: await batchesFingerprint(sample.batches),
  };
  if (shard) {
    const folder = shardFolder(v.out, shard);
    const { items, indices } = shardUnits(sample.batches, shard);
    const expected = await makePartial({
      study: FISHER_STUDY,
      inputs: fisherInputs,
      shard,
      units: { total: sample.batches.length, covered: indices },
      seconds: 0,
      context: {},
      sums: {},
    });
    if (await shardAlreadyDone(folder, expected)) {
      log(`${folder} already holds this shard's gradients: nothing to run`);
      return 0;
    }
    const tF = clock();
    const grads = items.length > 0
      ? collectMaskGradients(model, items)
      : { heads: [], neurons: [], examples: 0, tokens: 0 };
    const c = model.config;
    const partial = await makePartial({
      study: FISHER_STUDY,
      inputs: fisherInputs,
      shard,
      units: { total: sample.batches.length, covered: indices },
      seconds: clock() - tF,
      context: { layers: c.layers, heads: c.heads, intermediate_sizes: c.intermediateSizes },
      sums: fisherShardSums(grads),
    });
    await writeShardPartial(folder, partial, output);
    log(`shard ${shard.index}/${shard.count}: mask gradients of ${items.length} batches → ${folder}`);
    if (v.json) console.log(JSON.stringify({ shard, batches: indices, out: folder }));
    return 0;
  }
  let gradients;
  if (v.gradients !== undefined) {
    const files = await partialFiles(v.gradients);
    const shards = await Promise.all(
      files.map(async (file) => ({ file, partial: parsePartial(await Deno.readTextFile(file), file) })),
    );
    const mine = await digestParts([FISHER_STUDY, canonicalJson(fisherInputs)]);
    const foreign = shards.find((s) => s.partial.fingerprint !== mine);
    if (foreign) {
      throw new Error(
        `${foreign.file} holds the gradients of another run (another model, task, sample size, seed, batch size or ` +
          `sequence length): give --gradients the shards of this command's --shard runs`,
      );
    }
    gradients = mergeFisherShards(shards, model.config);
    log(`mask gradients of ${gradients.heads.length} batches read from ${files.length} shards`);
  }
  const dev = build(`${t.name} dev`, await readGlueExamples(dataDir, t, "dev"));
  const spec = taskSpec(model, dev);
  const metric = defaultMetric(spec);
  const score = scoreTask({ ...spec, metric });
  const loadSeconds = clock() - t0;

  let t1 = clock();
  const before = score(maskedPass(model, dev.batches));
  const devSecondsBefore = clock() - t1;
  log(`${dev.name}: ${metric} ${before.toFixed(4)} before pruning (${devSecondsBefore.toFixed(1)} s)`);

  let latencyTable;
  let latencySeconds = 0;
  if (budget.kind === "latency") {
    t1 = clock();
    const meanLen = Math.round(dev.batches.reduce((a, b) => a + meanTokens(b.batch), 0) / dev.batches.length);
    latencyTable = measureLatencyTable(model, { batchSize: 16, seqLen: Math.max(8, meanLen), repeats: 5 });
    latencySeconds = clock() - t1;
    log(`latency table measured (${latencySeconds.toFixed(1)} s)`);
  }
  const result = pruneToBudget(model, sample.batches, budget, {
    ...(gradients ? { gradients } : {}),
    units,
    rearrange: v["no-rearrange"] !== true,
    tune: v["no-tune"] !== true,
    tuneSample,
    latencyTable,
    onStage: (s) => log(`  ${s} …`),
  });
  log(`kept heads per layer ${result.headsPerLayer.join(" ")}; neurons ${result.neuronsPerLayer.join(" ")}`);

  const dtype = v.dtype ?? storedDtype(model); // F16 stays F16, as `prune --heads` keeps it
  const pruned = applyMasks(model.config, model.params.toTensors(), result.masks, format);
  if (pruned.note !== "") log(pruned.note);
  const prunedModel = new TransformerModel(pruned.config, pruned.weights, createWasmKernels());
  t1 = clock();
  const after = score(maskedPass(prunedModel, dev.batches));
  const devSecondsAfter = clock() - t1;
  log(`${dev.name}: ${metric} ${after.toFixed(4)} after pruning (${devSecondsAfter.toFixed(1)} s)`);

  // speed: whole passes over the same dev batches, original and pruned interleaved, median of each
  const speedBatches = dev.batches.slice(0, Math.min(dev.batches.length, 4));
  const timeOf = (m: TransformerModel) => {
    const s = clock();
    for (const b of speedBatches) m.run({ batch: b.batch });
    return clock() - s;
  };
  timeOf(model), timeOf(prunedModel);
  const tOrig: number[] = [], tPruned: number[] = [];
  for (let i = 0; i < repeats; i++) tOrig.push(timeOf(model)), tPruned.push(timeOf(prunedModel));
  const speed = {
    examples: speedBatches.reduce((a, b) => a + b.batch.batchSize, 0),
    repeats,
    original_seconds: median(tOrig),
    pruned_seconds: median(tPruned),
    speedup: median(tOrig) / median(tPruned),
  };
  log(
    `speed (median of ${repeats}): ${speed.original_seconds.toFixed(3)} s → ${speed.pruned_seconds.toFixed(3)} s ` +
      `(${speed.speedup.toFixed(2)}×)`,
  );

  const c = model.config;
  const headMask = { shape: [c.layers, c.heads], data: Float32Array.from(result.masks.heads.flat()) };
  const neuronMask = {
    shape: [c.layers, c.intermediate],
    data: Float32Array.from(
      result.masks.neurons.flatMap((r) => [...r, ...new Array(c.intermediate - r.length).fill(0)]),
    ),
  };
  const report = {
    model: v.model,
    budget: v.budget,
    units,
    format,
    method: "Kwon et al. 2022: Fisher mask search, rearrangement, least-squares mask tuning; no retraining",
    sample: { ...result.sample, seed, split: "train", tune_examples: tuneSample },
    kept_heads: result.binary.heads.map((r) => r.flatMap((x, h) => (x !== 0 ? [h] : []))),
    heads_per_layer: result.headsPerLayer,
    neurons_per_layer: result.neuronsPerLayer,
    flops: {
      seq_len: result.flops.seqLen,
      encoder_full: result.flops.full,
      encoder_pruned: result.flops.pruned,
      fraction: result.flops.fraction,
    },
    ...(result.latency ? { latency_predicted: { ...result.latency, table: latencyTable } } : {}),
    speed,
    dev: { metric, examples: dev.examples.length, before, after },
    parameters: { before: model.params.count(), after: prunedModel.params.count() },
    tuned: result.tuned,
    ...(result.tuneStopped !== undefined ? { tune_stopped: result.tuneStopped } : {}),
    seconds: {
      load: loadSeconds,
      dev_before: devSecondsBefore,
      latency_table: latencySeconds,
      ...result.seconds,
      dev_after: devSecondsAfter,
    },
  };
  await saveCheckpoint(v.out, {
    config: checkpointConfig(prunedModel, dtype),
    weights: prunedModel.params.toTensors(),
    dtype,
    tokenizerFrom: files,
    extraFiles: {
      "prune_report.json": JSON.stringify(report, null, 2) + "\n",
      "head_mask.npy": writeNpy(headMask),
      "neuron_mask.npy": writeNpy(neuronMask),
    },
    ...output,
  });
  const total = clock() - t0;
  const summary = { ...report, out: v.out, total_seconds: total };
  if (v.json) console.log(JSON.stringify(summary));
  else log(`wrote ${v.out} (${format}) in ${total.toFixed(1)} s`);
  return 0;
}

/** Mean real tokens per row of a batch. */
function meanTokens(b: { batchSize: number; inputIds: Int32Array; attentionMask?: Int32Array }): number {
  return (b.attentionMask ? b.attentionMask.reduce((a, x) => a + x, 0) : b.inputIds.length) / b.batchSize;
}
