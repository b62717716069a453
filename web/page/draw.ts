/// <reference lib="dom" />
/**
 * Drawing: the head view (lines from each token to the tokens it attends to, one colour per head), the model
 * view's thumbnails and the layer × head heatmaps. Everything is SVG with presentation attributes, so that a
 * serialised view is a standalone SVG file.
 *
 * @module
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Creates an SVG element with attributes.
 *
 * @param tag the element name
 * @param attrs attributes
 * @param parent appended to, when given
 * @returns the element
 */
export function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  parent?: Element,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

/**
 * The colour of head `h` of `H`: evenly spaced hues, as hex (valid in any SVG viewer).
 *
 * @param h the head
 * @param H heads per layer
 * @returns `#rrggbb`
 */
export function headColor(h: number, H: number): string {
  const hue = (h * 360) / Math.max(1, H), s = 0.72, l = 0.45;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** Lines lighter than this are not drawn (they would be invisible anyway). */
export const MIN_WEIGHT = 0.01;

const ROW = 20;
const FONT = "13px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** What {@linkcode drawHeadView} draws. */
export interface HeadViewInput {
  tokens: string[];
  /** Per head shown: [query][key] weights. */
  maps: number[][][];
  /** The heads shown (original numbering), aligned with `maps`. */
  heads: number[];
  /** Heads per layer (for colours). */
  headCount: number;
  /** Title drawn at the top (e.g. "Layer 3"). */
  title: string;
  /** The first generated token of a continuation: it and the tokens after it are drawn as generated. */
  generatedFrom?: number;
}

/**
 * Draws the head view into a fresh SVG: query tokens on the left, key tokens on the right, one group of
 * lines per head (`g.head-lines`, `data-head`), each line's opacity its attention weight. Hovering or
 * focusing a token shows only its lines (left: what it attends to; right: what attends to it).
 *
 * @param input tokens, maps, heads
 * @returns the SVG element
 */
export function drawHeadView(input: HeadViewInput): SVGSVGElement {
  const { tokens, maps, heads, headCount } = input;
  const T = tokens.length;
  const longest = tokens.reduce((m, t) => Math.max(m, t.length), 1);
  const colW = Math.min(170, Math.max(70, 8 * longest + 12));
  const gap = 150, top = 34;
  // wide enough for the title (≈ 8 px a character at 13 px bold), so "Layer 3 — heads 0, 1, … (words)" is never cut
  const width = Math.max(2 * colW + gap, Math.ceil(8 * input.title.length) + 24), height = top + T * ROW + 10;
  const svg = svgEl("svg", {
    xmlns: SVG_NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    "aria-label": `${input.title}: attention from ${T} tokens, heads ${heads.join(", ")}`,
    "font-family": "system-ui, sans-serif",
    "font-size": 13,
  });
  svg.classList.add("head-view");
  svgEl("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }, svg);
  const title = svgEl("text", { x: width / 2, y: 18, "text-anchor": "middle", "font-weight": 600, fill: "#222" }, svg);
  title.textContent = input.title;

  const x1 = colW + 4, x2 = colW + gap - 4;
  const yOf = (i: number) => top + i * ROW + ROW / 2;
  const lines: SVGLineElement[] = [];
  heads.forEach((h, n) => {
    const g = svgEl(
      "g",
      { class: "head-lines", "data-head": h, stroke: headColor(h, headCount), "stroke-width": 2 },
      svg,
    );
    const m = maps[n]!; // one map per head
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const w = m[q]![k]!; // T x T
        if (w < MIN_WEIGHT) continue;
        const line = svgEl("line", {
          x1,
          y1: yOf(q),
          x2,
          y2: yOf(k),
          "stroke-opacity": Math.min(1, w).toFixed(3),
          "data-w": w, // the weight as the answer gives it (checks compare it)
          "data-q": q,
          "data-k": k,
        }, g);
        lines.push(line);
      }
    }
  });

  const boxes: { left: SVGRectElement[]; right: SVGRectElement[] } = { left: [], right: [] };
  const focus = (side: "left" | "right" | null, i: number) => {
    for (const line of lines) {
      const idx = Number(line.getAttribute(side === "left" ? "data-q" : "data-k"));
      line.style.display = side === null || idx === i ? "" : "none";
    }
    const other = side === "left" ? boxes.right : boxes.left;
    for (const r of [...boxes.left, ...boxes.right]) r.setAttribute("fill-opacity", "0");
    if (side === null) return;
    (side === "left" ? boxes.left : boxes.right)[i]?.setAttribute("fill-opacity", "0.25");
    other.forEach((r, j) => {
      let w = 0;
      for (const m of maps) w += (side === "left" ? m[i]?.[j] : m[j]?.[i]) ?? 0;
      r.setAttribute("fill-opacity", String(Math.min(0.6, w / Math.max(1, maps.length))));
    });
  };
  for (const side of ["left", "right"] as const) {
    tokens.forEach((tok, i) => {
      const generated = input.generatedFrom !== undefined && i >= input.generatedFrom;
      const g = svgEl("g", { class: `token token-${side}`, tabindex: 0, role: "button", "data-index": i }, svg);
      if (generated) g.classList.add("generated");
      g.setAttribute(
        "aria-label",
        `${side === "left" ? "Query" : "Key"} token ${i}${generated ? " (generated)" : ""}: ${tok}`,
      );
      const box = svgEl("rect", {
        x: side === "left" ? 2 : colW + gap + 2,
        y: top + i * ROW + 1,
        width: colW - 4,
        height: ROW - 2,
        rx: 3,
        fill: "#1f6feb",
        "fill-opacity": 0,
      }, g);
      boxes[side].push(box);
      const text = svgEl("text", {
        x: side === "left" ? colW - 4 : colW + gap + 4,
        y: yOf(i) + 4.5,
        "text-anchor": side === "left" ? "end" : "start",
        fill: generated ? "#b35900" : "#1b1f24",
        "font-style": generated ? "italic" : "normal",
        class: `token-${side}-text`,
      }, g);
      text.textContent = tok;
      const on = () => focus(side, i);
      const off = () => focus(null, 0);
      g.addEventListener("mouseenter", on);
      g.addEventListener("mouseleave", off);
      g.addEventListener("focus", on);
      g.addEventListener("blur", off);
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape") g.blur();
      });
    });
  }
  svg.setAttribute("style", `font: ${FONT}`);
  return svg;
}

/**
 * Draws one model-view thumbnail: the head's lines squeezed into a small box.
 *
 * @param map [query][key] weights
 * @param color the head's colour
 * @param size the box side in pixels
 * @returns the SVG element
 */
export function drawThumbnail(map: number[][], color: string, size = 56): SVGSVGElement {
  const T = map.length;
  const svg = svgEl("svg", {
    xmlns: SVG_NS,
    width: size,
    height: size,
    viewBox: `0 0 40 ${Math.max(T, 1)}`,
    preserveAspectRatio: "none",
    "aria-hidden": "true",
  });
  const g = svgEl("g", { stroke: color, "stroke-width": 1, "vector-effect": "non-scaling-stroke" }, svg);
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      const w = map[q]![k]!; // T x T
      if (w < 0.05) continue;
      svgEl("line", {
        x1: 2,
        y1: q + 0.5,
        x2: 38,
        y2: k + 0.5,
        "stroke-opacity": Math.min(1, w).toFixed(2),
        "vector-effect": "non-scaling-stroke",
      }, g);
    }
  }
  return svg;
}

/**
 * Draws a layers × heads heatmap (`null` cells are pruned heads, hatched grey). Each cell carries a
 * `<title>` with its value and calls `onPick(layer, head)` when clicked.
 *
 * @param values [layers][heads]
 * @param label what the values are (for the title and tooltips)
 * @param onPick called with (layer, head) on click
 * @returns the SVG element
 */
export function drawHeatmap(
  values: (number | null)[][],
  label: string,
  onPick?: (layer: number, head: number) => void,
  scale?: HeatScale,
): SVGSVGElement {
  const L = values.length, H = values[0]?.length ?? 0;
  const cw = Math.max(22, Math.min(36, Math.floor(420 / Math.max(1, H)))), ch = 20, left = 34, top = 22;
  const width = Math.max(300, left + H * cw + 4), height = top + L * ch + 44;
  const svg = svgEl("svg", {
    xmlns: SVG_NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${label} over ${L} layers and ${H} heads`,
    "font-family": "system-ui, sans-serif",
    "font-size": 11,
  });
  const finite = values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
  const min = scale?.min ?? lo, max = scale?.max ?? hi;
  const span = max - min || 1;
  const color = scale?.diverging ? divergingColor : heatColor;
  for (let h = 0; h < H; h++) {
    const t = svgEl("text", { x: left + h * cw + cw / 2, y: 14, "text-anchor": "middle", fill: "#444" }, svg);
    t.textContent = `H${h}`;
  }
  for (let l = 0; l < L; l++) {
    const t = svgEl("text", { x: left - 4, y: top + l * ch + 14, "text-anchor": "end", fill: "#444" }, svg);
    t.textContent = `L${l}`;
    for (let h = 0; h < H; h++) {
      const v = values[l]![h] ?? null; // L x H
      const a = v === null ? 0 : (v - min) / span;
      const cell = svgEl("rect", {
        x: left + h * cw,
        y: top + l * ch,
        width: cw - 1,
        height: ch - 1,
        fill: v === null ? "#d0d0d0" : color(a),
        class: "cell",
        "data-layer": l,
        "data-head": h,
        "data-value": v ?? "", // the value as the answer gives it (checks compare it)
      }, svg);
      const tip = svgEl("title", {}, cell);
      tip.textContent = `Layer ${l}, head ${h}: ${label} ${v === null ? "(pruned)" : v.toFixed(4)}`;
      if (onPick && v !== null) {
        cell.style.cursor = "pointer";
        cell.setAttribute("tabindex", "0");
        cell.setAttribute("role", "button");
        cell.setAttribute("aria-label", `Open layer ${l} head ${h} (${label} ${v.toFixed(3)})`);
        cell.addEventListener("click", () => onPick(l, h));
        cell.addEventListener("keydown", (e) => {
          if (e.key !== "Enter" && e.key !== " ") return;
          e.preventDefault();
          onPick(l, h);
        });
      }
    }
  }
  drawColorBar(svg, { x: left, y: top + L * ch + 6, width: Math.min(220, width - left - 8) }, min, max, color);
  const legend = svgEl("text", { x: left, y: height - 4, fill: "#444", class: "heat-legend" }, svg);
  const range = finite.length ? `this map ${lo.toFixed(3)} … ${hi.toFixed(3)}` : "no values";
  legend.textContent = `${label}: ${range}${scale ? "" : " (the scale's ends)"}`;
  // wide enough for the legend (≈ 6 px a character at 11 px)
  const needed = Math.ceil(left + 6 * legend.textContent.length + 8);
  if (needed > width) {
    (svg.setAttribute("width", String(needed)), svg.setAttribute("viewBox", `0 0 ${needed} ${height}`));
  }
  return svg;
}

/**
 * A heatmap's colour scale: fixed ends, so that colours compare across sentences and models (values past an end
 * take its colour); `diverging` draws blue below the middle, white at it, red above (for signed values).
 */
export interface HeatScale {
  /** The value drawn lightest (or bluest). */
  min: number;
  /** The value drawn darkest (or reddest). */
  max: number;
  /** Blue–white–red instead of light–dark. */
  diverging?: boolean;
}

function fmtTick(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 10 ? 1 : 3);
}

/** The colour bar under a heatmap: a gradient from `min` to `max` with both ends (and a diverging middle) marked. */
function drawColorBar(
  svg: SVGSVGElement,
  at: { x: number; y: number; width: number },
  min: number,
  max: number,
  color: (a: number) => string,
): void {
  const id = `heat-bar-${++colorBarIds}`;
  const defs = svgEl("defs", {}, svg);
  const grad = svgEl("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 }, defs);
  for (let i = 0; i <= 10; i++) svgEl("stop", { offset: `${i * 10}%`, "stop-color": color(i / 10) }, grad);
  const bar = svgEl("g", { class: "color-bar", "data-min": min, "data-max": max }, svg);
  svgEl("rect", { x: at.x, y: at.y, width: at.width, height: 8, fill: `url(#${id})`, stroke: "#999" }, bar);
  const ticks: [number, string][] = [[0, fmtTick(min)], [1, fmtTick(max)]];
  if (min < 0 && max > 0) ticks.push([-min / (max - min), "0"]);
  for (const [f, text] of ticks) {
    const x = at.x + f * at.width;
    svgEl("line", { x1: x, x2: x, y1: at.y + 8, y2: at.y + 11, stroke: "#666" }, bar);
    const anchor = f === 0 ? "start" : f === 1 ? "end" : "middle";
    const t = svgEl("text", { x, y: at.y + 20, "text-anchor": anchor, fill: "#444", "font-size": 10 }, bar);
    t.textContent = text;
  }
}

let colorBarIds = 0;

function divergingColor(a: number): string {
  const t = Math.max(0, Math.min(1, a)) * 2 - 1; // −1 … 1
  const mix = (from: number, to: number, f: number) => Math.round(from + (to - from) * f).toString(16).padStart(2, "0");
  const f = Math.abs(t);
  return t < 0
    ? `#${mix(0xf7, 0x21, f)}${mix(0xf7, 0x66, f)}${mix(0xf7, 0xac, f)}`
    : `#${mix(0xf7, 0xb2, f)}${mix(0xf7, 0x18, f)}${mix(0xf7, 0x2b, f)}`;
}

/** White → deep blue, for a value in [0, 1]. */
function heatColor(a: number): string {
  const t = Math.max(0, Math.min(1, a));
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t).toString(16).padStart(2, "0");
  return `#${mix(0xf4, 0x08)}${mix(0xf7, 0x30)}${mix(0xfb, 0x6b)}`;
}
