/**
 * A heatmap figure as a standalone SVG string: a titled grid of viridis-coloured cells with row and column
 * ticks, axis labels, optional value annotations and marked cells, and a colour bar with its own scale.
 * Used for head importance and attention entropy (layers × heads) and, through `attention_map.ts`, for
 * attention patterns (tokens × tokens).
 *
 * @module
 */

import { textColorOn, viridis } from "./color.ts";
import { escapeXml, fmtNum, fmtTick, niceTicks, px } from "./svg.ts";

/** What {@linkcode heatmapSvg} draws. */
export interface HeatmapOptions {
  /** Unique within the page (used for the colour bar's gradient id). */
  id: string;
  title: string;
  /** Row-major values, `rows × cols`; NaN cells are drawn grey (e.g. pruned heads). */
  data: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Axis labels, e.g. "layer" and "head". */
  rowLabel: string;
  colLabel: string;
  /** Tick labels (default 0, 1, 2, …). */
  rowTicks?: string[] | undefined;
  colTicks?: string[] | undefined;
  /** Label of the colour bar (what the colour means). */
  legendLabel: string;
  /** Colour scale range (default: the data's min and max). */
  domain?: [number, number] | undefined;
  /** Cell size in px (default: fits about 420 px, between 16 and 48). */
  cell?: number | undefined;
  /** Write each value in its cell (default: when cells are at least 30 px). */
  annotate?: boolean | undefined;
  /** Cells (row-major indices) drawn with a heavy outline, e.g. the heads shown as attention maps. */
  outlined?: number[] | undefined;
  /** Cells (row-major indices) crossed out, e.g. masked heads. */
  crossed?: number[] | undefined;
  /** Column tick labels rotated (for long labels such as tokens). */
  rotateColTicks?: boolean | undefined;
  /** A caption line under the plot, inside the figure. */
  note?: string | undefined;
}

/**
 * Builds the heatmap SVG.
 *
 * @throws {Error} when `data` does not hold `rows × cols` values
 * @example Usage
 * ```ts
 * import { heatmapSvg } from "./heatmap.ts";
 * const svg = heatmapSvg({
 *   id: "imp", title: "Head importance", data: [0, 0.5, 1, 0.2], rows: 2, cols: 2,
 *   rowLabel: "layer", colLabel: "head", legendLabel: "importance",
 * });
 * svg.startsWith("<svg"); // true
 * ```
 */
export function heatmapSvg(o: HeatmapOptions): string {
  const { rows, cols, data } = o;
  if (data.length !== rows * cols) {
    throw new Error(`heatmap "${o.title}" has ${data.length} values, expected ${rows} × ${cols}`);
  }
  const finite = Array.from(data).filter(Number.isFinite);
  let [lo, hi] = o.domain ?? [Math.min(...finite), Math.max(...finite)];
  if (!finite.length && !o.domain) [lo, hi] = [0, 1];
  if (hi === lo) hi = lo + 1;
  const cell = o.cell ?? Math.max(16, Math.min(48, Math.floor(420 / Math.max(rows, cols))));
  const annotate = o.annotate ?? cell >= 30;
  const rowTicks = o.rowTicks ?? Array.from({ length: rows }, (_, i) => String(i));
  const colTicks = o.colTicks ?? Array.from({ length: cols }, (_, i) => String(i));
  const font = 12;
  const longestRow = Math.max(...rowTicks.map((t) => t.length));
  const longestCol = Math.max(...colTicks.map((t) => t.length));
  const left = 30 + Math.min(110, 7 * longestRow + 10);
  const top = 36;
  const plotW = cols * cell, plotH = rows * cell;
  const colTickSpace = o.rotateColTicks ? Math.min(90, 5.8 * longestCol + 12) : 18;
  const barX = left + plotW + 24, barW = 14;
  const legendTicks = niceTicks(lo, hi, 4).filter((v) => v >= lo - 1e-12 && v <= hi + 1e-12);
  const tickStep = legendTicks.length > 1 ? legendTicks[1]! - legendTicks[0]! : hi - lo;
  const legendW = 10 + Math.max(...legendTicks.map((v) => fmtTick(v, tickStep).length)) * 7 + 24;
  // cell annotations: enough decimals to show differences across the colour range (0 … 3)
  const annDecimals = Math.min(3, Math.max(0, Math.ceil(-Math.log10((hi - lo) / 100))));
  const ann = (v: number) => String(Number(v.toFixed(annDecimals)));
  const width = Math.max(
    barX + barW + legendW,
    left + plotW + 40,
    7.5 * o.title.length + 20,
    left + 5.8 * (o.note?.length ?? 0) + 10,
  );
  const labelSpan = Math.max(plotH, 6.6 * o.legendLabel.length + 8);
  const height = Math.max(top + plotH + colTickSpace + 26 + (o.note ? 18 : 0), top + labelSpan + 8);
  const t = (v: number) => (v - lo) / (hi - lo);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="figure heatmap" id="${escapeXml(o.id)}" ` +
      `width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="${font}" role="img" aria-label="${escapeXml(o.title)}">`,
  );
  parts.push(`<title>${escapeXml(o.title)}</title>`);
  parts.push(
    `<text x="${px(width / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${
      escapeXml(o.title)
    }</text>`,
  );
  // cells
  parts.push(`<g class="cells">`);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c]!;
      const x = left + c * cell, y = top + r * cell;
      const fill = Number.isFinite(v) ? viridis(t(v)) : "#d0d0d0";
      parts.push(
        `<rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${fill}">` +
          `<title>${
            escapeXml(`${o.rowLabel} ${rowTicks[r]}, ${o.colLabel} ${colTicks[c]}: ${fmtNum(v, 4)}`)
          }</title></rect>`,
      );
      if (annotate && Number.isFinite(v)) {
        parts.push(
          `<text x="${px(x + cell / 2)}" y="${px(y + cell / 2 + 3.5)}" text-anchor="middle" font-size="${
            cell >= 40 ? 10 : 9
          }" fill="${textColorOn(t(v))}">${ann(v)}</text>`,
        );
      }
    }
  }
  parts.push(`</g>`);
  for (const i of o.crossed ?? []) {
    // a small × in the cell's top-right corner, so the value stays readable
    const x = left + (i % cols + 1) * cell, y = top + Math.floor(i / cols) * cell, a = Math.max(3, cell * 0.12);
    const cx = x - a - 3, cy = y + a + 3, v = data[i]!;
    const stroke = Number.isFinite(v) ? textColorOn(t(v)) : "#000";
    parts.push(
      `<path class="crossed" d="M${px(cx - a)} ${px(cy - a)}L${px(cx + a)} ${px(cy + a)}M${px(cx + a)} ${px(cy - a)}L${
        px(cx - a)
      } ${px(cy + a)}" stroke="${stroke}" stroke-width="1.6"/>`,
    );
  }
  for (const i of o.outlined ?? []) {
    const x = left + (i % cols) * cell, y = top + Math.floor(i / cols) * cell;
    parts.push(
      `<rect x="${px(x + 1)}" y="${px(y + 1)}" width="${cell - 2}" height="${
        cell - 2
      }" fill="none" stroke="#d62728" stroke-width="2.5" class="outlined"/>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#000" stroke-width="0.8"/>`,
  );
  // row ticks and label
  const tickEvery = (n: number) => Math.max(1, Math.ceil(n * 11 / Math.max(1, n * cell)));
  const rStep = tickEvery(rows);
  for (let r = 0; r < rows; r += rStep) {
    const y = top + r * cell + cell / 2;
    parts.push(`<line x1="${left - 4}" y1="${px(y)}" x2="${left}" y2="${px(y)}" stroke="#000"/>`);
    parts.push(
      `<text x="${left - 6}" y="${px(y + 4)}" text-anchor="end">${escapeXml(rowTicks[r]!)}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(14 ${px(top + plotH / 2)}) rotate(-90)" text-anchor="middle" font-size="13">${
      escapeXml(o.rowLabel)
    }</text>`,
  );
  // column ticks and label
  const cStep = o.rotateColTicks ? 1 : tickEvery(cols);
  for (let c = 0; c < cols; c += cStep) {
    const x = left + c * cell + cell / 2, y = top + plotH;
    parts.push(`<line x1="${px(x)}" y1="${y}" x2="${px(x)}" y2="${y + 4}" stroke="#000"/>`);
    parts.push(
      o.rotateColTicks
        ? `<text transform="translate(${px(x + 3)} ${y + 8}) rotate(-60)" text-anchor="end" font-size="11">${
          escapeXml(colTicks[c]!)
        }</text>`
        : `<text x="${px(x)}" y="${y + 16}" text-anchor="middle">${escapeXml(colTicks[c]!)}</text>`,
    );
  }
  parts.push(
    `<text x="${px(left + plotW / 2)}" y="${px(top + plotH + colTickSpace + 16)}" text-anchor="middle" font-size="13">${
      escapeXml(o.colLabel)
    }</text>`,
  );
  if (o.note) {
    parts.push(
      `<text x="${px(left)}" y="${px(height - 6)}" font-size="11" fill="#444">${escapeXml(o.note)}</text>`,
    );
  }
  // colour bar
  const gid = `${o.id}-grad`;
  const stops = Array.from({ length: 11 }, (_, i) => `<stop offset="${i * 10}%" stop-color="${viridis(1 - i / 10)}"/>`);
  parts.push(
    `<defs><linearGradient id="${escapeXml(gid)}" x1="0" y1="0" x2="0" y2="1">${
      stops.join("")
    }</linearGradient></defs>`,
  );
  parts.push(`<g class="colorbar">`);
  parts.push(
    `<rect x="${barX}" y="${top}" width="${barW}" height="${plotH}" fill="url(#${
      escapeXml(gid)
    })" stroke="#000" stroke-width="0.8"/>`,
  );
  for (const v of legendTicks) {
    const y = top + plotH * (1 - t(v));
    parts.push(`<line x1="${barX + barW}" y1="${px(y)}" x2="${barX + barW + 4}" y2="${px(y)}" stroke="#000"/>`);
    parts.push(`<text x="${barX + barW + 6}" y="${px(y + 4)}" font-size="11">${fmtTick(v, tickStep)}</text>`);
  }
  const lx = barX + legendW - 6;
  parts.push(
    `<text transform="translate(${px(lx)} ${
      px(top + labelSpan / 2)
    }) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(o.legendLabel)}</text>`,
  );
  parts.push(`</g></svg>`);
  return parts.join("\n");
}
