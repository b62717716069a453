/**
 * The report's "pruning to a budget" section: dev accuracy against encoder FLOPs for Michel et al.'s head
 * masking and Kwon et al.'s search (heads only; heads and MLP neurons), and a table of each pruned model's
 * measured speed on this engine. The numbers come from `../demo_budget.ts`.
 *
 * @module
 */

import { lineChartSvg } from "./line_chart.ts";
import { escapeXml } from "./svg.ts";

/** Median seconds of the original and of the pruned model over the same passes. */
export interface MeasuredSpeed {
  /** The original model. */
  original: number;
  /** The pruned model. */
  pruned: number;
}

/** One pruned (or masked) model on a curve. */
export interface BudgetPoint {
  /** Its encoder FLOPs as a fraction of the unpruned encoder's. */
  fraction: number;
  /** Dev accuracy. */
  accuracy: number;
  /** Heads kept. */
  heads: number;
  /** MLP neurons kept. */
  neurons: number;
  /** Measured speed, for the models that were pruned and timed. */
  speed?: MeasuredSpeed;
  /** Seconds per stage of Kwon et al.'s pipeline. */
  seconds?: Record<string, number>;
}

/** The whole study. */
export interface BudgetStudy {
  /** The model family. */
  model: string;
  /** The sequence length FLOPs are counted at (the sample's mean). */
  seqLen: number;
  /** The MLPs' share of the encoder's FLOPs (the floor of a heads-only search). */
  mlpShare: number;
  /** Training examples in the Fisher sample. */
  sample: number;
  /** Examples the least-squares tuning used. */
  tuneSample: number;
  /** Timed passes per model. */
  repeats: number;
  /** Dev examples per timed pass. */
  speedExamples: number;
  /** The unpruned model's dev accuracy. */
  originalAccuracy: number;
  /** Michel et al.'s masking steps. */
  michel: BudgetPoint[];
  /** Kwon et al., heads only. */
  kwonHeads: BudgetPoint[];
  /** Kwon et al., heads and neurons. */
  kwonJoint: BudgetPoint[];
}

/**
 * The section's HTML (figure and table).
 *
 * @param s the study
 * @param command the command that reproduces one Kwon point
 * @returns self-contained HTML
 */
export function budgetSectionHtml(s: BudgetStudy, command: string): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  const series = [
    { name: "Michel et al. 2019: iterative head masking", points: s.michel.map((p) => [p.fraction, p.accuracy]) },
    { name: "Kwon et al. 2022: heads only", points: s.kwonHeads.map((p) => [p.fraction, p.accuracy]) },
    { name: "Kwon et al. 2022: heads + MLP neurons", points: s.kwonJoint.map((p) => [p.fraction, p.accuracy]) },
  ].filter((x) => x.points.length > 0) as Array<{ name: string; points: Array<[number, number]> }>;
  const chart = lineChartSvg({
    id: "budget-curve",
    title: "Dev accuracy against encoder FLOPs",
    xLabel: "fraction of the unpruned encoder's FLOPs",
    yLabel: "SST-2 dev accuracy",
    series,
    references: [{ y: s.originalAccuracy - 0.01, label: "unpruned − 1 point" }],
    reverseX: true,
    xTickFormat: (v) => v.toFixed(2),
  });
  const row = (method: string, p: BudgetPoint) =>
    `<tr><td>${escapeXml(method)}</td><td>${pct(p.fraction)}</td><td>${p.heads}</td><td>${p.neurons}</td>` +
    `<td>${p.accuracy.toFixed(4)}</td><td>${
      p.speed
        ? `${p.speed.original.toFixed(3)} → ${p.speed.pruned.toFixed(3)} s (${
          (p.speed.original / p.speed.pruned).toFixed(2)
        }×)`
        : "—"
    }</td></tr>`;
  const rows = [
    ...s.michel.filter((p) => p.speed).map((p) => row("Michel masking, final mask (heads removed)", p)),
    ...s.kwonHeads.map((p) => row("Kwon, heads only", p)),
    ...s.kwonJoint.map((p) => row("Kwon, heads + neurons", p)),
  ];
  return `<section id="budget-pruning">
<h2>Pruning to a budget</h2>
<p>Michel et al.'s masking removes heads, but in this small BERT the MLPs carry ${
    pct(s.mlpShare)
  } of the encoder's FLOPs (at the sample's mean length of ${
    s.seqLen.toFixed(1)
  } tokens), so no head mask can go below that. Kwon et al.'s retraining-free pruning ranks heads <em>and</em> MLP
neurons by their Fisher information (squared mask gradients on ${s.sample} training sentences), keeps the most
important units the FLOPs budget pays for, rearranges the choice within each layer, and refits the kept mask values
by least squares layer by layer (${s.tuneSample} sentences) — no retraining. Every model below was really pruned
and timed on this engine: median of ${s.repeats} interleaved passes over ${s.speedExamples} dev sentences, original
vs pruned, in the same process.</p>
${chart}
<table><thead><tr><th>model</th><th>FLOPs</th><th>heads</th><th>neurons</th><th>dev accuracy</th><th>speed</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>
<p>Reproduce one point (writes the pruned checkpoint, <code>prune_report.json</code> and the masks):</p>
<pre>${escapeXml(command)}</pre>
</section>`;
}
