/**
 * `deno task demo`: a whole BERTology study, offline, in a few minutes, written up as one self-contained
 * HTML page (`out/demo/report.html`) plus `out/demo/summary.json`:
 *
 * 1. BERT fine-tuned on SST-2 (`models/bert-sst2`): dev accuracy, and the shapes of hidden states and
 *    attentions for one example;
 * 2. head importance and attention entropy on SST-2 dev (tables and heatmaps);
 * 3. iterative head masking (threshold 90 %, 10 % of heads per step): score versus fraction of heads kept;
 * 4. real pruning of the final mask: parameters, dev accuracy and forward time, masked versus pruned, and
 *    the pruned checkpoint saved under the output folder;
 * 5. the same importance study for GPT-2 (`models/gpt2-sst2`) with the language-model loss (perplexity);
 * 6. attention maps of the most important heads on one dev sentence, and the commands reproducing it all.
 *
 * @module
 */

import type { MaskingStep } from "@bertology/core/bertology";
import { saveModel, storedDtype } from "@bertology/core/training";
import { hookName } from "@bertology/core/hooks";
import type { LoadedModel } from "@bertology/core/models";
import type { TransformerModel } from "@bertology/core/models";
import { makeBatches, type PaddedBatch } from "@bertology/core/data";
import { openOutputFolder } from "@bertology/core/checkpoint/deno";
import { type ImportanceStudy, studyHeadImportance } from "@bertology/core/studies";
import { studyMasking } from "@bertology/core/studies";
import {
  bootstrapInterval,
  importanceRankStability,
  type Interval,
  randomMaskingBaseline,
  type RankStability,
  scoreTask,
  taskSpec,
} from "@bertology/core/studies";
import { comparePrunedToMasked } from "@bertology/core/studies";
import { formatTable, localSources, openModel, parseFlags, Progress, UsageError, writeFileAtomic } from "./_common.ts";
import { type Dataset, loadDataset } from "./_dataset.ts";
import { attributionSections } from "./demo_attribution.ts";
import { budgetPruningStudy } from "./demo_budget.ts";
import { storiesStudy, type StoriesSummary } from "./demo_stories.ts";
import { circuitsSectionHtml, circuitsStudy, type CircuitsSummary } from "./demo_circuits.ts";
import { budgetSectionHtml, type BudgetStudy } from "./report/budget_section.ts";
import { analysisCommands, type AnalysisStudy, runAnalysisStudy } from "./demo_analysis.ts";
import {
  type HeadPattern,
  type ModelStudy,
  type PruningRow,
  type ReportData,
  reportHtml,
} from "./report/report_html.ts";

/** Options of {@linkcode runDemo} (the command's flags). */
export interface DemoOptions {
  /** BERT classifier fine-tuned on SST-2 (default `models/bert-sst2`). */
  bert?: string | undefined;
  /** GPT-2 language model trained on SST-2 sentences (default `models/gpt2-sst2`). */
  gpt2?: string | undefined;
  /** A pretrained Llama with llama2.c's documented greedy output beside it (default `models/stories260k`). */
  stories?: string | undefined;
  /** Folder holding the GLUE task folders (default `data/glue`). */
  dataDir?: string | undefined;
  /** Use only the first N dev sentences (default: all 872). */
  dataSubset?: number | undefined;
  /** Output folder (default `out/demo`). */
  out?: string | undefined;
  /** Batch size (default 8) and maximum sequence length (default 64). */
  batchSize?: number | undefined;
  maxSeqLength?: number | undefined;
  /** Masking threshold (default 0.9) and fraction of heads masked per step (default 0.1). */
  threshold?: number | undefined;
  amount?: number | undefined;
  /** Where progress lines go (default `console.log`). */
  log?: ((line: string) => void) | undefined;
  /** Write into a non-empty `out` that bertology did not write, keeping its files (default false). */
  force?: boolean | undefined;
  /** UD EWT folder for the analysis sections (default `data/ud`); with `dataSubset`, that many UD sentences. */
  udDir?: string | undefined;
  /** Timed forward passes of the original, masked and pruned models, interleaved; medians shown (default 5). */
  timingRuns?: number | undefined;
}

/** What the demo measured (also written to `summary.json`). */
export interface DemoSummary {
  headline: string;
  data: { task: string; split: string; examples: number; data_dir: string };
  bert: {
    model: string;
    layers: number;
    heads: number;
    dev_accuracy: number;
    dev_loss: number;
    hidden_state_shapes: Record<string, number[]>;
    attention_shapes: Record<string, number[]>;
    head_importance: number[][];
    attn_entropy: number[][];
    masking: {
      threshold: number;
      amount: number;
      original_accuracy: number;
      final_accuracy: number;
      heads_masked: number;
      total_heads: number;
      fraction_masked: number;
      head_mask: number[][];
      steps: Array<{
        step: number;
        accuracy: number;
        heads_kept: number;
        fraction_kept: number;
        masked: number[][];
        /** 95 % percentile bootstrap interval over the dev sentences. */
        accuracy_ci: [number, number] | null;
        /** Accuracies of masks keeping as many heads drawn at random (Budhraja et al. 2020). */
        random_masks: number[];
      }>;
    };
    /** Spearman ρ between the importances of two random halves of the dev batches, per split. */
    importance_rank_stability: RankStability;
    pruning: {
      heads_pruned: Record<string, number[]>;
      params_before: number;
      params_after: number;
      accuracy_original: number;
      accuracy_masked: number;
      accuracy_pruned: number;
      /** Medians of `timing_runs` interleaved passes over the dev set. */
      seconds_original: number;
      seconds_masked: number;
      seconds_pruned: number;
      timing_runs: number;
      /** Every timed pass, seconds. */
      seconds_runs: { original: number[]; masked: number[]; pruned: number[] };
      /** seconds_masked / seconds_pruned. */
      speedup_pruned_vs_masked: number;
      pruned_checkpoint: string;
    };
    attention_heads: Array<{ layer: number; head: number; importance: number }>;
  };
  gpt2: {
    model: string;
    layers: number;
    heads: number;
    params: number;
    dev_loss: number;
    perplexity: number;
    head_importance: number[][];
    attn_entropy: number[][];
    attention_heads: Array<{ layer: number; head: number; importance: number }>;
  };
  times: Record<string, number>;
  files: { report: string; summary: string; pruned_checkpoint: string };
  /** Attention statistics, syntactic heads and probes of the BERT (Clark et al. 2019, Tenney et al. 2019). */
  analysis: AnalysisStudy;
  /** Accuracy against FLOPs: Michel masking vs Kwon et al.'s search (heads; heads + neurons), with speeds. */
  budget_pruning: BudgetStudy;
  /** The stories260K section: greedy output vs llama2.c's, head roles, importance and masking by perplexity. */
  stories: StoriesSummary;
  /** The circuits section: DLA, AtP beside exact patching, EAP / EAP-IG and faithfulness, per model. */
  circuits: CircuitsSummary[];
}

/** Help text. */
export const DEMO_HELP =
  `Usage: deno task demo [--bert DIR] [--gpt2 DIR] [--stories DIR] [--data-dir DIR] [--data-subset N] [--out DIR]
                      [--batch-size 8] [--max-seq-length 64] [--timing-runs 5] [--force]
  Runs a whole BERTology study offline (importance, entropy, masking, pruning for BERT on SST-2; importance
  and perplexity for GPT-2; greedy output, head roles and masking by perplexity for the pretrained stories260K)
  and writes OUT/report.html (self-contained) and OUT/summary.json.
  Defaults: --bert models/bert-sst2 --gpt2 models/gpt2-sst2 --stories models/stories260k --data-dir data/glue --out out/demo, all 872
  SST-2 dev sentences; masked, pruned and original models timed over 5 interleaved passes (medians, and the
  pruned model's speed-up over the masked one). An OUT that holds a model or the data is refused, and so is a non-empty OUT that
  bertology did not write unless --force, which keeps every file there.`;

const ATTENTION_HEADS = 3;

/** Every entry the demo writes in its output folder. */
const DEMO_OUTPUTS = [
  "report.html",
  "summary.json",
  "bert_head_mask.json",
  "bert-sst2-pruned",
  "bert_example.inputs.json",
  "gpt2_example.inputs.json",
];

/** Parses the demo's command-line flags. */
export function parseDemoArgs(args: string[]): DemoOptions {
  const { values } = parseFlags(args, {
    bert: { type: "string" },
    gpt2: { type: "string" },
    stories: { type: "string" },
    "data-dir": { type: "string" },
    "data-subset": { type: "string" },
    out: { type: "string" },
    "batch-size": { type: "string" },
    "max-seq-length": { type: "string" },
    "timing-runs": { type: "string" },
    force: { type: "boolean" },
  });
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${v}"`);
    return n;
  };
  return {
    bert: values.bert,
    gpt2: values.gpt2,
    stories: values.stories,
    dataDir: values["data-dir"],
    dataSubset: int("data-subset", values["data-subset"]),
    out: values.out,
    batchSize: int("batch-size", values["batch-size"]),
    maxSeqLength: int("max-seq-length", values["max-seq-length"]),
    timingRuns: int("timing-runs", values["timing-runs"]),
    ...(values.force ? { force: true } : {}),
  };
}

/** How `bertology train` makes each bundled model (their MODEL_CARD.md recipes), by demo flag. */
const TRAIN_RECIPES = {
  bert:
    "--family bert --layers 4 --heads 8 --hidden 128 --intermediate 512 --vocab tests/fixtures/vocab/bert-base-uncased " +
    "--epochs 3 --lr 1e-3",
  gpt2:
    "--lm --family gpt2 --layers 4 --heads 4 --hidden 96 --intermediate 384 --vocab tests/fixtures/vocab/gpt2 --epochs 1 --lr 2e-3",
} as const;

/** Refuses a missing model folder with instructions, instead of silently using something else. */
function checkModelDir(dir: string, what: string, flag: keyof typeof TRAIN_RECIPES): void {
  let ok = false;
  try {
    ok = Deno.statSync(`${dir}/config.json`).isFile;
  } catch { /* missing */ }
  if (ok) return;
  const train = TRAIN_RECIPES[flag];
  throw new Error(
    `${what} not found: "${dir}/config.json" does not exist.\n` +
      `The demo studies the SST-2 models that ship in models/ (their MODEL_CARD.md gives the exact recipe). ` +
      `To create it, train it with \`bertology train\` (cli/commands/train.ts) and copy its best checkpoint there:\n` +
      `  deno task cli train --task sst-2 --data-dir data/glue ${train} \\\n` +
      `      --max-positions 128 --batch-size 32 --warmup 0.1 --weight-decay 0.01 --max-seq-length 64 --seed 42 ` +
      `--group-by-length --dtype f16 --output-dir out/${flag}-sst2\n` +
      `  cp -r out/${flag}-sst2/best ${dir}\n` +
      `or point the demo at another checkpoint with --${flag} DIR.`,
  );
}

interface Timer {
  stage<T>(name: string, f: () => T | Promise<T>): Promise<T>;
  times: Array<{ stage: string; seconds: number }>;
}

function timer(log: (s: string) => void): Timer {
  const times: Array<{ stage: string; seconds: number }> = [];
  return {
    times,
    async stage(name, f) {
      log(`\n▶ ${name} …`);
      const t0 = performance.now();
      const r = await f();
      const seconds = (performance.now() - t0) / 1000;
      times.push({ stage: name, seconds });
      log(`✔ ${name}: ${seconds.toFixed(2)} s`);
      return r;
    },
  };
}

const rows = (data: ArrayLike<number>, L: number, H: number) =>
  Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data[l * H + h]!));

function importancePass(model: TransformerModel, data: Dataset, label: string): ImportanceStudy {
  const bar = new Progress(label, data.batches.length);
  const r = studyHeadImportance(model, data, { onBatch: () => bar.tick() });
  bar.end();
  return r;
}

/** Picks a readable example: the first dev sentence of 8–16 tokens (else the first one). */
function pickExample(data: Dataset, loaded: LoadedModel, maxLen: number): string {
  const tok = loaded.tokenizer!;
  const fits = data.examples.find((e) => {
    const n = tok.encode(e.textA, undefined, { maxLength: maxLen }).ids.length;
    return n >= 8 && n <= 16;
  });
  return (fits ?? data.examples[0]!).textA.trim();
}

/** Runs the model on one sentence, keeping hidden states and attentions. */
function probe(loaded: LoadedModel, sentence: string, maxLen: number) {
  const { model, tokenizer } = loaded;
  const { layers: L } = model.config;
  const enc = tokenizer!.encode(sentence, undefined, { maxLength: maxLen });
  const [batch] = makeBatches([enc], { batchSize: 1, padId: tokenizer!.padId }) as [PaddedBatch];
  const hfNames = [
    ...Array.from({ length: L + 1 }, (_, i) => `hidden_states.${i}`),
    ...Array.from({ length: L }, (_, l) => `attentions.${l}`),
  ];
  const { cache } = model.run({ batch, names: hfNames });
  const shapes = hfNames.map((hfName) => {
    const hook = model.resolveName(hfName);
    return { hfName, hook, shape: [...cache.get(hook)!.shape] };
  });
  const pattern = (l: number, h: number): number[] => {
    const t = cache.get(hookName("pattern", l))!;
    const T = t.shape[2]!;
    return Array.from(t.data.subarray(h * T * T, (h + 1) * T * T));
  };
  return {
    tokens: enc.tokens,
    inputs: { input_ids: [enc.ids], attention_mask: [enc.ids.map(() => 1)], token_type_ids: [enc.tokenTypeIds] },
    shapes,
    pattern,
  };
}

function topHeads(
  importance: ArrayLike<number>,
  H: number,
  k: number,
): Array<{ layer: number; head: number; importance: number }> {
  return [...Array(importance.length).keys()]
    .sort((a, b) => importance[b]! - importance[a]! || a - b)
    .slice(0, k)
    .map((i) => ({ layer: Math.floor(i / H), head: i % H, importance: importance[i]! }));
}

const shellQuote = (s: string) => (/^[\w./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Runs the whole study and writes `report.html`, `summary.json`, the pruned checkpoint and the inputs
 * that reproduce the figures under `opts.out`.
 *
 * @throws {Error} when a model folder is missing (with instructions), or the data cannot be read
 * @example Usage
 * ```ts ignore
 * const summary = await runDemo({ dataSubset: 64, out: "out/demo-small" });
 * summary.bert.masking.fraction_masked;
 * ```
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const bertDir = opts.bert ?? "models/bert-sst2";
  const gpt2Dir = opts.gpt2 ?? "models/gpt2-sst2";
  const storiesDir = opts.stories ?? "models/stories260k";
  const dataDir = opts.dataDir ?? "data/glue";
  const out = (opts.out ?? "out/demo").replace(/\/+$/, "");
  const batchSize = opts.batchSize ?? 8, maxLen = opts.maxSeqLength ?? 64;
  const threshold = opts.threshold ?? 0.9, amount = opts.amount ?? 0.1;
  const log = opts.log ?? ((s: string) => console.log(s));
  checkModelDir(bertDir, "BERT SST-2 model", "bert");
  checkModelDir(gpt2Dir, "GPT-2 SST-2 model", "gpt2");
  for (const f of ["config.json", "generation.json"]) {
    const there = (() => {
      try {
        return Deno.statSync(`${storiesDir}/${f}`).isFile;
      } catch {
        return false;
      }
    })();
    if (!there) {
      throw new Error(`The stories260K model is incomplete: "${storiesDir}/${f}" does not exist (--stories DIR)`);
    }
  }
  const dataFlags = {
    task: "sst-2",
    "data-dir": dataDir,
    "batch-size": String(batchSize),
    "max-seq-length": String(maxLen),
    ...(opts.dataSubset !== undefined ? { "data-subset": String(opts.dataSubset) } : {}),
  };
  const t0 = performance.now();
  const { stage, times } = timer(log);
  await openOutputFolder(out, DEMO_OUTPUTS, {
    force: opts.force,
    sources: localSources(bertDir, gpt2Dir, dataDir),
    flag: "--out",
  });

  // ── BERT ────────────────────────────────────────────────────────────────────────────────────────────
  const { bert, data } = await stage("BERT: load model and SST-2 dev", async () => {
    const bert = await openModel(bertDir, { offline: true });
    const data = await loadDataset(dataFlags, bert.model, bert.tokenizer!);
    const c = bert.model.config;
    log(
      `${bertDir}: ${c.family}, ${c.layers} layers × ${c.heads} heads, ${bert.model.params.count()} parameters; ` +
        `${data.name}: ${data.examples.length} sentences in ${data.batches.length} batches of ${batchSize}`,
    );
    return { bert, data };
  });
  const model = bert.model;
  const { layers: L, heads: H } = model.config;
  const bertSentence = pickExample(data, bert, maxLen);

  const bertProbe = await stage("BERT: hidden states and attentions of one example", () => {
    const p = probe(bert, bertSentence, maxLen);
    log(`example: "${bertSentence}" → ${p.tokens.length} tokens`);
    for (const s of p.shapes) log(`  ${s.hfName.padEnd(16)} ${s.hook.padEnd(28)} [${s.shape.join(", ")}]`);
    return p;
  });

  const imp = await stage("BERT: dev accuracy, head importance and attention entropy", () => {
    const r = importancePass(model, data, "importance");
    log(`dev ${r.metric === "acc" ? "accuracy" : r.metric} ${r.score.toFixed(4)}, loss ${r.loss.toFixed(4)}`);
    log(formatTable("BERT attention entropy (mean nats per token)", r.entropy.data, L, H, 3));
    log(formatTable("BERT head importance (normalised)", r.importance.data, L, H, 3));
    return r;
  });
  const devAccuracy = imp.metrics.acc ?? imp.score;

  const intervals: Array<Interval | null> = [];
  const accuracyOf = scoreTask({ ...taskSpec(model, data), metric: "acc" });
  const masking = await stage("BERT: iterative head masking", () => {
    log(`masking ${Math.round(100 * amount)} % of heads per step while accuracy ≥ ${threshold} × original`);
    return studyMasking(model, data, {
      threshold,
      amount,
      onStep: (s: MaskingStep, pass) => {
        intervals.push(bootstrapInterval(pass, accuracyOf, { resamples: 1000, seed: s.step }));
        log(
          `  step ${s.step}: accuracy ${s.score.toFixed(4)}, ${s.headsKept}/${L * H} heads kept ` +
            `(${(100 * s.fractionKept).toFixed(1)} %)${
              s.newlyMasked.length ? `, masked ${s.newlyMasked.map(([l, h]) => `${l}.${h}`).join(" ")}` : ""
            } [${s.seconds.toFixed(1)} s]`,
        );
      },
    });
  });
  const randomMasks = 3;
  const baseline = await stage(
    "BERT: random head masking at each step's head count (Budhraja et al. 2020)",
    () =>
      masking.steps.map((s) => {
        const r = randomMaskingBaseline(model, data.batches, accuracyOf, s.headsKept, { count: randomMasks });
        const ci = intervals[s.step];
        log(
          `  ${s.headsKept} heads: by importance ${s.score.toFixed(4)}${
            ci ? ` [${ci.low.toFixed(4)}, ${ci.high.toFixed(4)}]` : ""
          }, at random ${r.mean.toFixed(4)} (${r.min.toFixed(4)}–${r.max.toFixed(4)})`,
        );
        return r;
      }),
  );
  const stability = await stage("BERT: importance rank stability over random halves of the dev set", () => {
    const r = importanceRankStability(model, data.batches, { splits: 5 });
    log(`  Spearman ρ ${r.spearman.map((x) => x.toFixed(3)).join(" ")}; mean ${r.mean.toFixed(3)}`);
    return r;
  });
  const kept = masking.headMask.flat().reduce((a, b) => a + b, 0);
  const headsMasked = L * H - kept, fractionMasked = headsMasked / (L * H);
  log(formatTable("BERT final head mask (1 kept, 0 masked)", masking.headMask.flat(), L, H, 0));
  await writeFileAtomic(`${out}/bert_head_mask.json`, JSON.stringify(masking.headMask) + "\n");

  const prunedDir = `${out}/bert-sst2-pruned`;
  const timingRuns = opts.timingRuns ?? 5;
  const pruning = await stage("BERT: prune the masked heads, save, compare masked vs pruned", async () => {
    const cmp = comparePrunedToMasked(model, data, masking.headMask, {
      includeOriginal: true,
      repeats: timingRuns,
      progress: (pass, batches) => new Progress(pass, batches),
    });
    const heads = cmp.headsPruned;
    await saveModel(cmp.prunedModel, prunedDir, { dtype: storedDtype(model), tokenizerFrom: bert.files });
    const before = cmp.parametersBefore, after = cmp.parametersAfter;
    const rowsOut: PruningRow[] = [
      { label: "original (all heads)", heads: L * H, parameters: before, ...cmp.original! },
      { label: "masked (head mask)", heads: kept, parameters: before, ...cmp.masked },
      { label: "pruned (heads removed)", heads: kept, parameters: after, ...cmp.pruned },
    ];
    for (const r of rowsOut) {
      log(
        `  ${r.label.padEnd(24)} heads ${String(r.heads).padStart(4)}  params ${String(r.parameters).padStart(10)}  ` +
          `accuracy ${r.score.toFixed(4)}  forward ${r.seconds.toFixed(3)} s`,
      );
    }
    log(
      `  forward times: medians of ${timingRuns} interleaved passes over the dev set; ` +
        `pruned vs masked: ${cmp.speedup.toFixed(2)}× faster`,
    );
    log(`saved the pruned checkpoint to ${prunedDir}`);
    const runs = { original: cmp.original!.runs, masked: cmp.masked.runs, pruned: cmp.pruned.runs };
    return { heads, rows: rowsOut, before, after, speedup: cmp.speedup, runs };
  });

  const budget = await stage(
    "BERT: pruning to a budget (Michel masking vs Kwon et al.)",
    () =>
      budgetPruningStudy(bert, data, masking, {
        dataDir,
        ...(opts.dataSubset !== undefined ? { sample: 4 * opts.dataSubset, tuneSample: opts.dataSubset } : {}),
        log,
      }),
  );

  const analysis = await stage(
    "BERT: attention statistics, syntactic heads, layer probes (Clark; Tenney)",
    () =>
      runAnalysisStudy(bertDir, bert, data, {
        udDir: opts.udDir ?? "data/ud",
        ...(opts.dataSubset !== undefined ? { maxSentences: opts.dataSubset } : {}),
        log,
      }),
  );

  // ── GPT-2 ───────────────────────────────────────────────────────────────────────────────────────────
  const { gpt2, gdata } = await stage("GPT-2: load model and SST-2 dev sentences", async () => {
    const gpt2 = await openModel(gpt2Dir, { offline: true });
    const gdata = await loadDataset(dataFlags, gpt2.model, gpt2.tokenizer!);
    const c = gpt2.model.config;
    log(`${gpt2Dir}: ${c.family}, ${c.layers} layers × ${c.heads} heads, ${gpt2.model.params.count()} parameters`);
    return { gpt2, gdata };
  });
  const gc = gpt2.model.config;
  const gimp = await stage("GPT-2: perplexity, head importance (LM loss) and attention entropy", () => {
    const r = importancePass(gpt2.model, gdata, "importance");
    log(`dev loss ${r.loss.toFixed(4)} nats/token, perplexity ${Math.exp(r.loss).toFixed(3)}`);
    log(formatTable("GPT-2 attention entropy (mean nats per token)", r.entropy.data, gc.layers, gc.heads, 3));
    log(formatTable("GPT-2 head importance (normalised)", r.importance.data, gc.layers, gc.heads, 3));
    return r;
  });
  const gProbe = probe(gpt2, bertSentence, maxLen);
  const attr = { bert, bertDir, examples: data.examples, gpt2, gpt2Dir, sentence: bertSentence, quote: shellQuote };
  const sections = await stage("Attributions (BERT) and logit lens (GPT-2)", () => attributionSections(attr));
  const storiesModel = await stage(
    "stories260K: load the pretrained Llama",
    () => openModel(storiesDir, { offline: true }),
  );
  const stories = await storiesStudy(storiesDir, storiesModel, stage, log);
  const circuits = await stage("Circuits: DLA, AtP, EAP and faithfulness on GPT-2 and stories260K", () => [
    // the bundled GPT-2 knows SST-2 reviews, not names: its pair swaps the sentiment word it should copy
    circuitsStudy(gpt2Dir, gpt2, {
      clean: "a wonderful film with a wonderful cast and a",
      corrupted: "a terrible film with a terrible cast and a",
      target: "wonderful",
      distractor: "terrible",
    }),
    circuitsStudy(storiesDir, storiesModel, {
      clean: "Lily and Tim went to the park. Tim gave the ball to",
      corrupted: "Lily and Tim went to the park. Lily gave the ball to",
      target: "Lily",
      distractor: "Tim",
    }),
  ]);
  sections.push(budgetSectionHtml(
    budget,
    `deno task cli prune --model ${shellQuote(bertDir)} --budget flops=0.6 --task sst-2 --data-dir ${
      shellQuote(dataDir)
    } --out ${shellQuote(`${out}/bert-sst2-flops0.6`)}`,
  ));
  sections.push(stories.html, circuitsSectionHtml(circuits));

  // ── report ──────────────────────────────────────────────────────────────────────────────────────────
  const bertTop = topHeads(imp.importance.data, H, Math.min(ATTENTION_HEADS, L * H));
  const gptTop = topHeads(gimp.importance.data, gc.heads, Math.min(ATTENTION_HEADS, gc.layers * gc.heads));
  const patterns = (top: typeof bertTop, p: ReturnType<typeof probe>): HeadPattern[] =>
    top.map((h) => ({ ...h, weights: p.pattern(h.layer, h.head) }));
  const perplexity = Math.exp(gimp.loss);
  const paramsBefore = pruning.before, paramsAfter = pruning.after;
  const fullHeadline =
    `Masking ${headsMasked} of ${L * H} attention heads (${(100 * fractionMasked).toFixed(1)} %) of ` +
    `this BERT keeps ${(100 * masking.finalScore / masking.originalScore).toFixed(1)} % of its SST-2 dev accuracy ` +
    `(${masking.finalScore.toFixed(4)} vs ${masking.originalScore.toFixed(4)}; threshold ${
      Math.round(100 * threshold)
    } %), ` +
    `and removing them shrinks the model from ${paramsBefore.toLocaleString("en-US")} to ` +
    `${paramsAfter.toLocaleString("en-US")} parameters (${(100 * paramsAfter / paramsBefore).toFixed(1)} %).`;

  const subsetFlag = opts.dataSubset !== undefined ? ` --data-subset ${opts.dataSubset}` : "";
  const common = `--task sst-2 --data-dir ${
    shellQuote(dataDir)
  }${subsetFlag} --batch-size ${batchSize} --max-seq-length ${maxLen}`;
  const demoFlags = [
    opts.bert !== undefined ? `--bert ${shellQuote(bertDir)}` : "",
    opts.gpt2 !== undefined ? `--gpt2 ${shellQuote(gpt2Dir)}` : "",
    opts.stories !== undefined ? `--stories ${shellQuote(storiesDir)}` : "",
    opts.dataDir !== undefined ? `--data-dir ${shellQuote(dataDir)}` : "",
    subsetFlag.trim(),
    opts.out !== undefined ? `--out ${shellQuote(out)}` : "",
    opts.batchSize !== undefined ? `--batch-size ${batchSize}` : "",
    opts.maxSeqLength !== undefined ? `--max-seq-length ${maxLen}` : "",
  ].filter(Boolean).join(" ");
  await writeFileAtomic(`${out}/bert_example.inputs.json`, JSON.stringify(bertProbe.inputs) + "\n");
  await writeFileAtomic(`${out}/gpt2_example.inputs.json`, JSON.stringify(gProbe.inputs) + "\n");
  const commands = [
    {
      what: "This whole report (every figure and table):",
      command: `deno task demo${demoFlags ? " " + demoFlags : ""}`,
    },
    {
      what: "Figures 1–3 and the pruning table (BERT importance, entropy, masking curve, masked vs pruned; " +
        "writes head_importance.npy, attn_entropy.npy, head_mask.npy and report.json):",
      command:
        `deno task cli heads --model ${shellQuote(bertDir)} ${common} --try-masking --masking-threshold ${threshold} ` +
        `--masking-amount ${amount} --output-dir ${shellQuote(`${out}/heads-bert`)}`,
    },
    {
      what: "The pruned checkpoint (removes the heads masked in the final mask):",
      command:
        `deno task cli prune --model ${shellQuote(bertDir)} --head-mask ${shellQuote(`${out}/bert_head_mask.json`)} ` +
        `--out ${shellQuote(prunedDir)}`,
    },
    {
      what: "Activation shapes and BERT attention maps (hidden_states.*, attentions.* of the example sentence):",
      command:
        `deno task cli dump --model ${shellQuote(bertDir)} --inputs ${shellQuote(`${out}/bert_example.inputs.json`)} ` +
        `--out ${shellQuote(`${out}/bert_example.safetensors`)}`,
    },
    {
      what: "GPT-2 importance and entropy with the LM loss:",
      command: `deno task cli heads --model ${shellQuote(gpt2Dir)} ${common} --output-dir ${
        shellQuote(`${out}/heads-gpt2`)
      }`,
    },
    {
      what: "GPT-2 attention maps of the example sentence:",
      command:
        `deno task cli dump --model ${shellQuote(gpt2Dir)} --inputs ${shellQuote(`${out}/gpt2_example.inputs.json`)} ` +
        `--out ${shellQuote(`${out}/gpt2_example.safetensors`)}`,
    },
    ...analysisCommands(bertDir, common, opts.udDir ?? "data/ud", opts.dataSubset, out),
    {
      what: "stories260K: the greedy continuation from BOS (llama2.c's documented ids and text):",
      command: `deno task cli generate --model ${shellQuote(storiesDir)} --ids 1 --max-new-tokens 200`,
    },
    {
      what:
        "stories260K: edge attribution patching on the name-swap pair, with the faithfulness of its top-k circuits:",
      command:
        `deno task cli eap --model ${
          shellQuote(storiesDir)
        } --clean "Lily and Tim went to the park. Tim gave the ball to" ` +
        `--corrupted "Lily and Tim went to the park. Lily gave the ball to" --target " Lily" --distractor " Tim" ` +
        `--faithfulness`,
    },
    {
      what: "stories260K: head roles on repeated random tokens:",
      command: `deno task cli head-roles --model ${shellQuote(storiesDir)} --repeat-len 24 --rows 16 --seed 0`,
    },
  ];

  const study = (
    dir: string,
    lm: LoadedModel,
    r: ImportanceStudy,
    d: Dataset,
    p: ReturnType<typeof probe>,
    top: typeof bertTop,
    sentence: string,
  ): ModelStudy => ({
    dir,
    family: lm.model.config.family,
    layers: lm.model.config.layers,
    heads: lm.model.config.heads,
    parameters: lm.model.params.count(),
    examples: d.examples.length,
    loss: r.loss,
    importance: rows(r.importance.data, lm.model.config.layers, lm.model.config.heads),
    entropy: rows(r.entropy.data, lm.model.config.layers, lm.model.config.heads),
    attention: { sentence, tokens: p.tokens, heads: patterns(top, p) },
  });
  const reportPath = `${out}/report.html`, summaryPath = `${out}/summary.json`;
  const summary = await stage("report: figures, report.html and summary.json", async () => {
    const reportData: ReportData = {
      title: "BERTology on SST-2: which attention heads matter?",
      generated: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      dataName: `SST-2 dev, ${data.examples.length} sentences${opts.dataSubset !== undefined ? " (subset)" : ""}`,
      headline: fullHeadline,
      bert: {
        ...study(bertDir, bert, imp, data, bertProbe, bertTop, bertSentence),
        accuracy: devAccuracy,
        shapes: bertProbe.shapes,
        shapesSentence: bertSentence,
        masking: {
          threshold,
          amount,
          originalScore: masking.originalScore,
          finalScore: masking.finalScore,
          fractionMasked,
          headMask: masking.headMask,
          steps: masking.steps.map((st) => ({
            ...st,
            ...(intervals[st.step] ? { interval: intervals[st.step]! } : {}),
            random: baseline[st.step]!,
          })),
          randomMasks,
        },
        pruning: {
          rows: pruning.rows,
          prunedDir,
          headsPruned: pruning.heads,
          timingRuns,
          speedup: pruning.speedup,
        },
        rankStability: stability,
      },
      gpt2: { ...study(gpt2Dir, gpt2, gimp, gdata, gProbe, gptTop, bertSentence), perplexity },
      commands,
      sections,
      timings: [...times],
      analysis,
    };
    await writeFileAtomic(reportPath, reportHtml(reportData));
    const [origRow, maskedRow, prunedRow] = pruning.rows as [PruningRow, PruningRow, PruningRow];
    const s: DemoSummary = {
      headline: fullHeadline,
      data: { task: "sst-2", split: "dev", examples: data.examples.length, data_dir: dataDir },
      bert: {
        model: bertDir,
        layers: L,
        heads: H,
        dev_accuracy: devAccuracy,
        dev_loss: imp.loss,
        hidden_state_shapes: Object.fromEntries(
          bertProbe.shapes.filter((x) => x.hfName.startsWith("hidden")).map((x) => [x.hfName, x.shape]),
        ),
        attention_shapes: Object.fromEntries(
          bertProbe.shapes.filter((x) => x.hfName.startsWith("attentions")).map((x) => [x.hfName, x.shape]),
        ),
        head_importance: rows(imp.importance.data, L, H),
        attn_entropy: rows(imp.entropy.data, L, H),
        masking: {
          threshold,
          amount,
          original_accuracy: masking.originalScore,
          final_accuracy: masking.finalScore,
          heads_masked: headsMasked,
          total_heads: L * H,
          fraction_masked: fractionMasked,
          head_mask: masking.headMask,
          steps: masking.steps.map((st) => ({
            step: st.step,
            accuracy: st.score,
            heads_kept: st.headsKept,
            fraction_kept: st.fractionKept,
            masked: st.newlyMasked,
            accuracy_ci: intervals[st.step] ? [intervals[st.step]!.low, intervals[st.step]!.high] : null,
            random_masks: baseline[st.step]!.scores,
          })),
        },
        importance_rank_stability: stability,
        pruning: {
          heads_pruned: pruning.heads,
          params_before: paramsBefore,
          params_after: paramsAfter,
          accuracy_original: origRow.score,
          accuracy_masked: maskedRow.score,
          accuracy_pruned: prunedRow.score,
          seconds_original: origRow.seconds,
          seconds_masked: maskedRow.seconds,
          seconds_pruned: prunedRow.seconds,
          timing_runs: timingRuns,
          seconds_runs: pruning.runs,
          speedup_pruned_vs_masked: pruning.speedup,
          pruned_checkpoint: prunedDir,
        },
        attention_heads: bertTop,
      },
      gpt2: {
        model: gpt2Dir,
        layers: gc.layers,
        heads: gc.heads,
        params: gpt2.model.params.count(),
        dev_loss: gimp.loss,
        perplexity,
        head_importance: rows(gimp.importance.data, gc.layers, gc.heads),
        attn_entropy: rows(gimp.entropy.data, gc.layers, gc.heads),
        attention_heads: gptTop,
      },
      times: {},
      files: { report: reportPath, summary: summaryPath, pruned_checkpoint: prunedDir },
      analysis,
      budget_pruning: budget,
      stories: stories.summary,
      circuits,
    };
    return s;
  });
  for (const t of times) summary.times[t.stage] = Number(t.seconds.toFixed(3));
  summary.times.total = Number(((performance.now() - t0) / 1000).toFixed(3));
  await writeFileAtomic(summaryPath, JSON.stringify(summary, null, 2) + "\n");
  log(`\nStage times:`);
  for (const t of times) log(`  ${t.stage.padEnd(72)} ${t.seconds.toFixed(2).padStart(7)} s`);
  log(`  ${"total".padEnd(72)} ${summary.times.total.toFixed(2).padStart(7)} s`);
  log(`\n${fullHeadline}`);
  log(`wrote ${reportPath}, ${summaryPath} and ${prunedDir}/`);
  return summary;
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(DEMO_HELP);
    Deno.exit(0);
  }
  try {
    await runDemo(parseDemoArgs(args));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`demo: ${e.message}\n\n${DEMO_HELP}`);
      Deno.exit(2);
    }
    console.error(`demo: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
