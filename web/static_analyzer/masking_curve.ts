/// <reference lib="dom" />
/**
 * The masking curve of a dataset study, with the statistics a reviewer asks for: the score after each step of
 * iterative masking against the share of heads masked, its 95 % bootstrap interval as a band, and the random
 * baseline (masks keeping as many heads drawn at random, Budhraja et al. 2020) as a mean with its min–max range.
 * The legend sits under the plot, so it hides no point.
 *
 * @module
 */

import { svgEl } from "../page/draw.ts";
import type { StudyStep } from "./protocol.ts";

/** Where the curve's parts go, in SVG units (the plot box is `[left, right] × [top, bottom]`). */
export interface MaskingCurveGeometry {
  /** The plot box. */
  box: { left: number; right: number; top: number; bottom: number };
  /** The score range shown (covers every score, interval and random mask). */
  yRange: [number, number];
  /** One point per step: x = share of heads masked, y = the score. */
  curve: Array<[number, number]>;
  /** The interval band as a closed polygon (upper bounds left to right, then lower bounds back), if any. */
  band: Array<[number, number]>;
  /** Per step with a random baseline: x, the mean's y, and the min's and max's y. */
  random: Array<{ x: number; mean: number; low: number; high: number }>;
  /** Y-axis ticks: value and y. */
  yTicks: Array<[number, number]>;
  /** X-axis ticks: percent masked and x. */
  xTicks: Array<[number, number]>;
}

/** The plot's size in SVG units. */
const WIDTH = 480, HEIGHT = 240;
const BOX = { left: 52, right: WIDTH - 12, top: 10, bottom: HEIGHT - 34 };

/**
 * Lays the curve out: x from 0 % to 100 % of the heads masked, y over the range of every value drawn.
 *
 * @param steps the study's masking steps (step 0 is the unmasked model)
 * @param totalHeads layers × heads
 * @returns the geometry
 * @throws {Error} for no steps or a non-positive head count
 * @example Usage
 * ```ts
 * import { maskingCurveGeometry } from "./masking_curve.ts";
 * const g = maskingCurveGeometry([
 *   { step: 0, score: 0.9, heads_kept: 4, fraction_kept: 1, masked: [] },
 *   { step: 1, score: 0.8, heads_kept: 2, fraction_kept: 0.5, masked: [[0, 1], [1, 0]] },
 * ], 4);
 * g.curve.length; // 2
 * ```
 */
export function maskingCurveGeometry(steps: readonly StudyStep[], totalHeads: number): MaskingCurveGeometry {
  if (steps.length === 0) throw new Error("The masking study has no steps to draw");
  if (!(Number.isInteger(totalHeads) && totalHeads > 0)) {
    throw new Error(`The model's head count must be a positive integer, got ${totalHeads}`);
  }
  const values = steps.flatMap((s) => [
    s.score,
    ...(s.score_ci ?? []),
    ...(s.random_masks ? [s.random_masks.min, s.random_masks.max] : []),
  ]).filter(Number.isFinite);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;
  const x = (s: StudyStep) => BOX.left + (1 - s.heads_kept / totalHeads) * (BOX.right - BOX.left);
  const y = (v: number) => BOX.bottom - ((v - lo) / (hi - lo)) * (BOX.bottom - BOX.top);
  const withCi = steps.filter((s) => s.score_ci !== undefined);
  const band: Array<[number, number]> = withCi.length < 2 ? [] : [
    ...withCi.map((s): [number, number] => [x(s), y(s.score_ci![1])]),
    ...withCi.slice().reverse().map((s): [number, number] => [x(s), y(s.score_ci![0])]),
  ];
  const yTicks = Array.from({ length: 5 }, (_, i): [number, number] => {
    const v = lo + (i / 4) * (hi - lo);
    return [v, y(v)];
  });
  const xTicks = [0, 25, 50, 75, 100].map((p): [number, number] => [
    p,
    BOX.left + (p / 100) * (BOX.right - BOX.left),
  ]);
  return {
    box: BOX,
    yRange: [lo, hi],
    curve: steps.map((s) => [x(s), y(s.score)]),
    band,
    random: steps.filter((s) => s.random_masks).map((s) => ({
      x: x(s),
      mean: y(s.random_masks!.mean),
      low: y(s.random_masks!.min),
      high: y(s.random_masks!.max),
    })),
    yTicks,
    xTicks,
  };
}

/** An SVG text element. */
function text(attrs: Record<string, string | number>, content: string): SVGTextElement {
  const t = svgEl("text", attrs);
  t.textContent = content;
  return t;
}

/**
 * Draws the masking curve as an SVG figure with its legend under it.
 *
 * @param steps the study's masking steps
 * @param totalHeads layers × heads
 * @param metric the score's name (the y axis)
 * @returns the figure
 * @example Usage
 * ```ts ignore
 * box.append(drawMaskingCurve(study.masking.steps, 144, "acc"));
 * ```
 */
export function drawMaskingCurve(steps: readonly StudyStep[], totalHeads: number, metric: string): HTMLElement {
  const g = maskingCurveGeometry(steps, totalHeads);
  const svg = svgEl("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    id: "masking-curve",
    "aria-label": `${metric} against the share of heads masked`,
  });
  const { left, right, top, bottom } = g.box;
  svg.append(
    svgEl("rect", { x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#bbb" }),
  );
  for (const [v, y] of g.yTicks) {
    svg.append(svgEl("line", { x1: left - 4, x2: left, y1: y, y2: y, stroke: "#888" }));
    svg.append(text({ x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11 }, v.toFixed(3)));
  }
  for (const [p, x] of g.xTicks) {
    svg.append(svgEl("line", { x1: x, x2: x, y1: bottom, y2: bottom + 4, stroke: "#888" }));
    svg.append(text({ x, y: bottom + 16, "text-anchor": "middle", "font-size": 11 }, `${p} %`));
  }
  svg.append(
    text({ x: (left + right) / 2, y: HEIGHT - 4, "text-anchor": "middle", "font-size": 11 }, "heads masked"),
    text({
      x: 12,
      y: (top + bottom) / 2,
      "font-size": 11,
      transform: `rotate(-90 12 ${(top + bottom) / 2})`,
      "text-anchor": "middle",
    }, metric),
  );
  if (g.band.length) {
    svg.append(svgEl("polygon", {
      points: g.band.map(([x, y]) => `${x},${y}`).join(" "),
      fill: "rgba(230, 120, 20, 0.2)",
      stroke: "none",
      class: "ci-band",
    }));
  }
  for (const r of g.random) {
    svg.append(
      svgEl("line", { x1: r.x, x2: r.x, y1: r.low, y2: r.high, stroke: "#777", class: "random-range" }),
      svgEl("circle", { cx: r.x, cy: r.mean, r: 3, fill: "#fff", stroke: "#555", class: "random-mean" }),
    );
  }
  svg.append(svgEl("polyline", {
    points: g.curve.map(([x, y]) => `${x},${y}`).join(" "),
    fill: "none",
    stroke: "rgb(200, 95, 10)",
    "stroke-width": 2,
    class: "curve",
  }));
  for (const [x, y] of g.curve) svg.append(svgEl("circle", { cx: x, cy: y, r: 2.5, fill: "rgb(200, 95, 10)" }));
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.className = "muted";
  caption.textContent = "Orange: masking by importance" +
    (g.band.length ? ", shaded: its 95 % bootstrap interval over the examples" : "") +
    (g.random.length ? "; grey circles: random masks keeping as many heads (mean, bar: min–max)" : "") + ".";
  figure.append(svg, caption);
  return figure;
}
