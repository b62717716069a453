/**
 * The report's analysis sections: what each head attends to (Clark et al. 2019: statistic heatmaps, a head
 * behaviour table, the MDS map of Jensen–Shannon distances), the syntactic-heads table, and the probing
 * curves (Tenney et al. 2019). A pure function of an {@linkcode AnalysisStudy}.
 *
 * @module
 */

import type { AttentionStatName } from "@bertology/core/analysis";
import type { AnalysisStudy } from "../demo_analysis.ts";
import { viridis } from "./color.ts";
import { heatmapSvg } from "./heatmap.ts";
import { lineChartSvg } from "./line_chart.ts";
import { markerBox, placeLabel } from "./label_layout.ts";
import { escapeXml, fmtNum, niceTicks, px } from "./svg.ts";

const LABELS: Record<AttentionStatName, string> = {
  self: "the token itself",
  next: "the next token",
  prev: "the previous token",
  cls: "[CLS]",
  sep: "[SEP]",
  punct: "“.” and “,”",
  entropy: "row entropy (nats)",
  cls_entropy: "[CLS] row entropy (nats)",
};

function fig(id: string, svg: string, caption: string): string {
  return `<figure id="${escapeXml(id)}">\n${svg}\n<figcaption>${caption}</figcaption>\n</figure>`;
}

function simpleTable(head: string[], rows: string[][], id: string): string {
  const num = (c: string) => /^[-+]?[\d.]+( %)?$/.test(c);
  return `<table class="booktabs" id="${id}"><thead><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead><tbody>\n${
    rows.map((r) => `<tr>${r.map((c) => `<td${num(c) ? ` class="num"` : ""}>${c}</td>`).join("")}</tr>`).join("\n")
  }\n</tbody></table>`;
}

/**
 * A scatter plot of the heads' MDS coordinates, coloured by layer and labelled `layer.head`.
 *
 * @param mds One [x, y] per head, row-major (layer, head).
 * @param layers Layers.
 * @param heads Heads per layer.
 * @returns The SVG.
 *
 * @example Usage
 * ```ts
 * import { mdsScatterSvg } from "./analysis_sections.ts";
 * mdsScatterSvg([[0, 0], [1, 1]], 1, 2).startsWith("<svg"); // true
 * ```
 */
export function mdsScatterSvg(mds: number[][], layers: number, heads: number): string {
  const W = 520, Hh = 440, m = { left: 56, right: 110, top: 34, bottom: 44 };
  const pw = W - m.left - m.right, ph = Hh - m.top - m.bottom;
  const xs = mds.map((p) => p[0] ?? 0), ys = mds.map((p) => p[1] ?? 0);
  const span = (v: number[]): [number, number] => {
    const lo = Math.min(...v), hi = Math.max(...v), d = (hi - lo) * 0.08 || 1e-3;
    return [lo - d, hi + d];
  };
  const [x0, x1] = span(xs), [y0, y1] = span(ys);
  const sx = (x: number) => m.left + (pw * (x - x0)) / (x1 - x0);
  const sy = (y: number) => m.top + ph * (1 - (y - y0) / (y1 - y0));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="figure scatter" width="${W}" height="${Hh}" viewBox="0 0 ${W} ${Hh}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="11" role="img" aria-label="MDS map of attention heads">`,
    `<title>MDS map of attention heads</title>`,
    `<text x="${
      (m.left + pw / 2).toFixed(0)
    }" y="18" text-anchor="middle" font-size="14" font-weight="bold">Heads by behaviour (MDS of JS distances)</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#000" stroke-width="0.8"/>`,
  ];
  for (const v of niceTicks(x0, x1, 5).filter((v) => v >= x0 && v <= x1)) {
    parts.push(`<text x="${px(sx(v))}" y="${m.top + ph + 16}" text-anchor="middle">${escapeXml(fmtNum(v, 2))}</text>`);
  }
  for (const v of niceTicks(y0, y1, 5).filter((v) => v >= y0 && v <= y1)) {
    parts.push(`<text x="${m.left - 6}" y="${px(sy(v) + 4)}" text-anchor="end">${escapeXml(fmtNum(v, 2))}</text>`);
  }
  parts.push(`<text x="${m.left + pw / 2}" y="${Hh - 8}" text-anchor="middle" font-size="12">MDS axis 1</text>`);
  parts.push(
    `<text transform="translate(14 ${
      m.top + ph / 2
    }) rotate(-90)" text-anchor="middle" font-size="12">MDS axis 2</text>`,
  );
  const color = (l: number) => viridis(layers > 1 ? l / (layers - 1) : 0.5);
  const at = mds.map((p) => [sx(p[0] ?? 0), sy(p[1] ?? 0)] as const);
  // labels go where they cover no other label or marker (heads that attend alike sit on top of each other)
  const taken = at.map(([x, y]) => markerBox(x, y, 5));
  const frame = { x0: m.left, y0: m.top, x1: m.left + pw, y1: m.top + ph };
  at.forEach(([x, y], i) => {
    const l = Math.floor(i / heads), h = i % heads;
    parts.push(
      `<circle cx="${px(x)}" cy="${px(y)}" r="5" fill="${
        color(l)
      }" stroke="#000" stroke-width="0.5"><title>head ${l}.${h}</title></circle>`,
    );
  });
  at.forEach(([x, y], i) => {
    const label = `${Math.floor(i / heads)}.${i % heads}`;
    const placed = placeLabel(x, y, 5, label, 10, taken, frame);
    taken.push(placed.box);
    parts.push(
      `<text x="${px(placed.x)}" y="${px(placed.y)}" text-anchor="${placed.anchor}" font-size="10">${label}</text>`,
    );
  });
  for (let l = 0; l < layers; l++) {
    const y = m.top + 10 + l * 18;
    parts.push(
      `<circle cx="${W - m.right + 20}" cy="${y}" r="5" fill="${color(l)}" stroke="#000" stroke-width="0.5"/>`,
    );
    parts.push(`<text x="${W - m.right + 30}" y="${y + 4}">layer ${l}</text>`);
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}

/**
 * The three analysis sections (numbered from `first`).
 *
 * @param a The study.
 * @param first The number of the first section.
 * @returns HTML: `<section id="analysis-heads">`, `<section id="analysis-syntax">`, `<section id="analysis-probing">`.
 *
 * @example Usage
 * ```ts ignore
 * const html = analysisSectionsHtml(study, 10);
 * ```
 */
export function analysisSectionsHtml(a: AnalysisStudy, first: number): string {
  const { layers: L, heads: H } = a;
  const att = a.attention;
  const maps = (["self", "next", "prev", "cls", "sep", "punct", "entropy"] as const).map((k) =>
    fig(
      `analysis-${k}`,
      heatmapSvg({
        id: `analysis-heat-${k}`,
        title: k === "entropy" ? "Mean row entropy" : `Attention on ${LABELS[k]}`,
        data: att.stats[k].flat(),
        rows: L,
        cols: H,
        rowLabel: "layer",
        colLabel: "head",
        legendLabel: k === "entropy" ? "nats" : "mean mass",
        cell: 26,
        ...(k === "entropy"
          ? {}
          : { domain: [0, Math.max(2 * att.uniform, ...att.stats[k].flat())] as [number, number] }),
      }),
      k === "entropy"
        ? `Mean entropy of each head's attention rows; uniform attention over these sentences gives ${
          att.uniformEntropy.toFixed(2)
        } nats.`
        : `Mean attention mass on ${escapeXml(LABELS[k])}; a uniform head gives ${(100 * att.uniform).toFixed(1)} %.`,
    )
  );
  const behaviour: string[][] = [];
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const cells = (["self", "next", "prev", "cls", "sep", "punct"] as const).map((k) => att.stats[k][l]![h]!);
      const top = cells.indexOf(Math.max(...cells));
      behaviour.push([
        `${l}.${h}`,
        ...cells.map((v) => (100 * v).toFixed(1)),
        att.stats.entropy[l]![h]!.toFixed(2),
        att.stats.cls_entropy[l]![h]!.toFixed(2),
        `${["self", "next", "prev", "[CLS]", "[SEP]", "punct"][top]} (${
          (cells[top]! / att.uniform).toFixed(1)
        }× uniform)`,
      ]);
    }
  }
  const syn = a.syntax;
  const synRows = [...syn.rows.filter((r) => r.count >= 50), syn.all].map((r) => [
    r === syn.all ? "<b>all</b>" : escapeXml(r.relation),
    String(r.count),
    `${r.best.layer}.${r.best.head}`,
    escapeXml(r.best.direction),
    (100 * r.best.accuracy).toFixed(1),
    (100 * r.baseline.accuracy).toFixed(1),
    `${r.baseline.offset > 0 ? "+" : ""}${r.baseline.offset}`,
    r.best.accuracy > r.baseline.accuracy ? "head" : "baseline",
  ]);
  const p = a.probes;
  const layersX = (v: number[]) => v.map((y, l) => [l, y] as [number, number]);
  const curves = lineChartSvg({
    id: "analysis-probe-curves",
    title: "Probe accuracy by layer (UD EWT test)",
    xLabel: "layer (0 = embeddings)",
    yLabel: "accuracy",
    // the mix of layers 0…ℓ can equal the single layer (at ℓ = 0 always): dashed, with hollow markers of another
    // shape, so that neither line hides the other
    series: [
      { name: "UPOS, single layer", points: layersX(p.upos.layerAccuracy), color: "#0072b2", marker: "circle" },
      {
        name: "UPOS, mix of layers 0…ℓ",
        points: layersX(p.upos.cumulativeAccuracy),
        color: "#56b4e9",
        marker: "square",
        dash: "6 3",
        hollow: p.upos.cumulativeAccuracy.map((_, i) => i),
      },
      { name: "deprel, single layer", points: layersX(p.deprel.layerAccuracy), color: "#d55e00", marker: "triangle" },
      {
        name: "deprel, mix of layers 0…ℓ",
        points: layersX(p.deprel.cumulativeAccuracy),
        color: "#e69f00",
        marker: "diamond",
        dash: "6 3",
        hollow: p.deprel.cumulativeAccuracy.map((_, i) => i),
      },
    ],
    xTickFormat: (v) => (Number.isInteger(v) ? String(v) : ""),
  });
  const weights = lineChartSvg({
    id: "analysis-probe-weights",
    title: "Scalar-mix weights s(ℓ)",
    xLabel: "layer (0 = embeddings)",
    yLabel: "s(ℓ)",
    series: [
      { name: "UPOS", points: layersX(p.upos.mixWeights) },
      { name: "deprel", points: layersX(p.deprel.mixWeights) },
    ],
    yDomain: [0, 1],
    xTickFormat: (v) => (Number.isInteger(v) ? String(v) : ""),
  });
  const probeRow = (name: string, r: typeof p.upos) => [
    name,
    String(r.trainExamples),
    String(r.testExamples),
    String(r.classes),
    ...r.layerAccuracy.map((x) => (100 * x).toFixed(1)),
    (100 * r.mixAccuracy).toFixed(1),
    r.gamma.toFixed(2),
    r.centerOfGravity.toFixed(2),
    r.expectedLayer === null ? "–" : r.expectedLayer.toFixed(2),
    (100 * r.delta.slice(1).reduce((s, d) => s + d, 0)).toFixed(2),
  ];
  return `<section id="analysis-heads">
<h2>${first}. BERT: what the heads attend to (Clark et al. 2019)</h2>
<p><code>${escapeXml(a.model)}</code> on ${escapeXml(att.data)} (${att.examples} sentences): for every head, the mean
over all (sentence, query token) pairs of the attention mass on each target, padding excluded.</p>
<ul id="analysis-findings">
${a.findings.map((f) => `<li>${escapeXml(f)}</li>`).join("\n")}
</ul>
<div class="row">
${maps.join("\n")}
</div>
<h3>Head behaviour table</h3>
${
    simpleTable(
      ["head", "self %", "next %", "prev %", "[CLS] %", "[SEP] %", "punct %", "entropy", "[CLS] entropy", "strongest"],
      behaviour,
      "analysis-behaviour",
    )
  }
${
    fig(
      "analysis-mds",
      mdsScatterSvg(att.mds, L, H),
      "Classical MDS of the mean Jensen–Shannon divergence between every pair of heads' attention distributions: heads that attend alike sit close together.",
    )
  }
</section>

<section id="analysis-syntax">
<h2>${first + 1}. BERT: syntactic heads (Clark et al. 2019, section 4.2)</h2>
<p>UD English EWT dev (${syn.sentences} sentences${
    syn.skipped ? `, ${syn.skipped} longer than the model's window left out` : ""
  }), tokenized word by word; word-level attention (to a split word: sum over its pieces; from it: mean). For each
relation (${
    syn.relationView === "subtypes"
      ? "UD subtypes such as nmod:poss, aux:pass and nsubj:pass apart from their base relation, as Clark et al.'s poss, auxpass and nsubjpass are"
      : "UD subtypes merged into their base relation: nmod:poss counted as nmod"
  }), the head whose argmax (special tokens excluded) most often lands on the parent ("dep->parent") or, from the
parent, on the dependent ("parent->dep"), beside the single relative offset most often right. Relations seen at least 50 times.</p>
${
    simpleTable(
      ["relation", "count", "best head", "direction", "accuracy %", "baseline %", "offset", "winner"],
      synRows,
      "analysis-syntax-table",
    )
  }
</section>

<section id="analysis-probing">
<h2>${first + 2}. BERT: layer probing (Tenney et al. 2019)</h2>
<p>Linear softmax probes on each layer's word representations (mean of the word's pieces), trained on UD EWT dev and
scored on UD EWT test: UPOS per word, and dependency labels from dependent ⊕ parent. Scalar-mix probes on layers 0…ℓ give
Δ(ℓ), the accuracy each layer adds, and E_Δ; the mix over every layer gives the weights s(ℓ), γ and the centre of
gravity E_s.</p>
<div class="row">
${
    fig(
      "analysis-probe-accuracy",
      curves,
      "Test accuracy of a probe on each layer alone and of a scalar mix of layers 0…ℓ.",
    )
  }
${fig("analysis-probe-mix", weights, "The full scalar mix's softmax weights over layers.")}
</div>
${
    simpleTable(
      [
        "task",
        "train",
        "test",
        "classes",
        ...p.upos.layerAccuracy.map((_, l) => `layer ${l} %`),
        "mix %",
        "γ",
        "E_s",
        "E_Δ",
        "Σ Δ %",
      ],
      [probeRow("UPOS", p.upos), probeRow("deprel", p.deprel)],
      "analysis-probe-table",
    )
  }
</section>
`;
}
