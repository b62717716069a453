/// <reference lib="dom" />
/**
 * The page's study views: the sentence's tokens (or words) coloured by an attribution — saliency, gradient ×
 * input, integrated gradients from `/api/attribute`, or rollout and flow computed here from the attention maps
 * — the per-head statistics of the sentence (Clark et al.) as a heatmap and a table, and the helpers the
 * patching panel draws with.
 *
 * @module
 */

import { attentionGraphScores } from "./attention_graph.ts";
import { drawHeatmap } from "./draw.ts";
import type { AnalyzeResponse, AttributeResponse, HeadStats } from "./types.ts";

/** Every method of the attribution strip: three from the API, two computed in the page. */
export const STRIP_METHODS = [
  { id: "saliency", label: "Saliency", api: true },
  { id: "grad-input", label: "Grad × input", api: true },
  { id: "ig", label: "Integrated gradients", api: true },
  { id: "rollout", label: "Rollout", api: false },
  { id: "flow", label: "Flow", api: false },
] as const;

/** One method of the strip. */
export type StripMethod = typeof STRIP_METHODS[number]["id"];

/** What the strip shows: one score per unit, and what they mean. */
export interface StripScores {
  /** Unit strings (tokens, or words). */
  units: string[];
  /** One score per unit. */
  scores: number[];
  /** Whether the scores take both signs (gradient × input, integrated gradients). */
  signed: boolean;
  /** One line under the strip. */
  note: string;
  /** A unit to outline (the output position of rollout and flow). */
  outline?: number;
}

/**
 * The token scores of a strip method, summed to words when `words` is given.
 *
 * @param a the analysis
 * @param layers the model's layer count
 * @param method the method
 * @param attribution the `/api/attribute` answer for an API method
 * @param words word spans (`word_level.words`) to sum over, or `undefined` for tokens
 * @returns the scores, or a reason they are missing
 * @example Usage
 * ```ts ignore
 * stripScores(analysis, 4, "rollout", undefined, undefined);
 * ```
 */
export function stripScores(
  a: AnalyzeResponse,
  layers: number,
  method: StripMethod,
  attribution: AttributeResponse | undefined,
  words: { text: string; start: number; end: number }[] | undefined,
): StripScores | string {
  let scores: number[], note: string, signed = false, outline: number | undefined;
  if (method === "rollout" || method === "flow") {
    const r = attentionGraphScores(a, layers, method);
    if (r === undefined) return "Rollout and flow need the attention maps of every layer.";
    scores = r.scores;
    outline = r.position;
    note = `${method === "rollout" ? "Rollout" : "Flow"} to token ${r.position} (${a.tokens[r.position]}).`;
  } else {
    if (attribution === undefined) return "Not computed for this view.";
    scores = attribution.scores;
    signed = method !== "saliency";
    note = `${
      method === "saliency"
        ? "‖∂logit/∂embedding‖"
        : method === "ig"
        ? "Integrated gradients"
        : "∂logit/∂embedding · embedding"
    } for “${attribution.target_name}”` +
      (attribution.completeness_gap === undefined
        ? "."
        : `; completeness gap ${(100 * attribution.completeness_gap).toFixed(2)} %.`) +
      (signed ? " Orange: for, blue: against." : "");
  }
  let units = a.tokens.map((t) => t.replace(/^Ġ/, ""));
  if (words) {
    units = words.map((w) => w.text);
    scores = words.map((w) => scores.slice(w.start, w.end).reduce((s, v) => s + v, 0));
    if (outline !== undefined) outline = words.findIndex((w) => w.start <= outline! && outline! < w.end);
  }
  return { units, scores, signed, note, ...(outline === undefined ? {} : { outline }) };
}

/**
 * Draws the strip: one span per unit, its background the score's size (orange; blue for a negative score).
 *
 * @param strip the container (its content is replaced)
 * @param s the scores
 * @example Usage
 * ```ts ignore
 * drawStrip(document.getElementById("attribution-strip")!, stripScores(...));
 * ```
 */
export function drawStrip(strip: HTMLElement, s: StripScores): void {
  const max = Math.max(1e-12, ...s.scores.map(Math.abs));
  const spans: (Node | string)[] = [];
  s.units.forEach((u, i) => {
    const v = s.scores[i]!;
    const span = document.createElement("span");
    span.textContent = u;
    span.title = `${u}: ${v.toPrecision(4)}`;
    span.dataset.score = String(v);
    const alpha = (Math.abs(v) / max).toFixed(3);
    span.style.background = v < 0 ? `rgba(30, 110, 220, ${alpha})` : `rgba(230, 120, 20, ${alpha})`;
    if (i === s.outline) span.className = "output";
    spans.push(span, " ");
  });
  strip.replaceChildren(...spans);
}

/** The statistics' names and what they measure, in table order. */
export const STAT_NAMES: { id: keyof HeadStats; label: string }[] = [
  { id: "self", label: "self" },
  { id: "next", label: "next" },
  { id: "prev", label: "previous" },
  { id: "cls", label: "[CLS] / first" },
  { id: "sep", label: "[SEP]" },
  { id: "punct", label: ". and ," },
  { id: "entropy", label: "entropy (nats)" },
  { id: "cls_entropy", label: "first row entropy" },
];

/**
 * Draws the statistics panel: a heatmap of the chosen statistic over layers × heads and a table with each
 * statistic's mean over heads and its top head.
 *
 * @param mapBox the heatmap's container
 * @param tableBox the table's container
 * @param stats the statistics
 * @param chosen the statistic of the heatmap
 * @param onPick opens a head
 * @param units the tokens (or words) the statistics are over: the entropy maps' scale ends at ln(units), the
 *   largest entropy a row can have; the other statistics are fractions of a row, on 0 … 1
 * @example Usage
 * ```ts ignore
 * drawStats(mapEl, tableEl, analysis.stats!, "prev", (l, h) => open(l, h), analysis.tokens.length);
 * ```
 */
export function drawStats(
  mapBox: HTMLElement,
  tableBox: HTMLElement,
  stats: HeadStats,
  chosen: keyof HeadStats,
  onPick: (layer: number, head: number) => void,
  units: number,
): void {
  const label = STAT_NAMES.find((s) => s.id === chosen)?.label ?? chosen;
  const entropy = chosen === "entropy" || chosen === "cls_entropy";
  const scale = { min: 0, max: entropy ? Math.log(Math.max(2, units)) : 1 };
  mapBox.replaceChildren(drawHeatmap(stats[chosen], label, onPick, scale));
  const table = document.createElement("table");
  table.className = "stats";
  const cap = document.createElement("caption");
  cap.className = "muted";
  cap.textContent = "Attention mass per query, this sentence";
  const head = document.createElement("tr");
  for (const t of ["statistic", "mean", "top head", "value"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t;
    head.append(th);
  }
  table.append(cap, head);
  for (const s of STAT_NAMES) {
    let best: [number, number, number] | undefined, sum = 0, n = 0;
    stats[s.id].forEach((row, l) =>
      row.forEach((v, h) => {
        if (v === null) return;
        sum += v;
        n++;
        if (best === undefined || v > best[2]) best = [l, h, v];
      })
    );
    const tr = document.createElement("tr");
    if (s.id === chosen) tr.className = "chosen";
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = s.label;
    const cells = [
      n ? (sum / n).toFixed(3) : "–",
      best ? `L${best[0]} H${best[1]}` : "–",
      best ? best[2].toFixed(3) : "–",
    ];
    tr.append(
      th,
      ...cells.map((c) => {
        const td = document.createElement("td");
        td.textContent = c;
        return td;
      }),
    );
    table.append(tr);
  }
  tableBox.replaceChildren(table);
}
