/**
 * `bertology heads`: everything HF's `run_bertology.py` did — head importance and attention entropy over a
 * dataset, optional iterative masking, and the masked-vs-pruned comparison — for BERT, GPT and GPT-2.
 *
 * @module
 */

import { computeHeadImportance, type ImportanceResult } from "../../core/bertology/importance.ts";
import { defaultScore, maskHeadsIteratively, type MaskingStep } from "../../core/bertology/masking.ts";
import { headsFromMask, pruneModel } from "../../core/bertology/prune.ts";
import { writeNpy } from "../../core/checkpoint/npy.ts";
import { createWasmKernels } from "../../core/kernels/wasm_kernels.ts";
import { glueComputeMetrics } from "../../core/metrics/glue_compute_metrics.ts";
import { accuracy } from "../../core/metrics/accuracy.ts";
import { checkOutputFolder, openOutputFolder } from "../../core/checkpoint/output_dir_fs.ts";
import { formatTable, localSources, openModel, parseFlags, Progress, UsageError, writeFileAtomic } from "../_common.ts";
import { DATA_FLAGS, type Dataset, loadDataset } from "../_dataset.ts";
import type { TransformerModel } from "../../core/models/model.ts";

/** Help text. */
export const HEADS_HELP =
  `bertology heads --model DIR (--task sst-2 --data-dir DIR [--split dev] | --data-file F --text-column C
                [--text-pair-column C] [--label-column C] [--format csv|tsv|jsonl])
                [--data-subset N] [--batch-size 8] [--max-seq-length 128]
                [--try-masking [--masking-threshold 0.9] [--masking-amount 0.1] [--metric-name acc]
                 [--at-least-heads-per-layer K] [--no-rerank] [--no-prune]]
                [--dont-normalize-importance-by-layer] [--dont-normalize-global-importance] [--hf-accumulate]
                --output-dir OUT [--json] [--offline] [--force]
  Writes OUT/head_importance.npy, OUT/attn_entropy.npy, OUT/head_mask.npy (with --try-masking) as float32
  NumPy files like HF's script, and OUT/report.json (scores per step, heads masked per step, timings).
  GPT / GPT-2 models use the next-token loss; their score is 1/perplexity (metric "inv_ppl").
  OUT may not be the model or hold it; a non-empty OUT that bertology did not write is refused unless --force,
  which writes beside the files there and never replaces one of them.`;

/** Every entry `heads` may write in its output folder. */
const HEADS_OUTPUTS = ["head_importance.npy", "attn_entropy.npy", "head_mask.npy", "report.json"];

/** Runs the command; returns the exit code. */
export async function headsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    ...DATA_FLAGS,
    "try-masking": { type: "boolean" },
    "masking-threshold": { type: "string" },
    "masking-amount": { type: "string" },
    "metric-name": { type: "string" },
    "at-least-heads-per-layer": { type: "string" },
    "no-rerank": { type: "boolean" },
    "no-prune": { type: "boolean" },
    "dont-normalize-importance-by-layer": { type: "boolean" },
    "dont-normalize-global-importance": { type: "boolean" },
    "hf-accumulate": { type: "boolean" },
    "output-dir": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    force: { type: "boolean" },
  });
  if (!values.model) throw new UsageError("--model is required");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const output = {
    force: values.force,
    sources: localSources(values.model, values["data-file"], values["data-dir"]),
    flag: "--output-dir",
  };
  await checkOutputFolder(outDir, HEADS_OUTPUTS, output);
  const num = (flag: string, v: string | undefined, fallback: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${v}"`);
    return n;
  };
  const threshold = num("masking-threshold", values["masking-threshold"], 0.9);
  const amount = num("masking-amount", values["masking-amount"], 0.1);
  const atLeast = num("at-least-heads-per-layer", values["at-least-heads-per-layer"], 0);
  const log = (s: string) => values.json ? console.error(s) : console.log(s);

  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model, { offline: values.offline });
  const data = await loadDataset(values, model, tokenizer!);
  const { layers: L, heads: H } = model.config;
  const metricName = values["metric-name"] ?? (model.config.family === "bert" ? defaultMetric(data) : "inv_ppl");
  const score = scorer(data, metricName, model);
  log(`${data.name}: ${data.examples.length} examples in ${data.batches.length} batches`);

  const norm = {
    normalizeByLayer: !values["dont-normalize-importance-by-layer"],
    normalizeGlobal: !values["dont-normalize-global-importance"],
  };
  const bar = new Progress("importance", data.batches.length);
  const tImp = performance.now();
  const imp = computeHeadImportance(model, data.batches, {
    ...norm,
    hfAccumulate: values["hf-accumulate"],
    onBatch: () => bar.tick(),
  });
  bar.end();
  const importanceSeconds = (performance.now() - tImp) / 1000;
  log(formatTable("Attention entropy (mean nats per token)", imp.entropy.data, L, H));
  log(formatTable("Head importance (normalised)", imp.importance.data, L, H));
  const ranking = [...imp.importance.data.keys()].sort((a, b) => imp.importance.data[b] - imp.importance.data[a]);
  log(
    `Head ranking (most important first, layer.head): ${ranking.map((i) => `${Math.floor(i / H)}.${i % H}`).join(" ")}`,
  );
  await openOutputFolder(outDir, HEADS_OUTPUTS, output);
  await writeFileAtomic(`${outDir}/head_importance.npy`, writeNpy(imp.importance));
  await writeFileAtomic(`${outDir}/attn_entropy.npy`, writeNpy(imp.entropy));

  const report: Record<string, unknown> = {
    model: values.model,
    family: model.config.family,
    data: data.name,
    examples: data.examples.length,
    batch_size: data.batches[0].batch.batchSize,
    metric: metricName,
    score: score(imp),
    loss: imp.loss,
    total_tokens: imp.totalTokens,
    head_importance: rows(imp.importance.data, L, H),
    head_importance_raw: rows(imp.importanceRaw.data, L, H),
    attn_entropy: rows(imp.entropy.data, L, H),
    timings: { importance_seconds: importanceSeconds },
  };

  if (values["try-masking"]) {
    if (!(threshold > 0 && threshold < 1)) {
      throw new UsageError(`--masking-threshold must be in (0, 1), got ${threshold}`);
    }
    const steps: MaskingStep[] = [];
    const masking = maskHeadsIteratively(model, data.batches, {
      ...norm,
      threshold,
      amount,
      atLeastHeadsPerLayer: atLeast,
      rerank: !values["no-rerank"],
      score,
      onStep: (s) => {
        steps.push(s);
        log(
          `masking step ${s.step}: ${metricName} ${fmtScore(s.score, metricName)}, ${s.headsKept}/${
            L * H
          } heads kept ` +
            `(${(100 * s.fractionKept).toFixed(1)} %) ${
              s.newlyMasked.length ? `masked ${s.newlyMasked.map(([l, h]) => `${l}.${h}`).join(" ")}` : ""
            }`,
        );
      },
    });
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
    report.masking = {
      threshold,
      amount,
      at_least_heads_per_layer: atLeast,
      rerank: !values["no-rerank"],
      original_score: masking.originalScore,
      final_score: masking.finalScore,
      fraction_masked: 1 - kept / (L * H),
      head_mask: masking.headMask,
      steps: steps.map((s) => ({
        step: s.step,
        score: s.score,
        heads_kept: s.headsKept,
        fraction_kept: s.fractionKept,
        masked: s.newlyMasked,
        seconds: s.seconds,
      })),
    };
    if (!values["no-prune"]) report.pruning = comparePruning(model, data, masking.headMask, score, log);
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

/** HF's `prune_heads`: score and time the masked model, then the really pruned one. */
function comparePruning(
  model: TransformerModel,
  data: Dataset,
  headMask: number[][],
  score: (r: ImportanceResult) => number,
  log: (s: string) => void,
): Record<string, unknown> {
  const timed = (m: TransformerModel, mask?: number[][]) => {
    const t = performance.now();
    const r = computeHeadImportance(m, data.batches, {
      headMask: mask,
      computeImportance: false,
      computeEntropy: false,
    });
    return { score: score(r), seconds: (performance.now() - t) / 1000 };
  };
  const before = model.params.count();
  const masked = timed(model, headMask);
  const pruned = pruneModel(model, headsFromMask(headMask), createWasmKernels());
  const after = pruned.params.count();
  const prunedRun = timed(pruned);
  log(`Pruning: parameters ${before} → ${after} (${(100 * after / before).toFixed(1)} %)`);
  log(`Pruning: score masked ${fmtScore(masked.score, "")}, pruned ${fmtScore(prunedRun.score, "")}`);
  log(
    `Pruning: forward time masked ${masked.seconds.toFixed(3)} s, pruned ${prunedRun.seconds.toFixed(3)} s ` +
      `(speed ratio ${(100 * prunedRun.seconds / masked.seconds).toFixed(1)} %)`,
  );
  return {
    heads_pruned: headsFromMask(headMask),
    parameters_before: before,
    parameters_after: after,
    score_masked: masked.score,
    score_pruned: prunedRun.score,
    seconds_masked: masked.seconds,
    seconds_pruned: prunedRun.seconds,
  };
}

function defaultMetric(data: Dataset): string {
  if (data.task === undefined) return "acc";
  if (data.task === "cola") return "mcc";
  if (data.task === "sts-b") return "corr";
  return "acc";
}

/** The score (higher is better) that masking compares to its threshold. */
function scorer(data: Dataset, metricName: string, model: TransformerModel): (r: ImportanceResult) => number {
  if (model.config.family !== "bert") {
    if (metricName !== "inv_ppl") {
      throw new UsageError(`GPT models are scored by "inv_ppl" (1/perplexity), not "${metricName}"`);
    }
    return defaultScore;
  }
  if (data.task === undefined) {
    if (metricName !== "acc") throw new UsageError(`custom data is scored by "acc", not "${metricName}"`);
    return (r) => accuracy(r.preds, r.labels);
  }
  const probe = glueComputeMetrics(data.task, [0, 1], [0, 1]);
  if (!(metricName in probe)) {
    throw new UsageError(
      `--metric-name "${metricName}" is not reported for ${data.task} (choose from ${Object.keys(probe).join(", ")})`,
    );
  }
  return (r) => glueComputeMetrics(data.task!, r.preds, r.labels)[metricName];
}

function rows(data: ArrayLike<number>, L: number, H: number): number[][] {
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data[l * H + h]));
}

/** A score for people: 4 decimals, or 4 significant digits when tiny; 1/perplexity also as a perplexity. */
function fmtScore(v: number, metric: string): string {
  const text = v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(4) : v.toFixed(4);
  return metric === "inv_ppl" && v > 0 ? `${text} (perplexity ${(1 / v).toFixed(1)})` : text;
}
