/**
 * The demo's circuits section: a name-swap prompt pair (Wang et al.'s indirect-object task, in miniature) on
 * a language model — direct logit attribution of every head and MLP, attribution patching beside exact
 * patching, EAP and EAP-IG edge scores on the residual graph and the faithfulness of their top-k circuits —
 * each through `@bertology/core/circuits`, the library a user calls.
 *
 * @module
 */

import {
  attributionPatching,
  directLogitAttribution,
  edgeAttribution,
  edgeNames,
  faithfulnessAtK,
} from "@bertology/core/circuits";
import type { LoadedModel } from "@bertology/core/models";
import { type Tokenizer, wordTokenId } from "@bertology/core/tokenizers";
import { lineChartSvg } from "./report/line_chart.ts";
import { escapeXml, fmtNum } from "./report/svg.ts";

/** A clean and a corrupted prompt of equal length, and the two names m compares. */
export interface NameSwapPair {
  clean: string;
  corrupted: string;
  /** The name m rewards (the indirect object of the clean prompt) and the one it is compared with. */
  target: string;
  distractor: string;
}

/** What the section measured for one model (also in `summary.json`). */
export interface CircuitsSummary {
  model: string;
  pair: NameSwapPair;
  tokens: number;
  /** m = logit[target] − logit[distractor] on the clean and the corrupted prompt. */
  metric_clean: number;
  metric_corrupted: number;
  /** DLA: the parts' sum minus m (≈ 0), and the components with the largest |DLA|. */
  dla_gap: number;
  dla_top: Array<{ name: string; value: number }>;
  /** AtP vs exact patching over every head and MLP. */
  atp_pearson: number;
  atp_top: Array<{ name: string; atp: number; exact: number }>;
  /** EAP (one step) and EAP-IG: the top edges and the faithfulness of the top-k circuits. */
  edges: number;
  eap_top: Array<{ from: string; to: string; path: string; score: number }>;
  faithfulness: Array<{ k: number; eap: number; eap_ig: number }>;
  ig_steps: number;
}

const KS = [5, 10, 20, 50];

/** A name's token as `--target " Lily"` reads it (`wordTokenId`: the word with its leading space), or an error. */
function nameToken(tokenizer: Tokenizer, name: string): number {
  const id = wordTokenId(tokenizer, ` ${name}`);
  if (id === undefined) throw new Error(`"${name}" is not one token of this vocabulary: pick another name`);
  return id;
}

/**
 * Runs the section's methods on one model and pair.
 *
 * @param dir the model folder (for the report)
 * @param lm the loaded language model and its tokenizer
 * @param pair the prompts and names
 * @param igSteps EAP-IG's interpolation steps
 * @returns the summary
 * @throws {Error} for prompts of different lengths, a name that is not one token, or a model the methods refuse
 */
export function circuitsStudy(dir: string, lm: LoadedModel, pair: NameSwapPair, igSteps = 5): CircuitsSummary {
  const { model, tokenizer } = lm;
  if (!tokenizer) throw new Error(`${dir}: the circuits section needs the model's tokenizer`);
  const clean = tokenizer.encode(pair.clean).ids, corrupted = tokenizer.encode(pair.corrupted).ids;
  if (clean.length !== corrupted.length) {
    throw new Error(`${dir}: the prompts encode to ${clean.length} and ${corrupted.length} tokens; they must be equal`);
  }
  const metric = {
    target: nameToken(tokenizer, pair.target),
    distractor: nameToken(tokenizer, pair.distractor),
  };
  const H = model.config.heads;
  const headName = (i: number) => `a${Math.floor(i / H)}.h${i % H}`;

  const dla = directLogitAttribution(model, { inputIds: clean }, metric);
  const parts = [
    { name: "embed", value: dla.embed },
    ...Array.from(dla.heads.data, (value, i) => ({ name: headName(i), value })),
    ...Array.from(dla.mlps, (value, l) => ({ name: `m${l}`, value })),
  ].sort((a, b) => Math.abs(b.value) - Math.abs(a.value));

  const atp = attributionPatching(model, { inputIds: clean }, { inputIds: corrupted }, { ...metric, exact: true });
  const atpRows = [
    ...Array.from(atp.heads.data, (v, i) => ({ name: headName(i), atp: v, exact: atp.exact!.heads.data[i]! })),
    ...Array.from(atp.mlps, (v, l) => ({ name: `m${l}`, atp: v, exact: atp.exact!.mlps[l]! })),
  ].sort((a, b) => Math.abs(b.exact) - Math.abs(a.exact));

  const row = (ids: number[]) => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });
  const cb = row(clean), xb = row(corrupted);
  const eap = edgeAttribution(model, cb, xb, { ...metric, igSteps: 1 });
  const ig = edgeAttribution(model, cb, xb, { ...metric, igSteps });
  const names = edgeNames(eap.graph);
  const order = Array.from(eap.scores.keys()).sort((a, b) => Math.abs(eap.scores[b]!) - Math.abs(eap.scores[a]!));
  const ks = KS.filter((k) => k <= eap.graph.edgeCount);
  const f1 = faithfulnessAtK(model, cb, eap.metric, eap.corrupted, eap.clean.metric, eap.scores, ks);
  const fIg = faithfulnessAtK(model, cb, ig.metric, ig.corrupted, ig.clean.metric, ig.scores, ks);
  return {
    model: dir,
    pair,
    tokens: clean.length,
    metric_clean: atp.metricClean,
    metric_corrupted: atp.metricCorrupted,
    dla_gap: dla.sum - dla.metric,
    dla_top: parts.slice(0, 8).map((p) => ({ name: p.name, value: p.value })),
    atp_pearson: atp.pearson ?? NaN,
    atp_top: atpRows.slice(0, 8),
    edges: eap.graph.edgeCount,
    eap_top: order.slice(0, 10).map((e) => ({ ...names[e]!, score: eap.scores[e]! })),
    faithfulness: ks.map((k, i) => ({ k, eap: f1[i]!.value, eap_ig: fIg[i]!.value })),
    ig_steps: igSteps,
  };
}

/** The report section for the studied models. */
export function circuitsSectionHtml(studies: CircuitsSummary[]): string {
  const blocks = studies.map((s, n) => {
    const rows = (xs: string[][]) =>
      xs.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join("")}</tr>`).join("");
    const chart = lineChartSvg({
      id: `circuits-faithfulness-${n}`,
      title: `${s.model}: faithfulness of the top-k edges`,
      xLabel: "edges in the circuit (k)",
      yLabel: "faithfulness",
      series: [
        { name: "EAP", points: s.faithfulness.map((f) => [f.k, f.eap]) },
        { name: `EAP-IG (${s.ig_steps} steps)`, points: s.faithfulness.map((f) => [f.k, f.eap_ig]) },
      ],
      references: [{ y: 1, label: "the whole model" }],
    });
    return `<h3>${escapeXml(s.model)}</h3>
<p>Clean: “${escapeXml(s.pair.clean)}” · corrupted: “${escapeXml(s.pair.corrupted)}” (${s.tokens} tokens each);
m = logit[“${escapeXml(s.pair.target)}”] − logit[“${escapeXml(s.pair.distractor)}”]: ${fmtNum(s.metric_clean, 3)} clean,
${fmtNum(s.metric_corrupted, 3)} corrupted.</p>
<div class="figs">
<table><caption>Direct logit attribution (the parts sum to m within ${fmtNum(Math.abs(s.dla_gap), 2)})</caption>
<tr><th>component</th><th>DLA</th></tr>${rows(s.dla_top.map((p) => [p.name, fmtNum(p.value, 3)]))}</table>
<table><caption>Attribution patching vs exact patching (Pearson ${
      fmtNum(s.atp_pearson, 3)
    } over every head and MLP)</caption>
<tr><th>component</th><th>AtP</th><th>exact</th></tr>${
      rows(s.atp_top.map((r) => [r.name, fmtNum(r.atp, 3), fmtNum(r.exact, 3)]))
    }</table>
<table><caption>EAP: the top edges of ${s.edges}</caption><tr><th>from</th><th>to</th><th>score</th></tr>${
      rows(s.eap_top.map((e) => [e.from, `${e.to} (${e.path})`, fmtNum(e.score, 4)]))
    }</table>
${chart}
</div>`;
  });
  return `<section id="circuits">
<h2>Circuits: a name-swap prompt pair</h2>
<p>From heads to circuits (<code>@bertology/core/circuits</code>; <code>bertology dla</code>, <code>atp</code>,
<code>eap</code>, <code>acdc</code>): each head's and MLP's direct effect on m, attribution patching (Nanda 2023; one backward
for every head) beside exact patching (one run per head), and edge attribution patching on the residual graph (Syed et
al. 2024; EAP-IG: Hanna et al. 2024), whose top-k
circuits are then really run with every other edge fed its corrupted value (faithfulness 1: the whole model's m; 0:
the corrupted prompt's). The bundled models were not trained on names; what they do with them is what is shown.</p>
${blocks.join("\n")}
</section>`;
}
