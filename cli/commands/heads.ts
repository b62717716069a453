/**
 * `bertology heads`: everything HF's `run_bertology.py` did — head importance and attention entropy over a
 * dataset, optional iterative masking, and the masked-vs-pruned comparison — for BERT, GPT and GPT-2.
 *
 * @module
 */

import type { MaskingStep } from "@bertology/core/bertology";
import {
  bootstrapInterval,
  importanceRankStability,
  type Interval,
  randomMaskingBaseline,
} from "@bertology/core/studies";
import { writeNpy } from "@bertology/core/checkpoint";
import { checkOutputFolder, openOutputFolder } from "@bertology/core/checkpoint/deno";
import { describeDataset, perExampleByDefault, taskSpec } from "@bertology/core/studies";
import { studyHeadImportance, studyHeadImportanceWith } from "@bertology/core/studies";
import { studyMasking, studyMaskingWith } from "@bertology/core/studies";
import { importanceExportOptions, ortImportanceEngine } from "@bertology/core/export";
import { comparePrunedToMasked } from "@bertology/core/studies";
import { defaultMetric, scoreTask } from "@bertology/core/studies";
import {
  DTYPE_OPTION,
  dtypeFlag,
  formatTable,
  localSources,
  openModel,
  parseFlags,
  Progress,
  UsageError,
  writeFileAtomic,
} from "../_common.ts";
import { DATA_FLAGS, type Dataset, loadDataset } from "../_dataset.ts";
import { openOrtModel } from "@bertology/core/export/runtime";
import { parseBackend } from "../_ort.ts";
import type { TransformerModel } from "@bertology/core/models";
import { fromRunBertologyFlags } from "./_run_bertology_flags.ts";
import {
  batchesFingerprint,
  canonicalJson,
  digestParts,
  importancePartialFromJson,
  type ImportancePartialJson,
  importancePartialToJson,
  makePartial,
  type MaskingRound,
  modelFingerprint,
  PARTIAL_FILE,
  replayMaskingRounds,
  type Shard,
  type ShardFile,
  shardUnits,
  sumImportancePartials,
  withRows,
} from "@bertology/core/studies";
import {
  computeHeadImportancePartial,
  computeHeadImportancePartialWith,
  type ImportanceEngine,
  importanceFromPartials,
  type ImportanceResult,
} from "@bertology/core/bertology";
import { join } from "node:path";
import {
  commandShard,
  SHARD_FLAGS,
  SHARD_HELP,
  shardAlreadyDone,
  shardFolder,
  studySettings,
  writeShardPartial,
} from "../_shard.ts";

/** Help text. */
export const HEADS_HELP =
  `bertology heads --model DIR (--task sst-2 --data-dir DIR [--split dev] | --data-file F --text-column C
                [--text-pair-column C] [--label-column C] [--format csv|tsv|jsonl])
                [--data-subset N] [--batch-size 8] [--max-seq-length 128] [--batching bucketed|hf]
                [--try-masking [--masking-threshold 0.9] [--masking-amount 0.1] [--metric-name acc]
                 [--at-least-heads-per-layer K] [--no-rerank] [--no-prune] [--bootstrap 1000] [--random-masks 3]]
                [--stability-splits N (default 5 with --try-masking, else 0)]
                [--dont-normalize-importance-by-layer] [--dont-normalize-global-importance] [--hf-accumulate]
                [--backend wasm|ort-wasm|ort-webgpu|ort-node] [--dtype f32|f16]
                [--shard I/N | --shards N|auto [--round K [--previous DIR]]]
                --output-dir OUT [--json] [--offline] [--force]
  Writes OUT/head_importance.npy, OUT/attn_entropy.npy, OUT/head_mask.npy (with --try-masking) as float32
  NumPy files like HF's script, and OUT/report.json (scores per step, heads masked per step, timings).
  Batches are length-bucketed and importance sums |∂loss/∂mask| per example (Michel et al.), so batch size and
  bucketing do not change it; --batching hf batches as run_bertology.py does (file order, rows padded to
  --max-seq-length, |gradient| per batch), which its numbers need.
  Language models (GPT, GPT-2) use the next-token loss; their score is 1/perplexity (metric "inv_ppl").
  Regressors (STS-B, custom numeric labels) are scored by pearson, spearmanr or corr (their mean, the default).
  Statistics (report.json): with --try-masking each step's score has a 95 % percentile bootstrap interval over the
  examples (--bootstrap resamples; 0: none; language models have none) and the scores of --random-masks masks
  that keep as many heads drawn at random (Budhraja et al. 2020's baseline); "importance_rank_stability" is the
  Spearman ρ between the importances of two random halves of the batches, over --stability-splits splits. Both
  run on our engine whatever --backend is.
  --backend: our WASM engine (default), or the model exported to ONNX in memory with the head-mask gradient and
  run on onnxruntime-web (wasm, webgpu) or onnxruntime-node (cpu) for importance, entropy and masking (the
  pruned-vs-masked comparison times our engine); a backend that cannot run here exits 1 saying why.
  Folders:
    --model DIR       a model folder in Hugging Face layout (config.json, model.safetensors or pytorch_model.bin,
                      tokenizer files), or a hub id org/name[@revision]
    --data-dir DIR    the GLUE folder holding the task's folder (glue_data, with SST-2/dev.tsv inside), or the
                      task's folder itself (glue_data/SST-2, as HF's --data_dir); --split picks train, dev or test
    --output-dir OUT  where the files above go; created if missing. OUT may not be the model or hold it; a
                      non-empty OUT that bertology did not write is refused unless --force, which writes beside
                      the files there and never replaces one of them
  run_bertology.py's spellings work too: --model_name_or_path, --task_name, --data_dir, --output_dir,
  --max_seq_length, --batch_size, --data_subset, --try_masking, --masking_threshold, --masking_amount,
  --metric_name, --dont_normalize_importance_by_layer, --dont_normalize_global_importance,
  --overwrite_output_dir (= --force); --cache_dir, --seed, --no_cuda, --overwrite_cache, --local_rank,
  --server_ip and --server_port are accepted and ignored (nothing here depends on them).
  Sharded (the batches split round-robin over N processes or machines; \`bertology merge OUT --output-dir M\`
  writes the files above, equal to one run's within 1e-6):
${SHARD_HELP}
  --round K           with --try-masking (which needs --no-prune when sharded): masking runs in rounds, one
                      importance pass each, every round sharded and merged before the next. Round K's shards
                      write OUT/round-K/shard-I-of-N/ and start from the merged round K − 1, read from
                      --previous DIR (default OUT/round-{K-1}/merged, where \`bertology merge OUT/round-{K-1}
                      --output-dir OUT/round-{K-1}/merged\` writes it); a shard of a round past the end of the
                      study exits 0 at once. The merged last round holds head_mask.npy and report.json`;

/** Every entry `heads` may write in its output folder. */
const HEADS_OUTPUTS = ["head_importance.npy", "attn_entropy.npy", "head_mask.npy", "report.json"];

/** Runs the command; returns the exit code. */
export async function headsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(fromRunBertologyFlags(args, console.error), {
    model: { type: "string" },
    ...DATA_FLAGS,
    "try-masking": { type: "boolean" },
    "masking-threshold": { type: "string" },
    "masking-amount": { type: "string" },
    "metric-name": { type: "string" },
    "at-least-heads-per-layer": { type: "string" },
    "no-rerank": { type: "boolean" },
    "no-prune": { type: "boolean" },
    bootstrap: { type: "string" },
    "random-masks": { type: "string" },
    "stability-splits": { type: "string" },
    "dont-normalize-importance-by-layer": { type: "boolean" },
    "dont-normalize-global-importance": { type: "boolean" },
    "hf-accumulate": { type: "boolean" },
    "output-dir": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
    force: { type: "boolean" },
    backend: { type: "string" },
    ...SHARD_FLAGS,
    round: { type: "string" },
    previous: { type: "string" },
  });
  const backend = parseBackend(values.backend);
  if (!values.model) throw new UsageError("--model is required");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const output = {
    force: values.force,
    sources: localSources(values.model, values["data-file"], values["data-dir"]),
    flag: "--output-dir",
  };
  const shard = commandShard(values);
  const round = shardRound(values, shard);
  if (shard && values["hf-accumulate"]) {
    throw new UsageError(
      "--hf-accumulate adds a gradient that is never zeroed from batch to batch, so its batches cannot be split " +
        "over shards: run it without --shard",
    );
  }
  if (shard && values["try-masking"] && !values["no-prune"]) {
    throw new UsageError(
      "a sharded --try-masking needs --no-prune: the pruned-vs-masked comparison times the model on one machine " +
        "(prune the merged head_mask.npy with `bertology prune --head-mask`)",
    );
  }
  if (shard) await checkOutputFolder(shardFolder(outDir, shard, round), [PARTIAL_FILE], output);
  else await checkOutputFolder(outDir, HEADS_OUTPUTS, output);
  const num = (flag: string, v: string | undefined, fallback: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${v}"`);
    return n;
  };
  const threshold = num("masking-threshold", values["masking-threshold"], 0.9);
  const amount = num("masking-amount", values["masking-amount"], 0.1);
  const atLeast = num("at-least-heads-per-layer", values["at-least-heads-per-layer"], 0);
  const count = (flag: "bootstrap" | "random-masks" | "stability-splits", fallback: number) => {
    const n = num(flag, values[flag], fallback);
    if (!Number.isInteger(n) || n < 0) {
      throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${values[flag]}"`);
    }
    return n;
  };
  const resamples = count("bootstrap", 1000), randomMasks = count("random-masks", 3);
  const splits = count("stability-splits", values["try-masking"] ? 5 : 0);
  const log = (s: string) => values.json ? console.error(s) : console.log(s);

  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  const data = await loadDataset(values, model, tokenizer!);
  const { layers: L, heads: H } = model.config;
  const spec = taskSpec(model, data);
  const metricName = values["metric-name"] ?? defaultMetric(spec);
  try {
    scoreTask({ ...spec, metric: metricName });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^Metric /, "--metric-name "));
  }
  log(describeDataset(data));

  const norm = {
    normalizeByLayer: !values["dont-normalize-importance-by-layer"],
    normalizeGlobal: !values["dont-normalize-global-importance"],
  };
  // an ONNX backend runs every importance and masking pass through one exported graph, released on return
  const onnx = backend === "wasm" ? undefined : await openOrtModel(model, backend, importanceExportOptions(true));
  await using _session = { [Symbol.asyncDispose]: async () => await onnx?.release() };
  const engine = onnx === undefined ? undefined : ortImportanceEngine(onnx);
  if (onnx) log(`backend: ${onnx.backend} (exported ONNX graph with the head-mask gradient)`);
  if (shard) {
    const settings = {
      threshold,
      amount,
      atLeast,
      rerank: !values["no-rerank"],
      norm,
      metricName,
      report: {
        model: values.model,
        family: model.config.family,
        backend: onnx?.backend ?? "wasm",
        data: data.name,
        examples: data.examples.length,
        batch_size: data.batches[0]!.batch.batchSize,
      },
    };
    const ran = { engine, round, outDir, previous: values.previous, flags: studySettings(values), output };
    return await runHeadsShard(model, data, shard, values["try-masking"] === true, settings, ran, log);
  }
  const bar = new Progress("importance", data.batches.length);
  const tImp = performance.now();
  const importanceOptions = {
    ...norm,
    metric: metricName,
    hfAccumulate: values["hf-accumulate"] === true,
    onBatch: () => bar.tick(),
  };
  const imp = engine === undefined
    ? studyHeadImportance(model, data, importanceOptions)
    : await studyHeadImportanceWith(model, data, engine, importanceOptions);
  bar.end();
  const importanceSeconds = (performance.now() - tImp) / 1000;
  log(formatTable("Attention entropy (mean nats per token)", imp.entropy.data, L, H));
  log(formatTable("Head importance (normalised)", imp.importance.data, L, H));
  const ranking = [...imp.importance.data.keys()].sort((a, b) => imp.importance.data[b]! - imp.importance.data[a]!);
  log(
    `Head ranking (most important first, layer.head): ${ranking.map((i) => `${Math.floor(i / H)}.${i % H}`).join(" ")}`,
  );
  await openOutputFolder(outDir, HEADS_OUTPUTS, output);
  await writeFileAtomic(`${outDir}/head_importance.npy`, writeNpy(imp.importance));
  await writeFileAtomic(`${outDir}/attn_entropy.npy`, writeNpy(imp.entropy));

  const report = importanceReport(
    {
      model: values.model,
      family: model.config.family,
      backend: onnx?.backend ?? "wasm",
      data: data.name,
      examples: data.examples.length,
      batch_size: data.batches[0]!.batch.batchSize,
    },
    metricName,
    imp,
    imp.score,
    importanceSeconds,
    L,
    H,
  );
  if (splits > 0 && data.batches.length >= 2) {
    const tStab = performance.now();
    const stability = importanceRankStability(model, data.batches, {
      splits,
      ...norm,
      perExample: perExampleByDefault(data, values["hf-accumulate"] === true),
    });
    log(
      `Importance rank stability: Spearman ρ between random halves ${stability.mean.toFixed(3)} ` +
        `(${stability.min.toFixed(3)}–${stability.max.toFixed(3)} over ${splits} splits)`,
    );
    report.importance_rank_stability = { splits, ...stability };
    report.timings = { ...(report.timings as object), rank_stability_seconds: (performance.now() - tStab) / 1000 };
  }

  if (values["try-masking"]) {
    if (!(threshold > 0 && threshold < 1)) {
      throw new UsageError(`--masking-threshold must be in (0, 1), got ${threshold}`);
    }
    const steps: MaskingStep[] = [];
    const score = scoreTask({ ...spec, metric: metricName });
    const intervals: Array<Interval | null> = [];
    const maskingOptions = {
      ...norm,
      threshold,
      amount,
      atLeastHeadsPerLayer: atLeast,
      rerank: !values["no-rerank"],
      metric: metricName,
      onStep: (s: MaskingStep, pass: ImportanceResult) => {
        steps.push(s);
        intervals.push(resamples > 0 ? bootstrapInterval(pass, score, { resamples, seed: s.step }) : null);
        log(
          `masking step ${s.step}: ${metricName} ${fmtScore(s.score, metricName)}, ${s.headsKept}/${
            L * H
          } heads kept ` +
            `(${(100 * s.fractionKept).toFixed(1)} %) ${
              s.newlyMasked.length ? `masked ${s.newlyMasked.map(([l, h]) => `${l}.${h}`).join(" ")}` : ""
            }`,
        );
      },
    };
    const masking = engine === undefined
      ? studyMasking(model, data, maskingOptions)
      : await studyMaskingWith(model, data, engine, maskingOptions);
    const mask = { shape: [L, H], data: Float32Array.from(masking.headMask.flat()) };
    await writeFileAtomic(`${outDir}/head_mask.npy`, writeNpy(mask));
    log(formatTable("Final head mask", mask.data, L, H, 0));
    const kept = mask.data.reduce((a, b) => a + b, 0);
    log(
      `Masked ${L * H - kept} of ${L * H} heads (${(100 * (1 - kept / (L * H))).toFixed(1)} %) keeping ` +
        `${metricName} ${fmtScore(masking.finalScore, metricName)} ≥ ${threshold} × ${
          fmtScore(masking.originalScore, metricName)
        }`,
    );
    const tRandom = performance.now();
    const random = randomMasks > 0
      ? steps.map((s) => randomMaskingBaseline(model, data.batches, score, s.headsKept, { count: randomMasks }))
      : [];
    steps.forEach((s, i) => {
      const ci = intervals[i], r = random[i];
      if (!ci && !r) return;
      log(
        `step ${s.step} (${s.headsKept} heads): ${metricName} ${fmtScore(s.score, metricName)}${
          ci ? ` [${ci.low.toFixed(4)}, ${ci.high.toFixed(4)}]` : ""
        }${r ? `; ${randomMasks} random masks ${r.mean.toFixed(4)} (${r.min.toFixed(4)}–${r.max.toFixed(4)})` : ""}`,
      );
    });
    const maskingJson = maskingReport(masking, { threshold, amount, atLeast, rerank: !values["no-rerank"] }, L, H);
    maskingJson.steps = (maskingJson.steps as Record<string, unknown>[]).map((s, i) => ({
      ...s,
      ...(intervals[i] ? { score_ci: [intervals[i]!.low, intervals[i]!.high] } : {}),
      ...(random[i]
        ? {
          random_masks: { scores: random[i]!.scores, mean: random[i]!.mean, min: random[i]!.min, max: random[i]!.max },
        }
        : {}),
    }));
    // the statistics a reviewer asks for, when asked for (a sharded masking study computes none of them)
    if (resamples > 0 || randomMasks > 0) {
      maskingJson.statistics = {
        bootstrap: { resamples, level: 0.95, method: "percentile, examples resampled with replacement" },
        random_masks: randomMasks,
        random_masks_seconds: (performance.now() - tRandom) / 1000,
      };
    }
    report.masking = maskingJson;
    if (!values["no-prune"]) report.pruning = comparePruning(model, data, masking.headMask, metricName, log);
  }
  report.timings = { ...(report.timings as object), total_seconds: (performance.now() - t0) / 1000 };
  await writeFileAtomic(`${outDir}/report.json`, JSON.stringify(report, null, 2) + "\n");
  if (values.json) console.log(JSON.stringify(report));
  else {log(
      `wrote ${outDir}/head_importance.npy, attn_entropy.npy${
        values["try-masking"] ? ", head_mask.npy" : ""
      }, report.json`,
    );}
  return 0;
}

/** HF's `prune_heads`: score and time the masked model, then the really pruned one (core's comparison). */
function comparePruning(
  model: TransformerModel,
  data: Dataset,
  headMask: number[][],
  metric: string,
  log: (s: string) => void,
): Record<string, unknown> {
  const cmp = comparePrunedToMasked(model, data, headMask, { metric });
  const before = cmp.parametersBefore, after = cmp.parametersAfter;
  log(`Pruning: parameters ${before} → ${after} (${(100 * after / before).toFixed(1)} %)`);
  log(`Pruning: score masked ${fmtScore(cmp.masked.score, "")}, pruned ${fmtScore(cmp.pruned.score, "")}`);
  log(
    `Pruning: forward time masked ${cmp.masked.seconds.toFixed(3)} s, pruned ${cmp.pruned.seconds.toFixed(3)} s ` +
      `(speed ratio ${(100 * cmp.pruned.seconds / cmp.masked.seconds).toFixed(1)} %)`,
  );
  return {
    heads_pruned: cmp.headsPruned,
    parameters_before: before,
    parameters_after: after,
    score_masked: cmp.masked.score,
    score_pruned: cmp.pruned.score,
    seconds_masked: cmp.masked.seconds,
    seconds_pruned: cmp.pruned.seconds,
  };
}

function rows(data: ArrayLike<number>, L: number, H: number): number[][] {
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data[l * H + h]!));
}

/** A score for people: 4 decimals, or 4 significant digits when tiny; 1/perplexity also as a perplexity. */
function fmtScore(v: number, metric: string): string {
  const text = v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(4) : v.toFixed(4);
  return metric === "inv_ppl" && v > 0 ? `${text} (perplexity ${(1 / v).toFixed(1)})` : text;
}

/** The report's header: what ran on what. */
interface ReportHeader {
  model: string;
  family: string;
  backend: string;
  data: string;
  examples: number;
  batch_size: number;
}

/** report.json's importance part, for a single run and a merged one alike. */
function importanceReport(
  header: ReportHeader,
  metric: string,
  imp: ImportanceResult,
  score: number,
  importanceSeconds: number,
  L: number,
  H: number,
): Record<string, unknown> {
  return {
    ...header,
    metric,
    score,
    loss: imp.loss,
    total_tokens: imp.totalTokens,
    head_importance: rows(imp.importance.data, L, H),
    head_importance_raw: rows(imp.importanceRaw.data, L, H),
    attn_entropy: rows(imp.entropy.data, L, H),
    timings: { importance_seconds: importanceSeconds },
  };
}

/** report.json's masking part. */
function maskingReport(
  masking: { headMask: number[][]; originalScore: number; finalScore: number; steps: MaskingStep[] },
  opts: { threshold: number; amount: number; atLeast: number; rerank: boolean },
  L: number,
  H: number,
): Record<string, unknown> {
  const kept = masking.headMask.flat().reduce((a, b) => a + b, 0);
  return {
    threshold: opts.threshold,
    amount: opts.amount,
    at_least_heads_per_layer: opts.atLeast,
    rerank: opts.rerank,
    original_score: masking.originalScore,
    final_score: masking.finalScore,
    fraction_masked: 1 - kept / (L * H),
    head_mask: masking.headMask,
    steps: masking.steps.map((s) => ({
      step: s.step,
      score: s.score,
      heads_kept: s.headsKept,
      fraction_kept: s.fractionKept,
      masked: s.newlyMasked,
      seconds: s.seconds,
    })),
  };
}

// ------------------------------------------------------------------------------------------ sharded studies

/** `--round K`: only with --try-masking; 0 by default when a masking study is sharded. */
function shardRound(
  values: { round?: string | undefined; previous?: string | undefined; "try-masking"?: boolean | undefined },
  shard: Shard | undefined,
): number | undefined {
  if (values.round !== undefined && !values["try-masking"]) {
    throw new UsageError("--round is a round of a sharded --try-masking study: add --try-masking");
  }
  if ((values.round !== undefined || values.previous !== undefined) && shard === undefined) {
    throw new UsageError("--round and --previous run one round of a sharded masking study: add --shard I/N");
  }
  if (!values["try-masking"] || shard === undefined) return undefined;
  const k = values.round === undefined ? 0 : Number(values.round);
  if (!Number.isInteger(k) || k < 0) throw new UsageError(`--round must be an integer ≥ 0, got "${values.round}"`);
  return k;
}

/** What a `heads` shard records for merge: sizes, options and the report's header (the partial's `context`). */
interface HeadsContext {
  layers: number;
  heads: number;
  pruned_heads: number[][];
  task: TransformerModel["task"];
  glue_task: string | undefined;
  metric: string;
  normalize_by_layer: boolean;
  normalize_global: boolean;
  per_example: boolean;
  masking?: { threshold: number; amount: number; at_least_heads_per_layer: number; rerank: boolean } | undefined;
  /** A masking study's fingerprint without the round (settings, model, data), for masking_rounds.json. */
  masking_base?: string | undefined;
  report: ReportHeader;
}

/** The file a merged masking round writes beside its other files, and the next round's shards read. */
const MASKING_ROUNDS_FILE = "masking_rounds.json";
const MASKING_ROUNDS_FORMAT = "bertology-masking-rounds";

/** `masking_rounds.json`: every merged round so far, and whether the study is over. */
interface MaskingRoundsFile {
  format: typeof MASKING_ROUNDS_FORMAT;
  version: 1;
  /** The fingerprint of the rounds' common inputs (settings, model, data): a later round must share it. */
  base: string;
  rounds: { sums: ImportancePartialJson; seconds: number }[];
  done: boolean;
}

/** The masking options of a context (the score by its metric). */
function maskingOptions(c: HeadsContext) {
  const m = c.masking!;
  return {
    threshold: m.threshold,
    amount: m.amount,
    atLeastHeadsPerLayer: m.at_least_heads_per_layer,
    rerank: m.rerank,
    normalizeByLayer: c.normalize_by_layer,
    normalizeGlobal: c.normalize_global,
    perExample: c.per_example,
    score: scoreTask({ kind: c.task, glueTask: c.glue_task, metric: c.metric }),
  };
}

const contextConfig = (c: HeadsContext) => ({
  layers: c.layers,
  heads: c.heads,
  prunedHeads: c.pruned_heads,
  task: c.task,
});

/** Reads the merged previous round of a masking study, checking it belongs to this study. */
async function readPreviousRounds(path: string, base: string, round: number): Promise<MaskingRoundsFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(
      `Round ${round} starts from the merged round ${round - 1}, but ${path} cannot be read (${
        (e as Error).message
      }): ` +
        `merge round ${round - 1} first, or name its merged folder with --previous DIR`,
    );
  }
  const f = JSON.parse(text) as MaskingRoundsFile;
  if (f.format !== MASKING_ROUNDS_FORMAT || f.version !== 1 || !Array.isArray(f.rounds)) {
    throw new Error(`${path} is not a masking-rounds file (format ${MASKING_ROUNDS_FORMAT}, version 1)`);
  }
  if (f.base !== base) {
    throw new Error(
      `${path} comes from another masking study (another command line, model or data): round ${round} must run ` +
        `with the command line, model and data of the rounds before it`,
    );
  }
  if (f.rounds.length !== round) {
    throw new Error(`${path} holds ${f.rounds.length} merged rounds; round ${round} needs exactly ${round}`);
  }
  return f;
}

/** Runs one shard of `heads` (or of one masking round) and writes its partial results. */
async function runHeadsShard(
  model: TransformerModel,
  data: Dataset,
  shard: Shard,
  masking: boolean,
  s: {
    threshold: number;
    amount: number;
    atLeast: number;
    rerank: boolean;
    norm: { normalizeByLayer: boolean; normalizeGlobal: boolean };
    metricName: string;
    report: ReportHeader;
  },
  ran: {
    engine: ImportanceEngine | undefined;
    round: number | undefined;
    outDir: string;
    previous: string | undefined;
    flags: Record<string, unknown>;
    output: { force: boolean | undefined; sources: string[] };
  },
  log: (s: string) => void,
): Promise<number> {
  const { layers: L, heads: H } = model.config;
  const spec = taskSpec(model, data);
  const batches = withRows(data.batches);
  const context: HeadsContext = {
    layers: L,
    heads: H,
    pruned_heads: model.config.prunedHeads,
    task: model.task,
    glue_task: spec.glueTask,
    metric: s.metricName,
    normalize_by_layer: s.norm.normalizeByLayer,
    normalize_global: s.norm.normalizeGlobal,
    per_example: perExampleByDefault(data, false),
    masking: masking
      ? { threshold: s.threshold, amount: s.amount, at_least_heads_per_layer: s.atLeast, rerank: s.rerank }
      : undefined,
    report: s.report,
  };
  const base = { settings: ran.flags, model: await modelFingerprint(model), data: await batchesFingerprint(batches) };
  const round = ran.round;
  let headMask: number[][] | undefined;
  let previous: MaskingRoundsFile | undefined;
  if (masking) {
    const k = round!;
    const baseId = await digestParts(["heads-masking", canonicalJson(base)]);
    context.masking_base = baseId;
    if (k > 0) {
      const path = ran.previous ?? join(ran.outDir, `round-${k - 1}`, "merged");
      previous = await readPreviousRounds(join(path, MASKING_ROUNDS_FILE), baseId, k);
    } else previous = { format: MASKING_ROUNDS_FORMAT, version: 1, base: baseId, rounds: [], done: false };
    const rounds = previous.rounds.map((r, i) => ({
      sums: importancePartialFromJson(r.sums, `${MASKING_ROUNDS_FILE} rounds[${i}].sums`, L * H),
      seconds: r.seconds,
    }));
    const replay = replayMaskingRounds(model.config, maskingOptions(context), rounds);
    if (replay.done) {
      log(`The masking study ended after round ${k - 1} (its merged folder holds head_mask.npy): nothing to run`);
      return 0;
    }
    headMask = replay.request.headMask as number[][];
  }
  const inputs = { ...base, previous: previous ? await digestParts([canonicalJson(previous)]) : undefined };
  const header = { study: masking ? "heads-masking" : "heads", inputs, shard, round };
  const probe = await makePartial({ ...header, units: { total: 0, covered: [] }, seconds: 0, context: {}, sums: {} });
  const folder = shardFolder(ran.outDir, shard, round);
  if (await shardAlreadyDone(folder, { ...probe, round })) {
    log(`${join(folder, PARTIAL_FILE)} is already there from this run: shard ${shard.index} of ${shard.count} is done`);
    return 0;
  }
  const { items, indices } = shardUnits(batches, shard);
  log(
    `shard ${shard.index} of ${shard.count}${
      round !== undefined ? `, round ${round}` : ""
    }: ${items.length} of ${batches.length} batches`,
  );
  const bar = new Progress("importance", items.length);
  const opts = {
    ...s.norm,
    perExample: context.per_example,
    headMask,
    computeEntropy: !masking || round === 0,
    onBatch: () => bar.tick(),
  };
  const t0 = performance.now();
  const part = ran.engine === undefined
    ? computeHeadImportancePartial(model, items, opts)
    : await computeHeadImportancePartialWith(ran.engine, model.config, items, opts);
  bar.end();
  const seconds = (performance.now() - t0) / 1000;
  const sums: Record<string, unknown> = { pass: importancePartialToJson(part) };
  if (previous) sums.previous_rounds = previous.rounds;
  const partial = await makePartial({
    ...header,
    units: { total: batches.length, covered: indices },
    seconds,
    context: context as unknown as Record<string, unknown>,
    sums,
  });
  await writeShardPartial(folder, partial, ran.output);
  log(`wrote ${join(folder, PARTIAL_FILE)} (${seconds.toFixed(1)} s)`);
  return 0;
}

/** Every file `bertology merge` may write for a `heads` study. */
export const HEADS_MERGE_OUTPUTS = [...HEADS_OUTPUTS, MASKING_ROUNDS_FILE];

/**
 * Merges the shards of a `heads` study (or of one masking round) into the files one run writes:
 * head_importance.npy, attn_entropy.npy and report.json; for a masking round masking_rounds.json, and when the
 * study is over head_mask.npy and the report's masking part.
 *
 * @param shards The shards, checked and in order (`checkShardSet`).
 * @param log Prints a line.
 * @returns The files to write.
 */
export function mergeHeadsShards(
  shards: readonly ShardFile[],
  log: (s: string) => void,
): Record<string, Uint8Array | string> {
  const first = shards[0]!.partial;
  const c = first.context as unknown as HeadsContext;
  const L = c.layers, H = c.heads;
  const parts = shards.map((s) => importancePartialFromJson(s.partial.sums.pass, `${s.file} sums.pass`, L * H));
  const seconds = shards.reduce((a, s) => a + s.partial.seconds, 0);
  const norm = { normalizeByLayer: c.normalize_by_layer, normalizeGlobal: c.normalize_global };
  const score = scoreTask({ kind: c.task, glueTask: c.glue_task, metric: c.metric });
  const files: Record<string, Uint8Array | string> = {};
  const report = (imp: ImportanceResult, importanceSeconds: number) => {
    files["head_importance.npy"] = writeNpy(imp.importance);
    files["attn_entropy.npy"] = writeNpy(imp.entropy);
    log(formatTable("Head importance (normalised)", imp.importance.data, L, H));
    return importanceReport(c.report, c.metric, imp, score(imp), importanceSeconds, L, H);
  };
  if (first.study === "heads") {
    const r = { ...report(importanceFromPartials(c, parts, norm), seconds), shards: first.shard.count };
    files["report.json"] = JSON.stringify(r, null, 2) + "\n";
    return files;
  }
  // a masking round: the merged rounds before it (the same in every shard: their fingerprints say so), then it
  const previous = (first.sums.previous_rounds ?? []) as MaskingRoundsFile["rounds"];
  const k = first.round ?? 0;
  if (previous.length !== k) throw new Error(`${shards[0]!.file} is round ${k} but carries ${previous.length} rounds`);
  const rounds: MaskingRound[] = previous.map((r, i) => ({
    sums: importancePartialFromJson(r.sums, `${shards[0]!.file} sums.previous_rounds[${i}].sums`, L * H),
    seconds: r.seconds,
  }));
  rounds.push({ sums: sumImportancePartials(parts), seconds });
  const replay = replayMaskingRounds(contextConfig(c), maskingOptions(c), rounds);
  const roundsFile: MaskingRoundsFile = {
    format: MASKING_ROUNDS_FORMAT,
    version: 1,
    base: c.masking_base ?? "",
    rounds: rounds.map((r) => ({ sums: importancePartialToJson(r.sums), seconds: r.seconds })),
    done: replay.done,
  };
  files[MASKING_ROUNDS_FILE] = JSON.stringify(roundsFile) + "\n";
  const r0 = report(importanceFromPartials(c, [rounds[0]!.sums], norm), rounds[0]!.seconds);
  if (!replay.done) {
    log(`masking: round ${k} merged; next: round ${replay.round} (heads … --round ${replay.round})`);
    return files;
  }
  const m = replay.result;
  const mask = { shape: [L, H], data: Float32Array.from(m.headMask.flat()) };
  files["head_mask.npy"] = writeNpy(mask);
  const opts = c.masking!;
  const masked = maskingReport(
    m,
    { threshold: opts.threshold, amount: opts.amount, atLeast: opts.at_least_heads_per_layer, rerank: opts.rerank },
    L,
    H,
  );
  files["report.json"] = JSON.stringify({ ...r0, masking: masked, shards: first.shard.count, rounds: k + 1 }, null, 2) +
    "\n";
  log(`masking: the study ended after round ${k}: ${mask.data.reduce((a, b) => a + b, 0)} of ${L * H} heads kept`);
  return files;
}
