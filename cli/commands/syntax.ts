/**
 * `bertology syntax`: Clark et al. (2019)'s syntactic heads on a CoNLL-U treebank — for each dependency
 * relation, the head (and direction) whose word-level attention argmax most often lands on the parent (or
 * dependent), beside the best fixed-offset baseline → `OUT/syntax.json`.
 *
 * @module
 */

import { forEachAttention } from "@bertology/core/analysis";
import { readConllu } from "@bertology/core/analysis/read-conllu";
import { type RelationScore, type SyntacticHeads, SyntacticHeadsMeter } from "@bertology/core/analysis";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { encodeTreebank, type RelationView, sentenceUnits } from "@bertology/core/analysis";
import {
  DTYPE_OPTION,
  dtypeFlag,
  localSources,
  openModel,
  parseFlags,
  Progress,
  UsageError,
  writeFileAtomic,
} from "../_common.ts";
import type { SyntacticHeadsSums } from "@bertology/core/analysis";
import {
  canonicalJson,
  digestParts,
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
export const SYNTAX_HELP =
  `bertology syntax --model DIR --conllu FILE [--max-sentences N] [--max-seq-length 128] [--batch-size 8]
                [--merge-subtypes] [--shard I/N | --shards N|auto] --output-dir OUT [--json] [--offline]
                [--dtype f32|f16]
  Tokenizes every sentence word by word with the model's tokenizer, makes each head's attention word-level (to a
  split word: the sum over its pieces; from it: the mean), and scores, for every UD relation and every head, how
  often the word the dependent attends to most ([CLS]/[SEP] excluded) is its parent ("dep->parent"), and how
  often the parent's argmax is the dependent ("parent->dep"). Relation subtypes are relations of their own
  (nmod:poss, aux:pass, nsubj:pass, compound:prt, obl:tmod … apart from nmod, aux, nsubj, …), as Clark et al.'s
  poss, auxpass and nsubjpass are.
  Root attachments are not scored; sentences longer than --max-seq-length pieces are left out and counted.
  --merge-subtypes    count each relation under its universal part instead (nmod:poss as nmod, aux:pass as aux)
  Writes OUT/syntax.json: {"relation_view": "subtypes"|"merged", "relations": {REL: {"count", "best": {"layer",
  "head", "direction", "accuracy"}, "baseline": {"offset", "accuracy"}, "per_head": [[L×H]] (the better
  direction), "per_head_dep_to_parent", "per_head_parent_to_dep"}}, "all": {…}}; the baseline is the one
  relative position (parent − dependent, in words) most often right for that relation.
  Sharded (the bucketed batches of sentences split round-robin; \`bertology merge OUT --output-dir M\` writes
  M/syntax.json; each shard records its relation view, and merge refuses shards of both views):
${SHARD_HELP}`;

/** The files syntax (and its merge) writes. */
export const SYNTAX_OUTPUTS = ["syntax.json"];

/** A positive integer flag, or the fallback. */
function positive(value: string | undefined, flag: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** A relation's scores in the JSON's snake_case. */
function relationJson(r: RelationScore) {
  return {
    count: r.count,
    best: r.best,
    baseline: r.baseline,
    per_head: r.perHead,
    per_head_dep_to_parent: r.perHeadDepToParent,
    per_head_parent_to_dep: r.perHeadParentToDep,
  };
}

/** What {@linkcode treebankSyntax} found. */
export interface TreebankSyntax {
  /** The scores. */
  result: SyntacticHeads;
  /** Sentences scored. */
  sentences: number;
  /** Sentences left out (longer than the limit). */
  skipped: number;
  /** How the relations were labelled. */
  relationView: RelationView;
}

/**
 * Scores every head on a CoNLL-U file (shared by the command and the demo report).
 *
 * @throws {Error} naming the file when it cannot be read or parsed, or when no sentence fits
 */
export async function treebankSyntax(
  model: TransformerModel,
  tokenizer: Tokenizer,
  file: string,
  opts: {
    maxSentences?: number | undefined;
    maxLength: number;
    batchSize: number;
    /** Default `"subtypes"`: `nmod:poss` apart from `nmod`. */
    relationView?: RelationView | undefined;
  },
): Promise<TreebankSyntax> {
  const tb = await readTreebank(tokenizer, file, opts);
  const relationView = opts.relationView ?? "subtypes";
  const { meter } = measureSyntax(model, tokenizer, tb, opts.batchSize, relationView, undefined);
  return { result: meter.result(), sentences: tb.sentences.length, skipped: tb.skipped, relationView };
}

/** Reads and encodes the treebank's sentences word by word. */
async function readTreebank(
  tokenizer: Tokenizer,
  file: string,
  opts: { maxSentences?: number | undefined; maxLength: number },
): Promise<ReturnType<typeof encodeTreebank>> {
  const all = await readConllu(file);
  const tb = encodeTreebank(tokenizer, all.slice(0, opts.maxSentences ?? all.length), opts.maxLength);
  if (tb.sentences.length === 0) throw new Error(`No sentence of ${file} fits in ${opts.maxLength} pieces`);
  return tb;
}

/** Scores the heads on the sentences (those of one shard when given). */
function measureSyntax(
  model: TransformerModel,
  tokenizer: Tokenizer,
  tb: ReturnType<typeof encodeTreebank>,
  batchSize: number,
  relationView: RelationView,
  shard: Shard | undefined,
): { meter: SyntacticHeadsMeter; covered: number[] } {
  const meter = new SyntacticHeadsMeter(model.config.layers, model.config.heads);
  const inputs = tb.encodings.map((e) => ({ ids: e.ids, tokenTypeIds: e.tokenTypeIds, words: e.words }));
  const covered: number[] = [];
  const bar = new Progress("syntax", inputs.length);
  try {
    forEachAttention(model, inputs, (ex, i) => {
      meter.add(ex, sentenceUnits(tb.sentences[i]!, tb.encodings[i]!, relationView));
      covered.push(i);
      bar.tick();
    }, { batchSize, padId: tokenizer.padId, shard });
  } finally {
    bar.end();
  }
  return { meter, covered: covered.sort((a, b) => a - b) };
}

/** The header of syntax.json, and the context every shard of a sharded run records. */
interface SyntaxContext {
  model: string;
  conllu: string;
  layers: number;
  heads: number;
  sentences: number;
  skipped: number;
  /** How the relations are labelled. */
  relation_view: RelationView;
}

/** A view in words, for messages. */
const VIEW_WORDS: Record<RelationView, string> = {
  subtypes: "UD relation subtypes kept apart (nmod:poss, aux:pass, … as relations of their own)",
  merged: "UD relation subtypes merged into their base relation (--merge-subtypes: nmod:poss counted as nmod)",
};

/**
 * The relation view a syntax shard recorded. Partial results written before syntax kept subtypes apart record
 * none: that code always merged them, so theirs is `"merged"`.
 *
 * @throws {Error} naming the file when the recorded view is neither
 */
function shardRelationView({ file, partial }: ShardFile): RelationView {
  const v = partial.context.relation_view;
  if (v === undefined) return "merged";
  if (v !== "subtypes" && v !== "merged") {
    throw new Error(`${file}: context field "relation_view" must be "subtypes" or "merged", got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Refuses syntax shards that counted relations in different views (run before the shard set's own checks, so
 * the message says what differs in words; such shards also differ in their fingerprints).
 *
 * @param shards The shards read, in any order.
 * @throws {Error} naming two shards of different views
 */
export function checkSyntaxShards(shards: readonly ShardFile[]): void {
  const first = shards[0]!, view = shardRelationView(first);
  for (const s of shards.slice(1)) {
    const other = shardRelationView(s);
    if (other !== view) {
      const legacy = (x: ShardFile) =>
        x.partial.context.relation_view === undefined ? " (it was written before syntax kept subtypes apart)" : "";
      throw new Error(
        `Refusing to merge ${s.file} with ${first.file}: ${s.file} counts ${VIEW_WORDS[other]}${legacy(s)}, ` +
          `${first.file} counts ${VIEW_WORDS[view]}${legacy(first)}; one syntax.json holds one view — rerun ` +
          `the odd shards ${view === "merged" ? "with" : "without"} --merge-subtypes`,
      );
    }
  }
}

/**
 * Merges the shards of a syntax study into syntax.json, as one run writes it.
 *
 * @param shards The shards, checked and in order.
 * @param log Prints a line.
 * @returns The file.
 * @throws {Error} when the shards counted relations in different views, or a shard's sums are malformed
 */
export function mergeSyntaxShards(shards: readonly ShardFile[], log: (s: string) => void): Record<string, string> {
  checkSyntaxShards(shards);
  const c = { ...shards[0]!.partial.context, relation_view: shardRelationView(shards[0]!) } as SyntaxContext;
  const meter = new SyntacticHeadsMeter(c.layers, c.heads);
  for (const { file, partial } of shards) {
    const s = partial.sums as unknown as SyntacticHeadsSums;
    if (typeof s.all !== "object" || typeof s.relations !== "object") {
      throw new Error(`${file}: sums must hold "all" and "relations" counts`);
    }
    meter.addSums(s);
  }
  const r = meter.result();
  log(`relations: ${VIEW_WORDS[c.relation_view]}`);
  log(syntaxTable(r.relations, r.all));
  return {
    "syntax.json": JSON.stringify(syntaxJson(c, r, shards.reduce((a, s) => a + s.partial.seconds, 0)), null, 1) +
      "\n",
  };
}

/** syntax.json's contents. */
function syntaxJson(
  c: SyntaxContext,
  r: SyntacticHeads,
  seconds: number,
) {
  return {
    ...c,
    relations: Object.fromEntries(Object.entries(r.relations).map(([k, v]) => [k, relationJson(v)])),
    all: relationJson(r.all),
    seconds,
  };
}

/** Runs the command; returns the exit code. */
export async function syntaxCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    conllu: { type: "string" },
    "max-sentences": { type: "string" },
    "max-seq-length": { type: "string" },
    "batch-size": { type: "string" },
    "output-dir": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    "merge-subtypes": { type: "boolean" },
    ...DTYPE_OPTION,
    ...SHARD_FLAGS,
    force: { type: "boolean" },
  });
  if (!values.model) throw new UsageError("--model is required");
  if (!values.conllu) throw new UsageError("--conllu is required");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const shard = commandShard(values);
  const maxSentences = positive(values["max-sentences"], "max-sentences", undefined);
  const batchSize = positive(values["batch-size"], "batch-size", 8)!;
  const relationView: RelationView = values["merge-subtypes"] ? "merged" : "subtypes";
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: syntax needs one`);
  const maxLength = Math.min(positive(values["max-seq-length"], "max-seq-length", 128)!, model.config.maxPositions);
  const { layers: L, heads: H } = model.config;
  if (shard) {
    const treebank = await readTreebank(tokenizer, values.conllu, { maxSentences, maxLength });
    const inputs = {
      // the view is written out even by default, so that a shard of the code that always merged subtypes (whose
      // settings lack it) never passes for a shard of this run
      settings: { ...studySettings(values), "merge-subtypes": relationView === "merged" },
      model: await modelFingerprint(model),
      data: await digestParts(treebank.sentences.map((s, i) => canonicalJson([s, treebank.encodings[i]]))),
    };
    const folder = shardFolder(outDir, shard);
    const header = { study: "syntax", inputs, shard };
    const probe = await makePartial({ ...header, units: { total: 0, covered: [] }, seconds: 0, context: {}, sums: {} });
    if (await shardAlreadyDone(folder, probe)) {
      log(`${folder}/${PARTIAL_FILE} is already there from this run: shard ${shard.index} of ${shard.count} is done`);
      return 0;
    }
    const m = measureSyntax(model, tokenizer, treebank, batchSize, relationView, shard);
    const context: SyntaxContext = {
      model: values.model,
      conllu: values.conllu,
      layers: L,
      heads: H,
      sentences: treebank.sentences.length,
      skipped: treebank.skipped,
      relation_view: relationView,
    };
    const partial = await makePartial({
      ...header,
      units: { total: treebank.sentences.length, covered: m.covered },
      seconds: (performance.now() - t0) / 1000,
      context: { ...context },
      sums: m.meter.sums() as unknown as Record<string, unknown>,
    });
    await writeShardPartial(folder, partial, {
      sources: localSources(values.model, values.conllu),
      force: values.force,
    });
    log(`wrote ${folder}/${PARTIAL_FILE}: ${m.covered.length} of ${treebank.sentences.length} sentences`);
    return 0;
  }
  const tb = await treebankSyntax(model, tokenizer, values.conllu, {
    maxSentences,
    maxLength,
    batchSize,
    relationView,
  });
  const r = tb.result;
  const out = syntaxJson(
    {
      model: values.model,
      conllu: values.conllu,
      layers: L,
      heads: H,
      sentences: tb.sentences,
      skipped: tb.skipped,
      relation_view: relationView,
    },
    r,
    (performance.now() - t0) / 1000,
  );
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(`${outDir}/syntax.json`, JSON.stringify(out, null, 1) + "\n");
  log(
    `${values.conllu}: ${tb.sentences} sentences${
      tb.skipped ? ` (${tb.skipped} longer than ${maxLength} pieces left out)` : ""
    }`,
  );
  log(`relations: ${VIEW_WORDS[relationView]}`);
  log(syntaxTable(r.relations, r.all));
  log(`Wrote ${outDir}/syntax.json (${out.seconds.toFixed(1)} s)`);
  if (values.json) console.log(JSON.stringify(out));
  return 0;
}

/** The readable table: relation, count, best head and direction, its accuracy, the baseline. */
export function syntaxTable(relations: Record<string, RelationScore>, all: RelationScore): string {
  const lines = [["relation", "count", "best head", "direction", "accuracy", "baseline", "offset"]];
  for (const [k, v] of [...Object.entries(relations), ["all", all] as const]) {
    lines.push([
      k,
      String(v.count),
      `${v.best.layer}.${v.best.head}`,
      v.best.direction,
      v.best.accuracy.toFixed(3),
      v.baseline.accuracy.toFixed(3),
      (v.baseline.offset > 0 ? "+" : "") + v.baseline.offset,
    ]);
  }
  const w = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join("  ")).join("\n");
}
