/**
 * A line chart as a standalone SVG string, in the style of a paper figure: framed axes with round ticks,
 * light grid lines, axis labels, one or more series with markers, dashed horizontal reference lines, and a
 * legend. Used for the masking curve (score versus fraction of heads kept).
 *
 * @module
 */

import { escapeXml, fmtNum, niceTicks, px } from "./svg.ts";

/** One plotted series. */
export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  /** CSS colour (default: a colour-blind-safe palette). */
  color?: string;
  /** Indices of points drawn as hollow markers (e.g. a step that fell below the threshold). */
  hollow?: number[];
  /** Short labels written next to points (index → text). */
  pointLabels?: Record<number, string>;
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
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p[1])), ...(o.references ?? []).map((r) => r.y)];
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
  for (const v of o.verticals ?? []) {
    const x = sx(v.x), c = v.color ?? "#333";
    const right = x > m.left + pw / 2;
    parts.push(
      `<line class="vertical" x1="${px(x)}" y1="${m.top}" x2="${px(x)}" y2="${
        m.top + ph
      }" stroke="${c}" stroke-width="1" stroke-dasharray="2 3"/>`,
    );
    parts.push(
      `<text x="${px(x + (right ? -5 : 5))}" y="${m.top + ph - 8}" text-anchor="${
        right ? "end" : "start"
      }" font-size="11" fill="${c}">${escapeXml(v.label)}</text>`,
    );
  }
  // series
  o.series.forEach((s, si) => {
    const c = s.color ?? PALETTE[si % PALETTE.length];
    const pts = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(" ");
    parts.push(`<g class="series" clip-path="url(#${escapeXml(clipId)})">`);
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    s.points.forEach(([x, y], i) => {
      const hollow = s.hollow?.includes(i);
      parts.push(
        `<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="4" fill="${
          hollow ? "#fff" : c
        }" stroke="${c}" stroke-width="1.5">` +
          `<title>${escapeXml(`${s.name}: ${fmtNum(x, 4)}, ${fmtNum(y, 4)}`)}</title></circle>`,
      );
    });
    parts.push(`</g>`);
    for (const [i, label] of Object.entries(s.pointLabels ?? {})) {
      const p = s.points[Number(i)];
      if (!p) continue;
      const right = sx(p[0]) > m.left + pw / 2;
      parts.push(
        `<text x="${px(sx(p[0]) + (right ? -8 : 8))}" y="${px(sy(p[1]) + 4)}" text-anchor="${
          right ? "end" : "start"
        }" font-size="11" fill="${c}">${escapeXml(label)}</text>`,
      );
    }
  });
  // legend (bottom left inside the frame)
  const entries = [
    ...o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], dashed: false })),
    ...(o.references ?? []).map((r) => ({ name: r.label, color: r.color ?? "#555", dashed: true })),
  ];
  const lw = 30 + 6.6 * Math.max(...entries.map((e) => e.name.length)), lh = 8 + 17 * entries.length;
  const lx = m.left + 10, ly = m.top + ph - lh - 10;
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
        e.dashed ? ` stroke-dasharray="6 4"` : ""
      }/>`,
    );
    if (!e.dashed) parts.push(`<circle cx="${lx + 15}" cy="${px(y)}" r="3.5" fill="${e.color}"/>`);
    parts.push(`<text x="${lx + 28}" y="${px(y + 4)}" font-size="11">${escapeXml(e.name)}</text>`);
  });
  parts.push(`</g></svg>`);
  return parts.join("\n");
}
