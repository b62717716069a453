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
import { encodeTreebank, sentenceUnits } from "@bertology/core/analysis";
import { DTYPE_OPTION, dtypeFlag, openModel, parseFlags, Progress, UsageError, writeFileAtomic } from "../_common.ts";

/** Help text. */
export const SYNTAX_HELP =
  `bertology syntax --model DIR --conllu FILE [--max-sentences N] [--max-seq-length 128] [--batch-size 8]
                --output-dir OUT [--json] [--offline] [--dtype f32|f16]
  Tokenizes every sentence word by word with the model's tokenizer, makes each head's attention word-level (to a
  split word: the sum over its pieces; from it: the mean), and scores, for every UD relation (its universal part:
  nmod:poss counts as nmod) and every head, how often the word the dependent attends to most ([CLS]/[SEP]
  excluded) is its parent ("dep->parent"), and how often the parent's argmax is the dependent ("parent->dep").
  Root attachments are not scored; sentences longer than --max-seq-length pieces are left out and counted.
  Writes OUT/syntax.json: {"relations": {REL: {"count", "best": {"layer", "head", "direction", "accuracy"},
  "baseline": {"offset", "accuracy"}, "per_head": [[L×H]] (the better direction), "per_head_dep_to_parent",
  "per_head_parent_to_dep"}}, "all": {…}}; the baseline is the one relative position (parent − dependent, in
  words) most often right for that relation.`;

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
  opts: { maxSentences?: number | undefined; maxLength: number; batchSize: number },
): Promise<TreebankSyntax> {
  const all = await readConllu(file);
  const tb = encodeTreebank(tokenizer, all.slice(0, opts.maxSentences ?? all.length), opts.maxLength);
  if (tb.sentences.length === 0) throw new Error(`No sentence of ${file} fits in ${opts.maxLength} pieces`);
  const meter = new SyntacticHeadsMeter(model.config.layers, model.config.heads);
  const inputs = tb.encodings.map((e) => ({ ids: e.ids, tokenTypeIds: e.tokenTypeIds, words: e.words }));
  const bar = new Progress("syntax", inputs.length);
  try {
    forEachAttention(model, inputs, (ex, i) => {
      meter.add(ex, sentenceUnits(tb.sentences[i]!, tb.encodings[i]!));
      bar.tick();
    }, { batchSize: opts.batchSize, padId: tokenizer.padId });
  } finally {
    bar.end();
  }
  return { result: meter.result(), sentences: tb.sentences.length, skipped: tb.skipped };
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
    ...DTYPE_OPTION,
  });
  if (!values.model) throw new UsageError("--model is required");
  if (!values.conllu) throw new UsageError("--conllu is required");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const maxSentences = positive(values["max-sentences"], "max-sentences", undefined);
  const batchSize = positive(values["batch-size"], "batch-size", 8)!;
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const t0 = performance.now();
  const { model, tokenizer } = await openModel(values.model, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!tokenizer) throw new Error(`${values.model} has no tokenizer files: syntax needs one`);
  const maxLength = Math.min(positive(values["max-seq-length"], "max-seq-length", 128)!, model.config.maxPositions);
  const tb = await treebankSyntax(model, tokenizer, values.conllu, { maxSentences, maxLength, batchSize });
  const { layers: L, heads: H } = model.config;
  const r = tb.result;
  const out = {
    model: values.model,
    conllu: values.conllu,
    layers: L,
    heads: H,
    sentences: tb.sentences,
    skipped: tb.skipped,
    relations: Object.fromEntries(Object.entries(r.relations).map(([k, v]) => [k, relationJson(v)])),
    all: relationJson(r.all),
    seconds: (performance.now() - t0) / 1000,
  };
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(`${outDir}/syntax.json`, JSON.stringify(out, null, 1) + "\n");
  log(
    `${values.conllu}: ${tb.sentences} sentences${
      tb.skipped ? ` (${tb.skipped} longer than ${maxLength} pieces left out)` : ""
    }`,
  );
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
