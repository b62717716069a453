/**
 * Where a figure's text goes so that nothing covers anything else: a label beside its point on the first side
 * that is free of other labels, markers and the frame's edge, and a legend in the corner that covers the fewest
 * points. Text sizes are estimated (Helvetica: about 0.6 em per character), which is enough to keep labels apart.
 *
 * @module
 */

/** An axis-aligned box in SVG user units. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** How a label is anchored horizontally (SVG `text-anchor`). */
export type Anchor = "start" | "middle" | "end";

/** A placed label: where to write it and the box it covers. */
export interface PlacedLabel {
  x: number;
  y: number;
  anchor: Anchor;
  box: Box;
}

/**
 * The box that `text` written at (x, y) — y the baseline — covers.
 *
 * @example Usage
 * ```ts
 * import { textBox } from "./label_layout.ts";
 * textBox(10, 20, "abc", 10, "start"); // { x0: 10, y0: 12, x1: 28, y1: 22 }
 * ```
 */
export function textBox(x: number, y: number, text: string, fontSize: number, anchor: Anchor): Box {
  const w = 0.6 * fontSize * [...text].length;
  const x0 = anchor === "start" ? x : anchor === "end" ? x - w : x - w / 2;
  return { x0, y0: y - 0.8 * fontSize, x1: x0 + w, y1: y + 0.2 * fontSize };
}

/** The area two boxes share (0 when they do not meet). */
export function overlapArea(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

/** The box of a round marker of radius `r` at (x, y). */
export function markerBox(x: number, y: number, r: number): Box {
  return { x0: x - r, y0: y - r, x1: x + r, y1: y + r };
}

/** How much of `b` lies outside `frame`. */
function outside(b: Box, frame: Box): number {
  const area = (b.x1 - b.x0) * (b.y1 - b.y0);
  const inside = overlapArea(b, frame);
  return area - inside;
}

/**
 * Places a label beside a point of radius `r`: right, left, above, below, then the diagonals, then twice as far;
 * the first position that covers no box of `taken` and stays inside `frame`, or else the one that covers least.
 * The caller adds the returned box to `taken` so that the next label avoids it.
 *
 * @example Usage
 * ```ts
 * import { placeLabel } from "./label_layout.ts";
 * const frame = { x0: 0, y0: 0, x1: 100, y1: 100 };
 * const first = placeLabel(50, 50, 4, "0.1", 10, [], frame);
 * const second = placeLabel(50, 50, 4, "0.2", 10, [first.box], frame);
 * second.anchor; // "end": the right side is taken, so it goes left
 * ```
 */
export function placeLabel(
  x: number,
  y: number,
  r: number,
  text: string,
  fontSize: number,
  taken: readonly Box[],
  frame: Box,
): PlacedLabel {
  const gap = r + 3, up = y - r - 3, down = y + r + 0.8 * fontSize + 1, mid = y + 0.35 * fontSize;
  const candidates: Array<[number, number, Anchor]> = [];
  for (const k of [1, 2.2]) {
    candidates.push(
      [x + k * gap, mid, "start"],
      [x - k * gap, mid, "end"],
      [x, y - (y - up) * k, "middle"],
      [x, y + (down - y) * k, "middle"],
      [x + k * gap, y - (y - up) * k, "start"],
      [x + k * gap, y + (down - y) * k, "start"],
      [x - k * gap, y - (y - up) * k, "end"],
      [x - k * gap, y + (down - y) * k, "end"],
    );
  }
  let best: PlacedLabel | undefined, bestCost = Infinity;
  for (const [cx, cy, anchor] of candidates) {
    const box = textBox(cx, cy, text, fontSize, anchor);
    const cost = taken.reduce((s, t) => s + overlapArea(box, t), 0) + 4 * outside(box, frame);
    if (cost < bestCost) best = { x: cx, y: cy, anchor, box }, bestCost = cost;
    if (cost === 0) break;
  }
  return best!;
}

/**
 * The top-left corner for a legend of `w` × `h` inside `frame` (inset by `inset`): the corner whose box covers
 * the fewest of `avoid` (points, labels), bottom left first on a tie, and how many it covers there (a caller
 * puts the legend outside the frame when that is not 0).
 *
 * @example Usage
 * ```ts
 * import { legendCorner, markerBox } from "./label_layout.ts";
 * const frame = { x0: 0, y0: 0, x1: 200, y1: 100 };
 * legendCorner(50, 20, frame, [markerBox(20, 85, 4)]); // { x: 140, y: 70, covered: 0 }: bottom left holds a point
 * ```
 */
export function legendCorner(w: number, h: number, frame: Box, avoid: readonly Box[], inset = 10): {
  x: number;
  y: number;
  covered: number;
} {
  const left = frame.x0 + inset, right = frame.x1 - inset - w, top = frame.y0 + inset, bottom = frame.y1 - inset - h;
  const corners = [{ x: left, y: bottom }, { x: right, y: bottom }, { x: right, y: top }, { x: left, y: top }];
  let best = corners[0]!, bestCost = Infinity;
  for (const c of corners) {
    const box = { x0: c.x, y0: c.y, x1: c.x + w, y1: c.y + h };
    const cost = avoid.filter((a) => overlapArea(box, a) > 0).length;
    if (cost < bestCost) best = c, bestCost = cost;
  }
  return { ...best, covered: bestCost };
}
