/// <reference lib="webworker" />
/**
 * The static analyzer's compute worker: core on our WASM kernels in a Web Worker (a pool of kernel workers when
 * the page is cross-origin isolated, one thread otherwise), with no server. It loads a model from picked files or
 * a folder URL, answers the page's API paths through the server's own parsers and compute functions
 * (`web/analyze.ts`, `importance.ts`, `attribute.ts`, `patch.ts`, `circuit.ts`: the same numbers as `bertology` and the server),
 * runs dataset studies as `bertology heads` runs them (`core/studies`), and prunes into checkpoint files.
 *
 * Jobs run one at a time, synchronously; a cancel is the page terminating this worker (`client.ts`).
 *
 * @module
 */

import { checkpointDtype, modelCheckpointFiles, pickedFiles, urlFiles } from "@bertology/core/checkpoint";
import type { ModelFiles } from "@bertology/core/checkpoint";
import { headsFromMask, pruneModel } from "@bertology/core/bertology";
import { type ColumnRef, parseTabular } from "@bertology/core/data";
import { defaultThreads } from "@bertology/core/kernels";
import { checkHeadMask, loadModel, type TransformerModel } from "@bertology/core/models";
import {
  asModelClasses,
  bootstrapInterval,
  buildStudyDataset,
  importanceRankStability,
  type Interval,
  perExampleByDefault,
  randomMaskingBaseline,
  scoreTask,
  studyHeadImportance,
  studyMasking,
  taskSpec,
} from "@bertology/core/studies";
import type { MaskingStep } from "@bertology/core/bertology";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { HttpError } from "../_errors.ts";
import { type Limits, resolveLimits } from "../_limits.ts";
import { Deadline } from "../_queue.ts";
import { backendField } from "../_validate.ts";
import { analyze, parseAnalyzeRequest } from "../analyze.ts";
import { attribute, parseAttributeRequest } from "../attribute.ts";
import { importance, parseImportanceRequest } from "../importance.ts";
import { type ModelSummary, modelSummary } from "../model_summary.ts";
import { parsePatchRequest, patch } from "../patch.ts";
import { circuit, circuitFaithfulness, parseCircuitFaithfulnessRequest, parseCircuitRequest } from "../circuit.ts";
import { generateRoute, parseGenerateRequest } from "../generate.ts";
import { headRolesRoute, parseHeadRolesRequest } from "../head_roles.ts";
import type { FromWorker, LoadResult, Progress, PruneResult, StudyRequest, StudyResult, ToWorker } from "./protocol.ts";

/**
 * The limits in the browser: the server's, except the deadline, the text's length and the tokens (up to the
 * model's positions) — a page computes for its own user, so a long job is the user's choice (they can cancel it)
 * rather than a shared queue's risk.
 */
const BROWSER_LIMITS: Partial<Limits> = { timeoutMs: 24 * 3600_000, maxExamples: 4096, maxTextChars: 100_000 };

interface Loaded {
  model: TransformerModel;
  tokenizer: Tokenizer;
  files: ModelFiles;
  limits: Limits;
  summary: ModelSummary;
}

let loaded: Loaded | undefined;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  (self as unknown as DedicatedWorkerGlobalScope).postMessage(msg, transfer);
}

async function load(id: number, msg: Extract<ToWorker, { type: "load" }>): Promise<LoadResult> {
  const src = msg.source;
  const progress = (p: Progress) => post({ type: "progress", id, progress: p });
  const files = src.kind === "picked" ? pickedFiles(src.files, src.name) : urlFiles(src.url, {
    onProgress: (file, done, total) =>
      progress({
        stage: "download",
        done,
        ...(total !== undefined ? { total } : {}),
        note: `Downloading ${file}: ${(done / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ""} MB`,
      }),
  });
  loaded?.model.kernels.close();
  loaded = undefined;
  const threads = Math.max(1, Math.min(msg.threads, defaultThreads()));
  // loadModel starts the kernel pool without blocking: this worker's own workers start only on its event loop
  const { model, tokenizer } = await loadModel(files, { threads });
  if (!tokenizer) throw new Error(`${files.location}: no tokenizer files`);
  const positions = model.config.maxPositions;
  const limits = resolveLimits({ ...BROWSER_LIMITS, maxTokens: positions }, positions);
  const summary = modelSummary(model, tokenizer, { name: src.name, limits, backends: ["wasm"], browserCompute: false });
  loaded = { model, tokenizer, files, limits, summary };
  return { summary, threads: model.kernels.threads };
}

function need(): Loaded {
  if (!loaded) throw new Error("No model is loaded: pick a folder, give a URL or choose an example first");
  return loaded;
}

/** The page's API paths, answered as the server answers them (its parsers, its compute functions). */
function api(path: string, body: unknown): unknown { // a promise for /api/generate
  const { model, tokenizer, limits, summary } = need();
  const deadline = new Deadline(limits.timeoutMs);
  switch (path) {
    case "/api/model":
      return summary;
    case "/api/analyze":
      backendField(body, summary.backends);
      return analyze(model, tokenizer, parseAnalyzeRequest(body, model, limits), limits, deadline);
    case "/api/importance":
      backendField(body, summary.backends);
      return importance(model, tokenizer, parseImportanceRequest(body, model, limits), limits, deadline);
    case "/api/attribute":
      return attribute(model, tokenizer, parseAttributeRequest(body, model, limits), limits, deadline);
    case "/api/patch":
      return patch(model, tokenizer, parsePatchRequest(body, model, limits), limits, deadline);
    case "/api/circuit":
      return circuit(model, tokenizer, parseCircuitRequest(body, model, limits), limits, deadline);
    case "/api/circuit/faithfulness":
      return circuitFaithfulness(
        model,
        tokenizer,
        parseCircuitFaithfulnessRequest(body, model, limits),
        limits,
        deadline,
      );
    case "/api/generate":
      return generateRoute(model, tokenizer, parseGenerateRequest(body, model, limits), limits, deadline);
    case "/api/head-roles":
      return headRolesRoute(model, tokenizer, parseHeadRolesRequest(body, model, limits), deadline);
    default:
      throw new HttpError(404, "not_found", `The static analyzer has no ${path}`, { field: "path" });
  }
}

const column = (c: string): ColumnRef => (/^\d+$/.test(c) ? Number(c) : c);

function rows(data: ArrayLike<number>, L: number, H: number): number[][] {
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data[l * H + h]!));
}

/** A dataset study, as `bertology heads --data-file F [--try-masking]` runs it (its defaults and normalisations). */
function study(id: number, req: StudyRequest): StudyResult {
  const { model, tokenizer } = need();
  const { layers: L, heads: H } = model.config;
  const parsed = parseTabular(req.text, {
    format: req.format,
    textColumn: column(req.textColumn),
    ...(req.textPairColumn ? { textPairColumn: column(req.textPairColumn) } : {}),
    ...(req.labelColumn ? { labelColumn: column(req.labelColumn) } : {}),
    ...(model.task === "regress" ? { outputMode: "regression" as const } : {}),
    file: "the dataset",
  });
  const classes = model.task === "classify" && req.labelColumn ? asModelClasses(model, parsed, "the dataset") : parsed;
  const data = buildStudyDataset(model, tokenizer, { name: "the dataset", ...classes }, {
    batchSize: req.batchSize ?? 8,
  });
  const n = data.batches.length;
  const progress = (p: Progress) => post({ type: "progress", id, progress: p });
  const norm = { normalizeByLayer: true, normalizeGlobal: true };
  progress({ stage: "importance", done: 0, total: n, note: `Importance: batch 0 of ${n}` });
  const imp = studyHeadImportance(model, data, {
    ...norm,
    onBatch: (done) => progress({ stage: "importance", done, total: n, note: `Importance: batch ${done} of ${n}` }),
  });
  const result: StudyResult = {
    data: `${data.examples.length} examples`,
    examples: data.examples.length,
    metric: imp.metric,
    score: imp.score,
    loss: imp.loss,
    head_importance: rows(imp.importance.data, L, H),
    head_importance_raw: rows(imp.importanceRaw.data, L, H),
    attn_entropy: rows(imp.entropy.data, L, H),
  };
  // the statistics of `bertology heads` with the same defaults and seeds, so the page and the CLI agree
  const count = (v: number | undefined, fallback: number, what: string) => {
    const n = v ?? fallback;
    if (!Number.isInteger(n) || n < 0) throw new Error(`${what} must be a whole number ≥ 0, got ${v}`);
    return n;
  };
  const resamples = count(req.bootstrap, 1000, "The bootstrap resamples");
  const randomMasks = count(req.randomMasks, 3, "The random masks");
  const splits = count(req.stabilitySplits, req.masking ? 5 : 0, "The stability splits");
  if (splits > 0 && n >= 2) {
    progress({ stage: "stability", done: 0, total: splits, note: `Rank stability: ${splits} random half-splits` });
    const st = importanceRankStability(model, data.batches, {
      splits,
      ...norm,
      perExample: perExampleByDefault(data, false),
    });
    result.importance_rank_stability = { splits, spearman: st.spearman, mean: st.mean, min: st.min, max: st.max };
  }
  if (!req.masking) return result;
  const threshold = req.threshold ?? 0.9, amount = req.amount ?? 0.1;
  if (!(threshold > 0 && threshold < 1)) throw new Error(`The masking threshold must be in (0, 1), got ${threshold}`);
  if (!(amount > 0 && amount <= 1)) throw new Error(`The masking amount must be in (0, 1], got ${amount}`);
  const steps: MaskingStep[] = [];
  const intervals: Array<Interval | null> = [];
  const score = scoreTask({ ...taskSpec(model, data), metric: imp.metric });
  const masking = studyMasking(model, data, {
    ...norm,
    threshold,
    amount,
    atLeastHeadsPerLayer: 0,
    rerank: true,
    onStep: (s, pass) => {
      steps.push(s);
      intervals.push(resamples > 0 ? bootstrapInterval(pass, score, { resamples, seed: s.step }) : null);
      progress({
        stage: "masking",
        done: L * H - s.headsKept,
        total: L * H,
        note: `Masking step ${s.step}: ${imp.metric} ${s.score.toFixed(4)}, ${s.headsKept} of ${L * H} heads kept`,
      });
    },
  });
  const random = steps.map((s, i) => {
    if (randomMasks === 0) return null;
    progress({
      stage: "random",
      done: i,
      total: steps.length,
      note: `Random baseline: step ${s.step}, ${randomMasks} masks keeping ${s.headsKept} heads`,
    });
    return randomMaskingBaseline(model, data.batches, score, s.headsKept, { count: randomMasks });
  });
  result.masking = {
    threshold,
    amount,
    original_score: masking.originalScore,
    final_score: masking.finalScore,
    head_mask: masking.headMask.map((r) => [...r]),
    steps: steps.map((s, i) => {
      const ci = intervals[i], r = random[i];
      return {
        step: s.step,
        score: s.score,
        heads_kept: s.headsKept,
        fraction_kept: s.fractionKept,
        masked: s.newlyMasked.map(([l, h]) => [l, h] as [number, number]),
        ...(ci ? { score_ci: [ci.low, ci.high] as [number, number] } : {}),
        ...(r ? { random_masks: { scores: r.scores, mean: r.mean, min: r.min, max: r.max } } : {}),
      };
    }),
  };
  return result;
}

/** Prunes the heads a mask zeroes, as `bertology prune --head-mask` does, into the checkpoint's files. */
async function prune(headMask: number[][]): Promise<PruneResult> {
  const { model, files } = need();
  checkHeadMask(headMask, model.config, "the head mask");
  const heads = headsFromMask(headMask);
  const pruned = pruneModel(model, heads, model.kernels);
  const out = await modelCheckpointFiles(pruned, { dtype: checkpointDtype(model), tokenizerFrom: files });
  return {
    files: out,
    heads_pruned: heads,
    heads_per_layer: pruned.headsPerLayer,
    parameters_before: model.params.count(),
    parameters_after: pruned.params.count(),
  };
}

async function handle(msg: ToWorker): Promise<void> {
  try {
    let result: unknown;
    const transfer: Transferable[] = [];
    if (msg.type === "load") result = await load(msg.id, msg);
    else if (msg.type === "api") result = await api(msg.path, msg.body);
    else if (msg.type === "study") result = study(msg.id, msg.request);
    else {
      const r = await prune(msg.headMask);
      for (const b of Object.values(r.files)) transfer.push(b.buffer as ArrayBuffer);
      result = r;
    }
    post({ type: "done", id: msg.id, result }, transfer);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : undefined;
    post({ type: "error", id: msg.id, message: (err as Error).message, ...(status !== undefined ? { status } : {}) });
  }
}

// one job at a time, in arrival order: a request sent while a model loads waits for it
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  queue = queue.then(() => handle(e.data));
};
