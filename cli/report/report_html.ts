/**
 * The demo's report: one self-contained HTML page (inline CSS and SVG, no script, no network) with the
 * headline result, every figure of the study, the pruning table, stage timings and the commands that
 * reproduce each figure. A pure function of the study's numbers, so it can be tested without a model.
 *
 * @module
 */

import { attentionMapSvg } from "./attention_map.ts";
import { heatmapSvg } from "./heatmap.ts";
import { lineChartSvg } from "./line_chart.ts";
import type { AnalysisStudy } from "../demo_analysis.ts";
import { analysisSectionsHtml } from "./analysis_sections.ts";
import { escapeXml, fmtNum } from "./svg.ts";

/** One attention head's pattern on the example sentence. */
export interface HeadPattern {
  layer: number;
  head: number;
  /** The head's normalised importance. */
  importance: number;
  /** Row-major [query, key] probabilities, tokens² values. */
  weights: number[];
}

/** What the report shows of one model's head study. */
export interface ModelStudy {
  /** The model folder. */
  dir: string;
  family: string;
  layers: number;
  heads: number;
  parameters: number;
  /** Number of dev examples scored. */
  examples: number;
  /** Mean loss over the dev batches. */
  loss: number;
  /** Normalised head importance and mean attention entropy, [layers][heads]. */
  importance: number[][];
  entropy: number[][];
  /** Example sentence, its tokens and the patterns of the chosen heads. */
  attention: { sentence: string; tokens: string[]; heads: HeadPattern[] };
}

/** One step of the masking curve. */
export interface ReportMaskingStep {
  step: number;
  score: number;
  headsKept: number;
  fractionKept: number;
  newlyMasked: Array<[number, number]>;
  /** The score's bootstrap interval over the examples (95 %). */
  interval?: { low: number; high: number } | undefined;
  /** Scores of masks that keep as many heads drawn at random. */
  random?: { mean: number; min: number; max: number; scores: number[] } | undefined;
}

/** One row of the pruning table. */
export interface PruningRow {
  label: string;
  heads: number;
  parameters: number;
  score: number;
  seconds: number;
}

/** Everything the report shows. */
export interface ReportData {
  title: string;
  /** ISO date-time of the run. */
  generated: string;
  /** Dataset description, e.g. "SST-2 dev, 872 sentences". */
  dataName: string;
  /** The headline sentence (the paper's question, answered for this model). */
  headline: string;
  bert: ModelStudy & {
    accuracy: number;
    /** Hidden-state and attention shapes for one example: HF name, our hook name, shape. */
    shapes: Array<{ hfName: string; hook: string; shape: number[] }>;
    shapesSentence: string;
    masking: {
      threshold: number;
      amount: number;
      originalScore: number;
      finalScore: number;
      fractionMasked: number;
      headMask: number[][];
      steps: ReportMaskingStep[];
      /** Random masks scored per step (the baseline's sample size). */
      randomMasks?: number | undefined;
    };
    /** Spearman ρ between the importances of two random halves of the data, per split. */
    rankStability?: { spearman: number[]; mean: number; min: number; max: number } | undefined;
    pruning: {
      rows: PruningRow[];
      prunedDir: string;
      headsPruned: Record<string, number[]>;
      /** Timed passes per model (each row's seconds are their median). */
      timingRuns: number;
      /** Masked seconds / pruned seconds. */
      speedup: number;
    };
  };
  gpt2: ModelStudy & { perplexity: number };
  /** What reproduces what: a description and the exact command. */
  commands: Array<{ what: string; command: string }>;
  /** Seconds per stage. */
  timings: Array<{ stage: string; seconds: number }>;
  /** Further self-contained HTML sections, placed after the GPT-2 study (e.g. `attribution_sections.ts`). */
  sections?: string[];
  /** Attention analysis and probing of the BERT (sections 10–12), when the demo ran them. */
  analysis?: AnalysisStudy;
}

const CSS = `
body { font-family: "Times New Roman", Times, Georgia, serif; color: #111; max-width: 1240px; margin: 2em auto;
  padding: 0 1.5em; line-height: 1.45; background: #fff; }
h1 { font-size: 1.9em; margin-bottom: 0.1em; }
h2 { font-size: 1.35em; border-bottom: 1px solid #bbb; padding-bottom: 0.15em; margin-top: 2em; }
h3 { font-size: 1.1em; }
.meta { color: #555; font-size: 0.95em; }
.headline { font-size: 1.15em; background: #f4f6fa; border-left: 4px solid #0072b2; padding: 0.7em 1em; }
figure { margin: 1em 0; }
figure svg { display: block; }
figcaption { font-size: 0.92em; width: 0; min-width: 100%; color: #222; margin-top: 0.3em; }
figcaption b { font-weight: bold; }
.row { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.row.maps { flex-wrap: nowrap; }
.row.maps figure { flex: 1 1 0; min-width: 0; max-width: 440px; }
.row.maps svg { width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.95em; }
table.booktabs { border-top: 2px solid #000; border-bottom: 2px solid #000; }
table.booktabs thead th { border-bottom: 1px solid #000; }
th, td { padding: 0.25em 0.8em; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono, code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6em 0.8em; overflow-x: auto; white-space: pre-wrap; }
.cmd-what { margin: 0.9em 0 0.2em 0; }
.sentence { font-style: italic; }
`;

let figureNo = 0;

function figure(id: string, svg: string, caption: string): string {
  figureNo++;
  return `<figure id="${
    escapeXml(id)
  }">\n${svg}\n<figcaption><b>Figure ${figureNo}.</b> ${caption}</figcaption>\n</figure>`;
}

const flat = (m: number[][]) => m.flat();
const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)} %`;

function headHeatmaps(key: string, s: ModelStudy, masked: number[] = [], modelName: string): string {
  const outlined = s.attention.heads.map((h) => h.layer * s.heads + h.head);
  const note = masked.length
    ? "× masked in the final mask; red box: shown as attention map below"
    : "red box: shown as attention map below";
  const imp = heatmapSvg({
    id: `${key}-importance-svg`,
    title: `${modelName}: head importance`,
    data: flat(s.importance),
    rows: s.layers,
    cols: s.heads,
    rowLabel: "layer",
    colLabel: "head",
    legendLabel: "importance (normalised)",
    outlined,
    crossed: masked,
    note,
  });
  const ent = heatmapSvg({
    id: `${key}-entropy-svg`,
    title: `${modelName}: attention entropy`,
    data: flat(s.entropy),
    rows: s.layers,
    cols: s.heads,
    rowLabel: "layer",
    colLabel: "head",
    legendLabel: "entropy (nats)",
  });
  return `<div class="row">
${
    figure(
      `${key}-importance`,
      imp,
      `Head importance of ${escapeXml(modelName)} on ${s.examples} dev examples: |∂L/∂ξ<sub>h</sub>| summed over ` +
        `batches and divided by the number of tokens (Michel et al., 2019, eq. 2), each layer L2-normalised, then ` +
        `min-max scaled over all heads.`,
    )
  }
${
    figure(
      `${key}-entropy`,
      ent,
      `Mean attention entropy per token (nats) of each head of ${escapeXml(modelName)}: low values are ` +
        `focused heads, high values attend broadly.`,
    )
  }
</div>`;
}

function attentionFigures(key: string, s: ModelStudy, modelName: string): string {
  const maps = s.attention.heads.map((h, i) =>
    figure(
      `${key}-attention-${i}`,
      attentionMapSvg({
        id: `${key}-attention-svg-${i}`,
        title: `${modelName} layer ${h.layer}, head ${h.head}`,
        tokens: s.attention.tokens,
        weights: h.weights,
        note: `importance ${fmtNum(h.importance)} (rank ${i + 1})`,
      }),
      `Attention of head ${h.layer}.${h.head} (layer.head), rank ${i + 1} by importance. Row i: how much ` +
        `query token i attends to each key token.`,
    )
  );
  return `<p>Example sentence: <span class="sentence">“${escapeXml(s.attention.sentence)}”</span> ` +
    `(${s.attention.tokens.length} tokens).</p>\n<div class="row maps">\n${maps.join("\n")}\n</div>`;
}

function table(head: string[], rows: string[][], cls = "booktabs", id?: string): string {
  // a column is numeric (right-aligned) when every cell of it looks like a number
  const isNum = (c: string) => /^(<b>)?[-+]?[\d.,]+(e[-+]?\d+)?( %| → [\d.,]+| \(.*\))?(<\/b>)?$/.test(c) || c === "–";
  const numeric = head.map((_, j) => rows.length > 0 && rows.every((r) => isNum(r[j] ?? "")));
  const cell = (tag: string, c: string, j: number) => `<${tag}${numeric[j] ? ` class="num"` : ""}>${c}</${tag}>`;
  return `<table class="${cls}"${id ? ` id="${id}"` : ""}><thead><tr>${
    head.map((h, j) => cell("th", h, j)).join("")
  }</tr></thead><tbody>\n${
    rows.map((r) => `<tr>${r.map((c, j) => cell("td", c, j)).join("")}</tr>`).join("\n")
  }\n</tbody></table>`;
}

/**
 * Builds the whole report page.
 *
 * @example Usage
 * ```ts ignore
 * const html = reportHtml(data);
 * await Deno.writeTextFile("out/demo/report.html", html);
 * ```
 */
export function reportHtml(d: ReportData): string {
  figureNo = 0;
  const b = d.bert, g = d.gpt2, mk = b.masking;
  const maskedIdx = mk.headMask.flat().map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0);
  const steps = mk.steps;
  const below = steps.findIndex((s, i) => i > 0 && s.score < mk.threshold * mk.originalScore);
  const curve = lineChartSvg({
    id: "bert-masking-svg",
    title: "Iterative head masking (BERT, SST-2 dev)",
    xLabel: "fraction of heads kept",
    yLabel: "dev accuracy",
    reverseX: true,
    xDomain: [Math.max(0, Math.min(...steps.map((s) => s.fractionKept)) - 0.05), 1.02],
    xTickFormat: (v) => `${Math.round(100 * v)} %`,
    series: [
      {
        name: "masked by importance (band: 95 % bootstrap CI)",
        points: steps.map((s) => [s.fractionKept, s.score]),
        hollow: below >= 0 ? [below] : [],
        pointLabels: below >= 0 ? { [below]: "below threshold" } : {},
        ...(steps.every((s) => s.interval)
          ? { band: steps.map((s) => [s.fractionKept, s.interval!.low, s.interval!.high] as [number, number, number]) }
          : {}),
      },
      ...(steps.every((s) => s.random)
        ? [{
          name: `masked at random (mean of ${mk.randomMasks ?? steps[0]!.random!.scores.length}; band: min–max)`,
          points: steps.map((s) => [s.fractionKept, s.random!.mean] as [number, number]),
          band: steps.map((s) => [s.fractionKept, s.random!.min, s.random!.max] as [number, number, number]),
          color: "#777",
          dash: "5 3",
        }]
        : []),
    ],
    verticals: [{
      x: 1 - mk.fractionMasked,
      label: `final mask: ${pct(1 - mk.fractionMasked)} of heads kept`,
    }],
    references: [{
      y: mk.threshold * mk.originalScore,
      label: `${Math.round(100 * mk.threshold)} % of original (${fmtNum(mk.threshold * mk.originalScore)})`,
      color: "#d55e00",
    }],
  });
  const withCi = steps.every((s) => s.interval), withRandom = steps.every((s) => s.random);
  const stepRows = steps.map((s) => [
    String(s.step),
    `${s.headsKept}`,
    pct(s.fractionKept),
    fmtNum(s.score, 4),
    ...(withCi ? [`${s.interval!.low.toFixed(3)}–${s.interval!.high.toFixed(3)}`] : []),
    ...(withRandom ? [`${s.random!.mean.toFixed(3)} (${s.random!.min.toFixed(3)}–${s.random!.max.toFixed(3)})`] : []),
    `${s.score >= mk.threshold * mk.originalScore ? "yes" : "no"}`,
    `<span class="mono">${s.newlyMasked.map(([l, h]) => `${l}.${h}`).join(" ") || "–"}</span>`,
  ]);
  const finalStep = steps.filter((s) => s.score >= mk.threshold * mk.originalScore).at(-1);
  const rs = b.rankStability;
  const statistics = [
    finalStep?.interval && finalStep.random
      ? `At the final mask (${finalStep.headsKept} heads kept) accuracy is ${
        fmtNum(finalStep.score, 4)
      } (95 % bootstrap ` +
        `interval over the ${b.examples} dev sentences ${finalStep.interval.low.toFixed(3)}–${
          finalStep.interval.high.toFixed(3)
        }); ${finalStep.random.scores.length} masks keeping as many heads drawn at random reach ${
          finalStep.random.mean.toFixed(3)
        } on average (${finalStep.random.min.toFixed(3)}–${finalStep.random.max.toFixed(3)}), ${
          finalStep.random.max < finalStep.interval.low
            ? "every one below the interval: the importance ranking beats random choice here"
            : finalStep.random.mean < finalStep.interval.low
            ? "below the interval on average, the best within it: the ranking helps at this sparsity"
            : "within the interval: at this sparsity random choice is about as good, as Budhraja et al. (2020) found"
        }.`
      : "",
    rs
      ? `The importance ranking's stability: Spearman ρ between the importances measured on two random halves of the dev ` +
        `batches is ${rs.mean.toFixed(3)} on average (${rs.min.toFixed(3)}–${
          rs.max.toFixed(3)
        } over ${rs.spearman.length} splits).`
      : "",
  ].filter((x) => x !== "").join(" ");
  const pr = b.pruning.rows;
  const pruneRows = pr.map((r) => [
    escapeXml(r.label),
    String(r.heads),
    r.parameters.toLocaleString("en-US"),
    `${pct(r.parameters / pr[0]!.parameters)}`,
    fmtNum(r.score, 4),
    r.seconds.toFixed(3),
    `${pct(r.seconds / pr[0]!.seconds, 0)}`,
  ]);
  const shapeRows = b.shapes.map((s) => [
    `<span class="mono">${escapeXml(s.hfName)}</span>`,
    `<span class="mono">${escapeXml(s.hook)}</span>`,
    `<span class="mono">[${s.shape.join(", ")}]</span>`,
  ]);
  const total = d.timings.reduce((a, t) => a + t.seconds, 0);
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeXml(d.title)}</h1>
<p class="meta">Generated ${escapeXml(d.generated)} · data: ${escapeXml(d.dataName)} · BERT: <code>${
    escapeXml(b.dir)
  }</code> · GPT-2: <code>${escapeXml(g.dir)}</code> · total ${total.toFixed(1)} s</p>
<p class="headline" id="headline">${escapeXml(d.headline)}</p>
</header>

<section id="summary">
<h2>1. Summary</h2>
${
    table(
      ["quantity", "value"],
      [
        ["BERT dev accuracy (SST-2)", fmtNum(b.accuracy, 4)],
        ["BERT dev loss", fmtNum(b.loss, 4)],
        ["BERT heads (layers × heads)", `${b.layers * b.heads} (${b.layers} × ${b.heads})`],
        [
          `heads masked at ≥ ${Math.round(100 * mk.threshold)} % of accuracy`,
          `${maskedIdx.length} (${pct(mk.fractionMasked)})`,
        ],
        ["accuracy with those heads masked", fmtNum(mk.finalScore, 4)],
        [
          "BERT parameters before → after pruning",
          `${pr[0]!.parameters.toLocaleString("en-US")} → ${pr[pr.length - 1]!.parameters.toLocaleString("en-US")}`,
        ],
        ["GPT-2 dev perplexity (SST-2 sentences)", fmtNum(g.perplexity, 4)],
        ["GPT-2 dev loss (nats/token)", fmtNum(g.loss, 4)],
      ],
      "booktabs",
      "summary-table",
    )
  }
</section>

<section id="bert-shapes">
<h2>2. BERT: activations of one example</h2>
<p>BERT <code>${escapeXml(b.dir)}</code> (${b.layers} layers × ${b.heads} heads, ${
    b.parameters.toLocaleString("en-US")
  } parameters) classifies the ${b.examples} SST-2 dev sentences with accuracy <b>${
    fmtNum(b.accuracy, 4)
  }</b>. Shapes of the hidden states and attentions it returns for the sentence <span class="sentence">“${
    escapeXml(b.shapesSentence)
  }”</span>:</p>
${table(["HF output", "hook name", "shape"], shapeRows, "booktabs", "shapes-table")}
</section>

<section id="bert-importance">
<h2>3. BERT: head importance and attention entropy</h2>
${headHeatmaps("bert", b, maskedIdx, "BERT")}
</section>

<section id="bert-masking">
<h2>4. BERT: iterative head masking</h2>
<p>Starting from all heads, the ${
    pct(mk.amount, 0)
  } least important remaining heads are masked at each step and importance is re-measured, until dev accuracy falls below ${
    Math.round(100 * mk.threshold)
  } % of the original (${
    fmtNum(mk.originalScore, 4)
  }). The last mask above the threshold masks <b>${maskedIdx.length} of ${b.layers * b.heads} heads (${
    pct(mk.fractionMasked)
  })</b> with accuracy ${fmtNum(mk.finalScore, 4)}.</p>
${statistics ? `<p id="masking-statistics">${escapeXml(statistics)}</p>` : ""}
<div class="row">
${
    figure(
      "bert-masking-curve",
      curve,
      `Dev accuracy versus fraction of heads kept while masking heads by importance (${
        pct(mk.amount, 0)
      } per step). Dashed: ${Math.round(100 * mk.threshold)} % of the unmasked accuracy. ${
        below >= 0 ? "Hollow marker: the step that fell below it (not kept)." : ""
      }${withCi ? " Shaded: the 95 % bootstrap interval of each step over the dev sentences." : ""}${
        withRandom
          ? " Grey, dashed: the same number of heads masked at random (mean; shaded: lowest to highest of the masks)."
          : ""
      }`,
    )
  }
<div>
${
    table(
      [
        "step",
        "heads kept",
        "fraction kept",
        "accuracy",
        ...(withCi ? ["95 % CI"] : []),
        ...(withRandom ? ["random masks"] : []),
        "≥ threshold",
        "masked (layer.head)",
      ],
      stepRows,
      "booktabs",
      "masking-table",
    )
  }
</div>
</div>
</section>

<section id="bert-attention">
<h2>5. BERT: attention maps of the most important heads</h2>
${attentionFigures("bert", b, "BERT")}
</section>

<section id="bert-pruning">
<h2>6. BERT: pruning the masked heads</h2>
<p>The ${maskedIdx.length} masked heads are removed from the weights (query, key and value rows and the output projection's columns); the pruned checkpoint is saved in <code>${
    escapeXml(b.pruning.prunedDir)
  }</code>. Forward time is the median of ${b.pruning.timingRuns} pass${
    b.pruning.timingRuns === 1 ? "" : "es"
  } over the ${b.examples} dev sentences on this machine (WASM SIMD kernels; the models' passes interleaved): the pruned model ran <strong>${
    b.pruning.speedup.toFixed(2)
  }× as fast</strong> as the masked one.</p>
${
    table(
      ["model", "heads", "parameters", "relative size", "dev accuracy", "forward time (s)", "relative time"],
      pruneRows,
      "booktabs",
      "pruning-table",
    )
  }
<p class="meta">Heads pruned (layer: heads): <code>${escapeXml(JSON.stringify(b.pruning.headsPruned))}</code></p>
</section>

<section id="gpt2-study">
<h2>7. GPT-2: head importance with the language-model loss</h2>
<p>GPT-2 <code>${escapeXml(g.dir)}</code> (${g.layers} layers × ${g.heads} heads, ${
    g.parameters.toLocaleString("en-US")
  } parameters) on the same ${g.examples} SST-2 dev sentences: next-token loss ${
    fmtNum(g.loss, 4)
  } nats, perplexity <b>${
    fmtNum(g.perplexity, 4)
  }</b>. Importance is the gradient of this loss with respect to the head mask.</p>
<div id="gpt2-importance">
${headHeatmaps("gpt2", g, [], "GPT-2")}
</div>
<h3 id="gpt2-attention">Attention maps (causal: each token attends only to itself and earlier tokens)</h3>
${attentionFigures("gpt2", g, "GPT-2")}
</section>

${(d.sections ?? []).join("\n")}
${d.analysis ? analysisSectionsHtml(d.analysis, 0) : ""}

<section id="timings">
<h2>8. Timings</h2>
${
    table(
      ["stage", "seconds"],
      [...d.timings.map((t) => [escapeXml(t.stage), t.seconds.toFixed(2)]), [
        "<b>total</b>",
        `<b>${total.toFixed(2)}</b>`,
      ]],
      "booktabs",
      "timings-table",
    )
  }
</section>

<section id="reproduce">
<h2>9. Reproduce</h2>
<p>Every number and figure above comes from these commands, run from the repository root.</p>
${
    d.commands.map((c) =>
      `<p class="cmd-what">${escapeXml(c.what)}</p>\n<pre><code>${escapeXml(c.command)}</code></pre>`
    ).join("\n")
  }
</section>
<footer><p class="meta">References: ${REFERENCES.join(" ")} Self-contained page: no scripts, no network.</p></footer>
</body>
</html>
`;
  return numberSections(html);
}

/** Every work the report cites, in the footer's order. */
export const REFERENCES = [
  "S. Abnar, W. Zuidema. <i>Quantifying Attention Flow in Transformers</i>. ACL 2020.",
  "A. Budhraja, M. Pandey, B. Ravindran, M. M. Khapra. <i>On the Weak Link between Importance and Prunability of Attention Heads</i>. EMNLP 2020.",
  "R. Eldan, Y. Li. <i>TinyStories: How Small Can Language Models Be and Still Speak Coherent English?</i> arXiv 2023.",
  "N. Elhage, N. Nanda, C. Olsson et al. <i>A Mathematical Framework for Transformer Circuits</i>. Transformer Circuits Thread 2021.",
  "M. Hanna, S. Pezzelle, Y. Belinkov. <i>Have Faith in Faithfulness: Going Beyond Circuit Overlap When Finding Model Mechanisms</i>. COLM 2024.",
  "A. Karpathy. <i>llama2.c</i> (stories260K). GitHub 2023.",
  "K. Clark, U. Khandelwal, O. Levy, C. D. Manning. <i>What Does BERT Look At? An Analysis of BERT’s Attention</i>. BlackboxNLP 2019.",
  "W. Kwon, S. Kim, M. W. Mahoney, J. Hassoun, K. Keutzer, A. Gholami. <i>A Fast Post-Training Pruning Framework for Transformers</i>. NeurIPS 2022.",
  "P. Michel, O. Levy, G. Neubig. <i>Are Sixteen Heads Really Better than One?</i> NeurIPS 2019.",
  "N. Nanda. <i>Attribution Patching: Activation Patching At Industrial Scale</i>. 2023.",
  "nostalgebraist. <i>interpreting GPT: the logit lens</i>. LessWrong 2020.",
  "C. Olsson, N. Elhage, N. Nanda et al. <i>In-context Learning and Induction Heads</i>. Transformer Circuits Thread 2022.",
  "A. Rogers, O. Kovaleva, A. Rumshisky. <i>A Primer in BERTology</i>. TACL 2020.",
  "A. Syed, C. Rager, A. Conmy. <i>Attribution Patching Outperforms Automated Circuit Discovery</i>. BlackboxNLP 2024.",
  "M. Sundararajan, A. Taly, Q. Yan. <i>Axiomatic Attribution for Deep Networks</i>. ICML 2017.",
  "I. Tenney, D. Das, E. Pavlick. <i>BERT Rediscovers the Classical NLP Pipeline</i>. ACL 2019.",
  "K. Wang, A. Variengien, A. Conmy, B. Shlegeris, J. Steinhardt. <i>Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small</i>. ICLR 2023.",
];

/**
 * Numbers the report's sections 1, 2, … in the order they appear (a section's own number, if it brought one, is
 * replaced), so that sections added by other modules never leave a gap or a repeat.
 */
export function numberSections(html: string): string {
  let n = 0;
  return html.replace(/<h2>(?:\d+\. )?/g, () => `<h2>${++n}. `);
}
