/**
 * `bertology attention-stats`: Clark et al. (2019)'s per-head attention statistics over a dataset (self,
 * next, prev, [CLS], [SEP], punctuation, entropy, [CLS] entropy), the Jensen–Shannon distances between all
 * heads and their 2-D MDS map → `OUT/attention_stats.json`.
 *
 * @module
 */

import { type AttentionInput, forEachAttention } from "@bertology/core/analysis";
import { ATTENTION_STATS, type AttentionStats, AttentionStatsMeter, type UnitFlags } from "@bertology/core/analysis";
import { HeadDistanceMeter } from "@bertology/core/analysis";
import { classicalMds } from "@bertology/core/analysis";
import { encodeWords, separatorIds } from "@bertology/core/analysis";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
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
import {
  canonicalJson,
  decodeCount,
  decodeFloats,
  digestParts,
  encodeFloats,
  makePartial,
  modelFingerprint,
  PARTIAL_FILE,
  type Shard,
  type ShardFile,
} from "@bertology/core/studies";
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
export const ATTENTION_STATS_HELP =
  `bertology attention-stats --model DIR (--task sst-2 --data-dir DIR [--split dev] | --data-file F --text-column C
                [--text-pair-column C] [--format csv|tsv|jsonl]) [--data-subset N] [--batch-size 8]
                [--max-seq-length 128] [--word-level] [--shard I/N | --shards N|auto] --output-dir OUT [--json] [--offline]
                [--dtype f32|f16]
  For every head, the mean over all (example, query) pairs of the attention mass on the token itself ("self"), the
  next and previous token, the first token ("cls"), separator tokens ("sep", [SEP]), "." and "," ("punct"); the
  mean row entropy in nats ("entropy") and the mean entropy of the first token's row ("cls_entropy"). Padding never
  counts. --word-level works on whitespace-separated words as Clark et al.'s bpe_utils.py: attention to a split
  word is the sum over its pieces, from a split word the mean over them (examples longer than --max-seq-length
  pieces are then left out and counted). Also the Jensen–Shannon divergence (nats) between every pair of heads,
  averaged over (example, query) pairs, and its classical MDS embedding in 2-D.
  Writes OUT/attention_stats.json: {"layers", "heads", "examples", "word_level", "stats": {"self": [[L×H]], …},
  "js_distance": [[LH×LH]], "mds": [[x, y], …]} with heads in row-major (layer, head) order.
  Sharded (the bucketed batches split round-robin; \`bertology merge OUT --output-dir M\` writes
  M/attention_stats.json):
${SHARD_HELP}`;

/** The files attention-stats (and its merge) writes. */
export const ATTENTION_STATS_OUTPUTS = ["attention_stats.json"];

/** Writes attention_stats.json (created folder, atomic file). */
async function writeAttentionStats(outDir: string, out: unknown): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(`${outDir}/attention_stats.json`, JSON.stringify(out, null, 1) + "\n");
}

/** The [rows × cols] grid of a flat array. */
function grid(a: ArrayLike<number>, cols: number): number[][] {
  return Array.from({ length: a.length / cols }, (_, r) => Array.from({ length: cols }, (_, c) => a[r * cols + c]!));
}

/**
 * Merges the shards of an attention-stats study into attention_stats.json, as one run writes it.
 *
 * @param shards The shards, checked and in order.
 * @param log Prints a line.
 * @returns The file.
 */
export function mergeAttentionStatsShards(
  shards: readonly ShardFile[],
  log: (s: string) => void,
): Record<string, string> {
  const c = shards[0]!.partial.context as {
    model: string;
    data: string;
    layers: number;
    heads: number;
    examples: number;
    skipped: number;
    word_level: boolean;
  };
  const LH = c.layers * c.heads;
  const parts = shards.map(({ file, partial }): AttentionStatsSums => {
    const s = partial.sums as Record<string, unknown>;
    const stats = s.stats as Record<string, unknown>;
    const where = `${file} sums`;
    return {
      stats: {
        sums: Object.fromEntries(
          ATTENTION_STATS.map((k) => [k, decodeFloats(stats?.[k], `${where}.stats.${k}`, LH)]),
        ) as AttentionStats,
        queries: decodeCount(s.stat_queries, `${where}.stat_queries`),
        examples: decodeCount(s.stat_examples, `${where}.stat_examples`),
      },
      distances: {
        sums: decodeFloats(s.js, `${where}.js`, LH * LH),
        queries: decodeCount(s.js_queries, `${where}.js_queries`),
      },
      queries: decodeCount(s.queries, `${where}.queries`),
      covered: partial.units.covered,
    };
  });
  const r = finishAttentionStats(LH, c.examples, c.skipped, parts);
  log(formatTable("Mean row entropy (nats)", r.stats.entropy, c.layers, c.heads, 3));
  const out = {
    model: c.model,
    data: c.data,
    layers: c.layers,
    heads: c.heads,
    examples: r.examples,
    skipped: r.skipped,
    word_level: c.word_level,
    stats: Object.fromEntries(ATTENTION_STATS.map((k) => [k, grid(r.stats[k], c.heads)])),
    js_distance: grid(r.js, LH),
    mds: r.mds,
    seconds: shards.reduce((a, s) => a + s.partial.seconds, 0),
    shards: shards.length,
  };
  return { "attention_stats.json": JSON.stringify(out, null, 1) + "\n" };
}

/** Token- or word-level inputs and their unit flags. */
function analysisInputs(
  tokenizer: Tokenizer,
  rows: { ids: number[]; tokenTypeIds: number[]; textA: string; textB: string | undefined }[],
  wordLevel: boolean,
  maxLength: number,
): { inputs: AttentionInput[]; flags: UnitFlags[]; skipped: number } {
  const sep = separatorIds(tokenizer);
  const punctCache = new Map<number, boolean>();
  const isPunct = (id: number) => {
    let p = punctCache.get(id);
    if (p === undefined) punctCache.set(id, p = [".", ","].includes(tokenizer.decode([id]).trim()));
    return p;
  };
  const inputs: AttentionInput[] = [], flags: UnitFlags[] = [];
  let skipped = 0;
  for (const r of rows) {
    if (!wordLevel) {
      inputs.push({ ids: r.ids, tokenTypeIds: r.tokenTypeIds });
      flags.push({
        sep: Uint8Array.from(r.ids, (id) => (sep.has(id) ? 1 : 0)),
        punct: Uint8Array.from(r.ids, (id) => (isPunct(id) ? 1 : 0)),
      });
      continue;
    }
    const split = (t: string) => t.split(/\s+/).filter((w) => w !== "");
    const e = encodeWords(tokenizer, split(r.textA), r.textB === undefined ? undefined : split(r.textB), { maxLength });
    if (e === undefined) {
      skipped++;
      continue;
    }
    inputs.push({ ids: e.ids, tokenTypeIds: e.tokenTypeIds, words: e.words });
    flags.push({
      sep: Uint8Array.from(e.words, (w) => (w.source < 0 && sep.has(e.ids[w.start]!) ? 1 : 0)),
      punct: Uint8Array.from(e.words, (w) => (w.source >= 0 && [".", ","].includes(w.form) ? 1 : 0)),
    });
  }
  return { inputs, flags, skipped };
}

/** What {@linkcode datasetAttentionStats} measured. */
export interface DatasetAttentionStats {
  /** Examples measured. */
  examples: number;
  /** Examples left out (word level: longer than the limit). */
  skipped: number;
  /** Units (tokens or words) over all examples: the number of (example, query) pairs. */
  queries: number;
  /** Each statistic, [layers · heads]. */
  stats: AttentionStats;
  /** Mean JS divergence, [LH · LH] row-major. */
  js: Float64Array;
  /** The 2-D MDS embedding of `js`. */
  mds: number[][];
}

/**
 * The statistics, head distances and MDS map of a loaded dataset (shared by the command and the demo report).
 *
 * @throws {Error} when no example fits in `maxLength` pieces (word level)
 */
export function datasetAttentionStats(
  model: TransformerModel,
  tokenizer: Tokenizer,
  data: Dataset,
  opts: { wordLevel: boolean; maxLength: number },
): DatasetAttentionStats {
  const prepared = attentionStatsInputs(tokenizer, data, opts);
  const m = measureAttentionStats(model, tokenizer, data, prepared, undefined);
  return finishAttentionStats(model.config.layers * model.config.heads, prepared.inputs.length, prepared.skipped, [m]);
}

/** The examples of an attention-statistics study, as units (tokens or words) with their flags. */
interface AttentionStatsInputs {
  inputs: AttentionInput[];
  flags: UnitFlags[];
  skipped: number;
}

/** The sums of some of a study's examples (one shard's part, or all). */
interface AttentionStatsSums {
  stats: ReturnType<AttentionStatsMeter["sums"]>;
  distances: ReturnType<HeadDistanceMeter["sums"]>;
  queries: number;
  covered: number[];
}

/** Runs the model over the examples (those of one shard when given) and sums the statistics. */
function measureAttentionStats(
  model: TransformerModel,
  tokenizer: Tokenizer,
  data: Dataset,
  prepared: AttentionStatsInputs,
  shard: Shard | undefined,
): AttentionStatsSums {
  const { layers: L, heads: H } = model.config;
  const { inputs, flags } = prepared;
  const meter = new AttentionStatsMeter(L * H), dist = new HeadDistanceMeter(L * H);
  let queries = 0;
  const covered: number[] = [];
  const bar = new Progress("attention-stats", inputs.length);
  try {
    forEachAttention(model, inputs, (ex, k) => {
      meter.add(ex, flags[k]!);
      dist.add(ex);
      queries += ex.n;
      covered.push(k);
      bar.tick();
    }, { batchSize: data.batches[0]?.batch.batchSize ?? 8, padId: tokenizer.padId, shard });
  } finally {
    bar.end();
  }
  return { stats: meter.sums(), distances: dist.sums(), queries, covered };
}

/** Adds the parts' sums (shards in order) and divides once, as a single run does. */
function finishAttentionStats(
  heads: number,
  examples: number,
  skipped: number,
  parts: readonly AttentionStatsSums[],
): DatasetAttentionStats {
  const meter = new AttentionStatsMeter(heads), dist = new HeadDistanceMeter(heads);
  let queries = 0;
  for (const p of parts) {
    meter.addSums(p.stats);
    dist.addSums(p.distances);
    queries += p.queries;
  }
  const js = dist.result();
  return { examples, skipped, queries, stats: meter.result(), js, mds: classicalMds(js, heads) };
}

/** The examples of the dataset, token- or word-level, and their unit flags. */
function attentionStatsInputs(
  tokenizer: Tokenizer,
  data: Dataset,
  opts: { wordLevel: boolean; maxLength: number },
): AttentionStatsInputs {
  // token level: the dataset's own encodings, padding cut off; word level: the texts re-encoded word by word
  // in dataset order: a bucketed batch's rows name their examples
  const rows: { ids: number[]; tokenTypeIds: number[]; textA: string; textB: string | undefined }[] = [];
  let seen = 0;
  for (const { batch, rows: index } of data.batches) {
    for (let b = 0; b < batch.batchSize; b++) {
      const i = index?.[b] ?? seen + b;
      const ids: number[] = [], types: number[] = [];
      for (let t = 0; t < batch.seqLen; t++) {
        const k = b * batch.seqLen + t;
        if (batch.attentionMask && batch.attentionMask[k] === 0) continue;
        ids.push(batch.inputIds[k]!);
        types.push(batch.tokenTypeIds?.[k] ?? 0);
      }
      const ex = data.examples[i]!;
      rows[i] = { ids, tokenTypeIds: types, textA: ex.textA, textB: ex.textB };
    }
    seen += batch.batchSize;
  }
  const prepared = analysisInputs(tokenizer, rows, opts.wordLevel, opts.maxLength);
  if (prepared.inputs.length === 0) throw new Error(`No example of ${data.name} fits in ${opts.maxLength} pieces`);
  return prepared;
}

/** Runs the command; returns the exit code. */
export async function attentionStatsCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    ...DATA_FLAGS,
    "word-level": { type: "boolean" },
    "output-dir": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
    ...SHARD_FLAGS,
    force: { type: "boolean" },
  });
  if (!values.model) throw new UsageError("--model is required");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const shard = commandShard(values);
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: attention-stats needs one`);
  const data = await loadDataset(values, model, tokenizer);
  const { layers: L, heads: H } = model.config;
  const wordLevel = values["word-level"] === true;
  const maxLength = Math.min(Number(values["max-seq-length"] ?? 128), model.config.maxPositions);
  if (shard) {
    const prepared = attentionStatsInputs(tokenizer, data, { wordLevel, maxLength });
    const inputs = {
      settings: studySettings(values),
      model: await modelFingerprint(model),
      data: await digestParts(
        prepared.inputs.map((x, k) =>
          canonicalJson([x, Array.from(prepared.flags[k]!.sep), Array.from(prepared.flags[k]!.punct)])
        ),
      ),
    };
    const folder = shardFolder(outDir, shard);
    const header = { study: "attention-stats", inputs, shard };
    const probe = await makePartial({ ...header, units: { total: 0, covered: [] }, seconds: 0, context: {}, sums: {} });
    if (await shardAlreadyDone(folder, probe)) {
      log(`${folder}/${PARTIAL_FILE} is already there from this run: shard ${shard.index} of ${shard.count} is done`);
      return 0;
    }
    const m = measureAttentionStats(model, tokenizer, data, prepared, shard);
    const context = {
      model: values.model,
      data: data.name,
      layers: L,
      heads: H,
      examples: prepared.inputs.length,
      skipped: prepared.skipped,
      word_level: wordLevel,
    };
    const partial = await makePartial({
      ...header,
      units: { total: prepared.inputs.length, covered: m.covered.sort((a, b) => a - b) },
      seconds: (performance.now() - t0) / 1000,
      context,
      sums: {
        stats: Object.fromEntries(ATTENTION_STATS.map((k) => [k, encodeFloats(m.stats.sums[k])])),
        stat_queries: m.stats.queries,
        stat_examples: m.stats.examples,
        js: encodeFloats(m.distances.sums),
        js_queries: m.distances.queries,
        queries: m.queries,
      },
    });
    await writeShardPartial(folder, partial, {
      sources: localSources(values.model, values["data-file"], values["data-dir"]),
      force: values.force,
    });
    log(`wrote ${folder}/${PARTIAL_FILE}: ${m.covered.length} of ${prepared.inputs.length} examples`);
    return 0;
  }
  const r = datasetAttentionStats(model, tokenizer, data, { wordLevel, maxLength });
  const s = r.stats;

  const out = {
    model: values.model,
    data: data.name,
    layers: L,
    heads: H,
    examples: r.examples,
    skipped: r.skipped,
    word_level: wordLevel,
    stats: Object.fromEntries(ATTENTION_STATS.map((k) => [k, grid(s[k], H)])),
    js_distance: grid(r.js, L * H),
    mds: r.mds,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeAttentionStats(outDir, out);
  log(
    `${data.name}: ${r.examples} examples${
      r.skipped ? ` (${r.skipped} longer than ${maxLength} pieces left out)` : ""
    }, ${wordLevel ? "word" : "token"} level`,
  );
  for (const k of ["self", "next", "prev", "cls", "sep", "punct"] as const) {
    log(formatTable(`Mean attention on ${k}`, s[k], L, H, 3));
  }
  log(formatTable("Mean row entropy (nats)", s.entropy, L, H, 3));
  log(`Wrote ${outDir}/attention_stats.json (${out.seconds.toFixed(1)} s)`);
  if (values.json) console.log(JSON.stringify(out));
  return 0;
}
