/**
 * One attention head's pattern on one sentence as an SVG heatmap: query tokens down the rows, key tokens
 * along the columns, each row a probability distribution (colour scale 0 … row maximum over the map).
 *
 * @module
 */

import { heatmapSvg } from "./heatmap.ts";

/** What {@linkcode attentionMapSvg} draws. */
export interface AttentionMapOptions {
  id: string;
  title: string;
  /** The sentence's tokens (special tokens included), in order. */
  tokens: string[];
  /** Row-major `[query, key]` attention probabilities, `tokens.length²` values. */
  weights: ArrayLike<number>;
  /** A caption line under the map. */
  note?: string;
}

/** Shortens a token label for an axis tick. */
export function tokenLabel(token: string, max = 12): string {
  // GPT-2's byte-level BPE marks a leading space with Ġ and a newline with Ċ
  const t = token.replace(/^Ġ/, "").replace(/Ċ/g, "\\n").replace(/\s+/g, " ") || "␣";
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * Builds the attention map SVG.
 *
 * @throws {Error} when `weights` does not hold `tokens.length²` values
 * @example Usage
 * ```ts
 * import { attentionMapSvg } from "./attention_map.ts";
 * const svg = attentionMapSvg({ id: "a", title: "L0 H1", tokens: ["[CLS]", "a", "<b>"], weights: new Array(9).fill(1 / 3) });
 * svg.includes("&lt;b&gt;"); // true
 * ```
 */
export function attentionMapSvg(o: AttentionMapOptions): string {
  const T = o.tokens.length;
  if (o.weights.length !== T * T) {
    throw new Error(`attention map "${o.title}" has ${o.weights.length} weights, expected ${T}² = ${T * T}`);
  }
  const labels = o.tokens.map((t) => tokenLabel(t));
  const max = Math.max(1e-6, ...Array.from(o.weights).filter(Number.isFinite));
  return heatmapSvg({
    id: o.id,
    title: o.title,
    data: o.weights,
    rows: T,
    cols: T,
    rowLabel: "query token",
    colLabel: "key token (attended to)",
    rowTicks: labels,
    colTicks: labels,
    rotateColTicks: true,
    legendLabel: "attention weight",
    domain: [0, max],
    cell: Math.max(8, Math.min(16, Math.floor(240 / Math.max(1, T)))),
    annotate: false,
    note: o.note,
  });
}
