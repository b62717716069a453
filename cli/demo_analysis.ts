/**
 * The demo's attention-analysis and probing stage on the bundled BERT: Clark et al. (2019)'s head statistics,
 * head distances and MDS map (SST-2 dev, the demo's own batches), syntactic heads on UD EWT dev, and Tenney et
 * al. (2019)'s UPOS and dependency-label probes (train on UD dev, score on UD test) — the numbers behind the
 * report's analysis sections (`report/analysis_sections.ts`), with plain-sentence findings that say what is and
 * is not there.
 *
 * @module
 */

import { ATTENTION_STATS, type AttentionStatName } from "@bertology/core/analysis";
import type { RelationScore, RelationView } from "@bertology/core/analysis";
import type { LoadedModel } from "@bertology/core/models";
import type { Dataset } from "./_dataset.ts";
import { datasetAttentionStats } from "./commands/attention_stats.ts";
import { PROBE_EPOCHS, probeTreebanks, type ProbeTreebanksResult } from "./commands/probe.ts";
import { treebankSyntax } from "./commands/syntax.ts";

/** One relation's row of the syntactic-heads table. */
export interface SyntaxRow {
  relation: string;
  count: number;
  best: RelationScore["best"];
  baseline: RelationScore["baseline"];
}

/** One probing task's curves and scores. */
export type ProbeSummary = Omit<ProbeTreebanksResult, "labels"> & { classes: number };

/** Everything the analysis sections show. */
export interface AnalysisStudy {
  /** The model folder. */
  model: string;
  layers: number;
  heads: number;
  /** Attention statistics over the SST-2 sentences. */
  attention: {
    data: string;
    examples: number;
    /** Each statistic as [layers][heads]. */
    stats: Record<AttentionStatName, number[][]>;
    /** What a head attending uniformly would score on `self`/`next`/`prev`/`cls` (examples / queries). */
    uniform: number;
    /** Mean of ln(n) over queries: the entropy of uniform attention. */
    uniformEntropy: number;
    /** 2-D MDS coordinates of each head, row-major (layer, head). */
    mds: number[][];
  };
  /** Syntactic heads on the treebank. */
  syntax: {
    conllu: string;
    sentences: number;
    skipped: number;
    /** How relations are labelled: UD subtypes apart (`nmod:poss`) or merged into their base relation. */
    relationView: RelationView;
    rows: SyntaxRow[];
    all: SyntaxRow;
  };
  /** Probes. */
  probes: { train: string; test: string; upos: ProbeSummary; deprel: ProbeSummary };
  /** Plain-sentence findings, honest about what is not found. */
  findings: string[];
}

/** Options of {@linkcode runAnalysisStudy}. */
export interface AnalysisStudyOptions {
  /** The folder with `en_ewt-ud-dev.conllu` and `en_ewt-ud-test.conllu` (default `data/ud`). */
  udDir?: string;
  /** Sentences read from each UD file at most (default: all). */
  maxSentences?: number;
  /** Longest encoding (default 128, capped by the model). */
  maxLength?: number;
  /** Probe epochs (default PROBE_EPOCHS, the CLI's). */
  probeEpochs?: number;
  /** Where progress lines go. */
  log?: (line: string) => void;
}

const grid = (a: ArrayLike<number>, L: number, H: number) =>
  Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => a[l * H + h]!));

/**
 * Runs the analysis stage on a loaded BERT and the demo's dataset.
 *
 * @throws {Error} naming a UD file that is missing or malformed
 */
export async function runAnalysisStudy(
  dir: string,
  loaded: LoadedModel,
  data: Dataset,
  opts: AnalysisStudyOptions = {},
): Promise<AnalysisStudy> {
  const { model } = loaded, tokenizer = loaded.tokenizer!;
  const { layers: L, heads: H } = model.config;
  const log = opts.log ?? (() => {});
  const udDir = (opts.udDir ?? "data/ud").replace(/\/+$/, "");
  const maxLength = Math.min(opts.maxLength ?? 128, model.config.maxPositions);
  const train = `${udDir}/en_ewt-ud-dev.conllu`, test = `${udDir}/en_ewt-ud-test.conllu`;

  const a = datasetAttentionStats(model, tokenizer, data, { wordLevel: false, maxLength });
  let lnSum = 0;
  for (const { batch } of data.batches) {
    for (let b = 0; b < batch.batchSize; b++) {
      let n = 0;
      for (let t = 0; t < batch.seqLen; t++) n += batch.attentionMask?.[b * batch.seqLen + t] ?? 1;
      lnSum += n * Math.log(n);
    }
  }
  const attention = {
    data: data.name,
    examples: a.examples,
    stats: Object.fromEntries(ATTENTION_STATS.map((k) => [k, grid(a.stats[k], L, H)])) as Record<
      AttentionStatName,
      number[][]
    >,
    uniform: a.examples / a.queries,
    uniformEntropy: lnSum / a.queries,
    mds: a.mds,
  };
  log(
    `attention statistics over ${a.examples} sentences; a uniform head would put ${
      attention.uniform.toFixed(3)
    } on each`,
  );

  const syn = await treebankSyntax(model, tokenizer, train, {
    maxSentences: opts.maxSentences,
    maxLength,
    batchSize: 8,
  });
  const row = (relation: string, r: RelationScore): SyntaxRow => ({
    relation,
    count: r.count,
    best: r.best,
    baseline: r.baseline,
  });
  const syntax = {
    conllu: train,
    sentences: syn.sentences,
    skipped: syn.skipped,
    relationView: syn.relationView,
    rows: Object.entries(syn.result.relations).map(([k, v]) => row(k, v)),
    all: row("all", syn.result.all),
  };
  log(`syntactic heads over ${syn.sentences} UD sentences (${syn.skipped} too long)`);

  const both = await probeTreebanks(model, tokenizer, train, test, ["upos", "deprel"], {
    maxLength,
    epochs: opts.probeEpochs ?? PROBE_EPOCHS,
    ...(opts.maxSentences !== undefined ? { maxSentences: opts.maxSentences } : {}),
  });
  const summary = (task: "upos" | "deprel"): ProbeSummary => {
    const { labels, ...r } = both[task];
    log(
      `${task} probe: layer accuracy ${r.layerAccuracy.map((x) => x.toFixed(3)).join(" ")}, mix ${
        r.mixAccuracy.toFixed(3)
      }, E_s ${r.centerOfGravity.toFixed(2)}`,
    );
    return { ...r, classes: labels.length };
  };
  const probes = { train, test, upos: summary("upos"), deprel: summary("deprel") };
  return { model: dir, layers: L, heads: H, attention, syntax, probes, findings: findings(attention, syntax, probes) };
}

/** Sentences that state what the numbers show, including what they do not. */
function findings(
  att: AnalysisStudy["attention"],
  syn: AnalysisStudy["syntax"],
  probes: AnalysisStudy["probes"],
): string[] {
  const H = att.stats.self[0]!.length;
  const best = (k: AttentionStatName, sign = 1) => {
    let at = 0, v = -Infinity;
    att.stats[k].flat().forEach((x, i) => {
      if (sign * x > v) [v, at] = [sign * x, i];
    });
    return { head: `${Math.floor(at / H)}.${at % H}`, value: sign * v };
  };
  const out: string[] = [];
  const parts = (["self", "next", "prev", "cls", "sep", "punct"] as const).map((k) => {
    const b = best(k);
    return `${k} ${b.head} (${(100 * b.value).toFixed(1)} %)`;
  });
  out.push(
    `Most focused head per target: ${parts.join(", ")}; a head attending uniformly puts ${
      (100 * att.uniform).toFixed(1)
    } % on any one token, so ${
      best("self").value < 2 * att.uniform && best("next").value < 2 * att.uniform &&
        best("prev").value < 2 * att.uniform
        ? "no head specialises in position (self, next or previous token) the way Clark et al. find for BERT-base"
        : "some heads specialise in position"
    }.`,
  );
  const lowE = best("entropy", -1);
  out.push(
    `Mean row entropy ranges down to ${lowE.value.toFixed(2)} nats (head ${lowE.head}) against ${
      att.uniformEntropy.toFixed(2)
    } for uniform attention.`,
  );
  const frequent = syn.rows.filter((r) => r.count >= 100);
  const beating = frequent.filter((r) => r.best.accuracy > r.baseline.accuracy);
  out.push(
    `Syntactic heads: of the ${frequent.length} relations seen at least 100 times, ${beating.length} ${
      beating.length === 1 ? "has" : "have"
    } a head ` +
      `beating the fixed-offset baseline${beating.length ? ` (${beating.map((r) => r.relation).join(", ")})` : ""}; ` +
      `over all relations the best head (${syn.all.best.layer}.${syn.all.best.head}, ${syn.all.best.direction}) is ` +
      `right ${(100 * syn.all.best.accuracy).toFixed(1)} % of the time against ${
        (100 * syn.all.baseline.accuracy).toFixed(1)
      } % for the offset ${syn.all.baseline.offset > 0 ? "+" : ""}${syn.all.baseline.offset}.`,
  );
  for (const [task, p] of [["UPOS", probes.upos], ["dependency labels", probes.deprel]] as const) {
    const top = p.layerAccuracy.indexOf(Math.max(...p.layerAccuracy));
    const gain = p.delta.reduce((s, d) => s + d, 0);
    out.push(
      `${task}: the best single layer is ${top} (${(100 * p.layerAccuracy[top]!).toFixed(1)} %, layers 0…${
        p.layerAccuracy.length - 1
      }: ${p.layerAccuracy.map((x) => (100 * x).toFixed(1)).join(" / ")} %); the scalar mix reaches ${
        (100 * p.mixAccuracy).toFixed(1)
      } % with centre of gravity E_s = ${p.centerOfGravity.toFixed(2)}; ${
        gain < 0.01
          ? `layers 1…${p.delta.length - 1} add ${(100 * gain).toFixed(2)} points over layer 0 in all, so E_Δ ${
            p.expectedLayer === null ? "is undefined" : `(${p.expectedLayer.toFixed(2)}) is noise`
          } and this model's blocks add nothing a linear probe can use for this task`
          : p.delta.some((d) => d < 0)
          ? `E_Δ = ${
            p.expectedLayer?.toFixed(2) ?? "undefined"
          } is meaningless here: some Δ(ℓ) are negative (layers that lose accuracy), so Δ is no distribution over layers`
          : `expected layer E_Δ = ${p.expectedLayer?.toFixed(2) ?? "undefined"}`
      }.`,
    );
  }
  return out;
}

const quote = (s: string) => (/^[\w./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The CLI commands that reproduce the analysis sections.
 *
 * @param bertDir The model folder.
 * @param dataFlags The demo's SST-2 flags (`--task … --data-dir … --batch-size … --max-seq-length …`).
 * @param udDir The UD folder.
 * @param maxSentences The UD sentence cap, if any.
 * @param out The demo's output folder.
 * @returns One `{ what, command }` per figure group.
 */
export function analysisCommands(
  bertDir: string,
  dataFlags: string,
  udDir: string,
  maxSentences: number | undefined,
  out: string,
): Array<{ what: string; command: string }> {
  const m = quote(bertDir), ud = udDir.replace(/\/+$/, "");
  const cap = maxSentences !== undefined ? ` --max-sentences ${maxSentences}` : "";
  const probe = (task: string) =>
    `deno task cli probe --model ${m} --train ${quote(`${ud}/en_ewt-ud-dev.conllu`)} --test ${
      quote(`${ud}/en_ewt-ud-test.conllu`)
    } --task ${task}${cap} --output-dir ${quote(`${out}/probe-${task}`)}`;
  return [
    {
      what: "What the heads attend to (attention statistics, JS distances, MDS map; writes attention_stats.json):",
      command: `deno task cli attention-stats --model ${m} ${dataFlags} --output-dir ${
        quote(`${out}/attention-stats`)
      }`,
    },
    {
      what: "Syntactic heads (writes syntax.json):",
      command: `deno task cli syntax --model ${m} --conllu ${quote(`${ud}/en_ewt-ud-dev.conllu`)}${cap} --output-dir ${
        quote(`${out}/syntax`)
      }`,
    },
    { what: "Layer probing (UPOS probes; writes probe.json):", command: probe("upos") },
    { what: "Layer probing (dependency-label probes; writes probe.json):", command: probe("deprel") },
  ];
}
