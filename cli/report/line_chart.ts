/**
 * A line chart as a standalone SVG string, in the style of a paper figure: framed axes with round ticks,
 * light grid lines, axis labels, one or more series with markers, dashed horizontal reference lines, and a
 * legend. Used for the masking curve (score versus fraction of heads kept).
 *
 * @module
 */

import { escapeXml, fmtNum, niceTicks, px } from "./svg.ts";
import { type Box, legendCorner, markerBox, overlapArea, placeLabel, textBox } from "./label_layout.ts";

/** One plotted series. */
export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  /** CSS colour (default: a colour-blind-safe palette). */
  color?: string;
  /** Indices of points drawn as hollow markers (e.g. a step that fell below the threshold). */
  hollow?: number[];
  /** Short labels written next to points (index → text), placed where they cover no other label or marker. */
  pointLabels?: Record<number, string>;
  /** Stroke dash pattern of the line (e.g. `"6 3"`; default solid). */
  dash?: string;
  /** Marker shape (default by series: circle, square, triangle, diamond, …), so that lines that meet stay apart. */
  marker?: MarkerShape;
  /** A shaded band around the line, one [x, low, high] per point (e.g. a confidence interval). */
  band?: Array<[number, number, number]>;
}

/** The shapes a series' markers can take. */
export type MarkerShape = "circle" | "square" | "triangle" | "diamond";
const MARKERS: MarkerShape[] = ["circle", "square", "triangle", "diamond"];

/** A marker of `shape` and radius `r` centred at (x, y), with a tooltip. */
function markerSvg(shape: MarkerShape, x: number, y: number, r: number, fill: string, stroke: string, tip: string) {
  const title = `<title>${escapeXml(tip)}</title>`;
  const paint = `fill="${fill}" stroke="${stroke}" stroke-width="1.5"`;
  if (shape === "circle") return `<circle cx="${px(x)}" cy="${px(y)}" r="${r}" ${paint}>${title}</circle>`;
  const d = shape === "square"
    ? `M${px(x - r)},${px(y - r)}h${2 * r}v${2 * r}h${-2 * r}z`
    : shape === "triangle"
    ? `M${px(x)},${px(y - 1.2 * r)}L${px(x + 1.1 * r)},${px(y + 0.8 * r)}L${px(x - 1.1 * r)},${px(y + 0.8 * r)}z`
    : `M${px(x)},${px(y - 1.3 * r)}L${px(x + 1.3 * r)},${px(y)}L${px(x)},${px(y + 1.3 * r)}L${px(x - 1.3 * r)},${
      px(y)
    }z`;
  return `<path class="marker ${shape}" d="${d}" ${paint}>${title}</path>`;
}

/** A horizontal reference line (dashed, named in the legend). */
export interface ReferenceLine {
  y: number;
  label: string;
  color?: string;
}

/** What {@linkcode lineChartSvg} draws. */
export interface LineChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Dashed horizontal lines (e.g. the 90 % threshold). */
  references?: ReferenceLine[];
  /** Dotted vertical markers (e.g. the final mask), labelled at the bottom of the plot. */
  verticals?: Array<{ x: number; label: string; color?: string }>;
  /** Axis ranges (default: the data's, padded, including the reference lines). */
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Draw the x axis from high to low values (e.g. fraction kept going down as heads are masked). */
  reverseX?: boolean;
  /** Format x tick values (default: plain numbers). */
  xTickFormat?: (v: number) => string;
  yTickFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"];

/**
 * Builds the line chart SVG.
 *
 * @example Usage
 * ```ts
 * import { lineChartSvg } from "./line_chart.ts";
 * const svg = lineChartSvg({
 *   id: "mask", title: "Masking", xLabel: "fraction of heads kept", yLabel: "accuracy",
 *   series: [{ name: "accuracy", points: [[1, 0.9], [0.9, 0.88], [0.8, 0.7]] }],
 *   references: [{ y: 0.81, label: "90 % of original" }],
 * });
 * svg.includes("stroke-dasharray"); // true
 * ```
 */
export function lineChartSvg(o: LineChartOptions): string {
  const W = o.width ?? 560, H = o.height ?? 340;
  const m = { left: 64, right: 20, top: 34, bottom: 50 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [
    ...o.series.flatMap((s) => [...s.points.map((p) => p[1]), ...(s.band ?? []).flatMap((b) => [b[1], b[2]])]),
    ...(o.references ?? []).map((r) => r.y),
  ];
  const pad = (lo: number, hi: number, f: number): [number, number] => {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
    if (hi === lo) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
    const d = (hi - lo) * f;
    return [lo - d, hi + d];
  };
  const [x0, x1] = o.xDomain ?? pad(Math.min(...xs), Math.max(...xs), 0.05);
  let [y0, y1] = o.yDomain ?? pad(Math.min(...ys), Math.max(...ys), 0.08);
  if (!o.yDomain) {
    const yt = niceTicks(y0, y1, 5);
    const step = yt.length > 1 ? yt[1]! - yt[0]! : 0;
    if (step > 0) [y0, y1] = [Math.floor(y0 / step) * step, Math.ceil(y1 / step) * step];
  }
  const sx = (x: number) => m.left + pw * (o.reverseX ? (x1 - x) / (x1 - x0) : (x - x0) / (x1 - x0));
  const sy = (y: number) => m.top + ph * (1 - (y - y0) / (y1 - y0));
  const fx = o.xTickFormat ?? ((v: number) => fmtNum(v));
  const fy = o.yTickFormat ?? ((v: number) => fmtNum(v));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="figure line-chart" id="${escapeXml(o.id)}" width="${W}" ` +
      `height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" ` +
      `aria-label="${escapeXml(o.title)}">`,
  );
  parts.push(`<title>${escapeXml(o.title)}</title>`);
  parts.push(
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`,
  );
  const clipId = `${o.id}-clip`;
  parts.push(
    `<defs><clipPath id="${
      escapeXml(clipId)
    }"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
  );
  // grid and ticks
  parts.push(`<g class="axes">`);
  for (const v of niceTicks(x0, x1, 6).filter((v) => v >= Math.min(x0, x1) - 1e-9 && v <= Math.max(x0, x1) + 1e-9)) {
    const x = sx(v);
    parts.push(`<line x1="${px(x)}" y1="${m.top}" x2="${px(x)}" y2="${m.top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${px(x)}" y1="${m.top + ph}" x2="${px(x)}" y2="${m.top + ph + 5}" stroke="#000"/>`);
    parts.push(`<text x="${px(x)}" y="${m.top + ph + 18}" text-anchor="middle">${escapeXml(fx(v))}</text>`);
  }
  for (const v of niceTicks(y0, y1, 5).filter((v) => v >= y0 - 1e-9 && v <= y1 + 1e-9)) {
    const y = sy(v);
    parts.push(`<line x1="${m.left}" y1="${px(y)}" x2="${m.left + pw}" y2="${px(y)}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${m.left - 5}" y1="${px(y)}" x2="${m.left}" y2="${px(y)}" stroke="#000"/>`);
    parts.push(`<text x="${m.left - 8}" y="${px(y + 4)}" text-anchor="end">${escapeXml(fy(v))}</text>`);
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#000" stroke-width="0.8"/>`,
  );
  parts.push(
    `<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="13">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${
      escapeXml(o.yLabel)
    }</text>`,
  );
  parts.push(`</g>`);
  // reference lines
  for (const r of o.references ?? []) {
    const y = sy(r.y), c = r.color ?? "#555";
    parts.push(
      `<line class="reference" x1="${m.left}" y1="${px(y)}" x2="${m.left + pw}" y2="${
        px(y)
      }" stroke="${c}" stroke-width="1.3" stroke-dasharray="6 4"/>`,
    );
  }
  // what text must not cover: every marker, then each label as it is placed
  const frame = { x0: m.left, y0: m.top, x1: m.left + pw, y1: m.top + ph };
  const taken: Box[] = o.series.flatMap((s) => s.points.map(([x, y]) => markerBox(sx(x), sy(y), 5)));
  for (const v of o.verticals ?? []) {
    const x = sx(v.x), c = v.color ?? "#333";
    const right = x > m.left + pw / 2;
    parts.push(
      `<line class="vertical" x1="${px(x)}" y1="${m.top}" x2="${px(x)}" y2="${
        m.top + ph
      }" stroke="${c}" stroke-width="1" stroke-dasharray="2 3"/>`,
    );
    // at the bottom of the line, or its top where a marker or a label sits there
    const at = (y: number) => textBox(x + (right ? -5 : 5), y, v.label, 11, right ? "end" : "start");
    const low = at(m.top + ph - 8), high = at(m.top + 16);
    const box = taken.some((t) => overlapArea(low, t) > 0) && !taken.some((t) => overlapArea(high, t) > 0) ? high : low;
    taken.push(box);
    parts.push(
      `<text x="${px(x + (right ? -5 : 5))}" y="${px(box.y1 - 2.2)}" text-anchor="${
        right ? "end" : "start"
      }" font-size="11" fill="${c}">${escapeXml(v.label)}</text>`,
    );
  }
  // series
  o.series.forEach((s, si) => {
    const c = s.color ?? PALETTE[si % PALETTE.length]!;
    const shape = s.marker ?? MARKERS[si % MARKERS.length]!;
    parts.push(`<g class="series" clip-path="url(#${escapeXml(clipId)})">`);
    if (s.band && s.band.length > 1) {
      const upper = s.band.map(([x, , hi]) => `${px(sx(x))},${px(sy(hi))}`);
      const lower = s.band.map(([x, lo]) => `${px(sx(x))},${px(sy(lo))}`).reverse();
      parts.push(`<polygon class="band" points="${[...upper, ...lower].join(" ")}" fill="${c}" fill-opacity="0.15"/>`);
    }
    const pts = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(" ");
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ""
      }/>`,
    );
    s.points.forEach(([x, y], i) => {
      const fill = s.hollow?.includes(i) ? "#fff" : c;
      parts.push(markerSvg(shape, sx(x), sy(y), 4, fill, c, `${s.name}: ${fmtNum(x, 4)}, ${fmtNum(y, 4)}`));
    });
    parts.push(`</g>`);
    for (const [i, label] of Object.entries(s.pointLabels ?? {})) {
      const p = s.points[Number(i)];
      if (!p) continue;
      const placed = placeLabel(sx(p[0]), sy(p[1]), 4, label, 11, taken, frame);
      taken.push(placed.box);
      parts.push(
        `<text x="${px(placed.x)}" y="${px(placed.y)}" text-anchor="${placed.anchor}" font-size="11" fill="${c}">${
          escapeXml(label)
        }</text>`,
      );
    }
  });
  // legend: in the corner that covers the fewest markers and labels
  const entries = [
    ...o.series.map((s, i) => ({
      name: s.name,
      color: s.color ?? PALETTE[i % PALETTE.length]!,
      dash: s.dash,
      marker: s.marker ?? MARKERS[i % MARKERS.length]!,
    })),
    ...(o.references ?? []).map((r) => ({ name: r.label, color: r.color ?? "#555", dash: "6 4", marker: undefined })),
  ];
  const lw = 30 + 6.6 * Math.max(...entries.map((e) => e.name.length)), lh = 8 + 17 * entries.length;
  const corner = legendCorner(lw, lh, frame, taken);
  // no corner is free: below the chart instead, which grows to hold it
  const below = corner.covered > 0;
  const lx = below ? m.left : corner.x, ly = below ? H + 2 : corner.y;
  if (below) {
    parts[0] = parts[0]!.replace(
      `height="${H}" viewBox="0 0 ${W} ${H}"`,
      `height="${H + lh + 10}" viewBox="0 0 ${W} ${H + lh + 10}"`,
    );
  }
  parts.push(`<g class="legend">`);
  parts.push(
    `<rect x="${lx}" y="${px(ly)}" width="${
      px(lw)
    }" height="${lh}" fill="#fff" fill-opacity="0.9" stroke="#999" stroke-width="0.6"/>`,
  );
  entries.forEach((e, i) => {
    const y = ly + 13 + 17 * i;
    parts.push(
      `<line x1="${lx + 6}" y1="${px(y)}" x2="${lx + 24}" y2="${px(y)}" stroke="${e.color}" stroke-width="2"${
        e.dash ? ` stroke-dasharray="${e.dash}"` : ""
      }/>`,
    );
    if (e.marker) parts.push(markerSvg(e.marker, lx + 15, y, 3.5, e.color, e.color, e.name));
    parts.push(`<text x="${lx + 28}" y="${px(y + 4)}" font-size="11">${escapeXml(e.name)}</text>`);
  });
  parts.push(`</g></svg>`);
  return parts.join("\n");
}
