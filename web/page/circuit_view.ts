/// <reference lib="dom" />
/**
 * The circuit view: edge attribution patching (`/api/circuit`) drawn as the residual graph — nodes by layer
 * (`input`, each layer's heads `a{l}.h{h}` and MLP `m{l}`, `logits`), the top-k edges by |score| as SVG paths
 * whose width is |score| and whose colour is its sign (blue raises m, red lowers it; a head's q input solid, k
 * dashed, v dotted) — with a top-k slider, the faithfulness of the shown circuit measured live by edge-level
 * patching (`/api/circuit/faithfulness`, debounced; stale answers are dropped), and SVG / PNG / JSON exports;
 * below it the node-level views of the same pair: direct logit attribution per head and MLP, and attribution
 * patching beside exact patching.
 *
 * @module
 */

import type { CircuitFaithfulnessResponse, CircuitResponse, ScoredEdge } from "../circuit.ts";
import { svgEl } from "./draw.ts";
import { download, svgText, svgToPng } from "./export.ts";

/** Answers an API path (the page's server, or the static analyzer's worker). */
export type CircuitApi = <T>(path: string, body?: unknown) => Promise<T>;

/** How long the slider must rest before the shown circuit's faithfulness is measured. */
const FAITHFULNESS_DEBOUNCE_MS = 250;

/** The k a fresh answer shows first. */
const DEFAULT_TOP_K = 20;

/**
 * Edge numbers ranked by |score|, largest first; ties to the earlier edge in forward order (as the library's
 * `rankEdges`, so the page's top k is the CLI's).
 *
 * @param scores per edge, in forward order
 * @returns edge numbers, best first
 * @example Usage
 * ```ts
 * import { rankByMagnitude } from "./circuit_view.ts";
 * rankByMagnitude([0.1, -0.5, 0.5]); // [1, 2, 0]
 * ```
 */
export function rankByMagnitude(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b);
}

/** A node's column: 0 the input, 2l + 1 layer l's heads, 2l + 2 its MLP, 2L + 1 the logits. */
function columnOf(node: string, layers: number): number {
  if (node === "input") return 0;
  if (node === "logits") return 2 * layers + 1;
  const head = /^a(\d+)\.h(\d+)$/.exec(node);
  if (head) return 2 * Number(head[1]) + 1;
  const mlp = /^m(\d+)$/.exec(node);
  if (mlp) return 2 * Number(mlp[1]) + 2;
  throw new Error(`Unknown circuit node ${JSON.stringify(node)}`);
}

const PATH_DASH: Record<string, string> = { q: "", k: "5 3", v: "1.5 2.5", mlp: "", logits: "" };
const PATH_DY: Record<string, number> = { q: -5, k: 0, v: 5, mlp: 0, logits: 0 };

/**
 * Draws the residual graph with the given edges.
 *
 * @param answer the `/api/circuit` answer
 * @param shown edge numbers to draw
 * @returns the SVG element (each edge a `path.circuit-edge` carrying `data-from`, `data-to`, `data-path`, `data-score`)
 */
export function drawCircuit(answer: CircuitResponse, shown: readonly number[]): SVGSVGElement {
  const nodes = [...answer.nodes, "logits"];
  const layers = Math.max(0, ...answer.nodes.filter((n) => /^m\d+$/.test(n)).map((n) => Number(n.slice(1)) + 1));
  const columns = 2 * layers + 2;
  const byColumn: string[][] = Array.from({ length: columns }, () => []);
  for (const n of nodes) byColumn[columnOf(n, layers)]!.push(n);
  const rowsMax = Math.max(...byColumn.map((c) => c.length));
  const colW = 96, rowH = 34, padX = 40, padY = 34, nodeW = 52, nodeH = 22;
  const width = padX * 2 + (columns - 1) * colW + nodeW, height = padY * 2 + Math.max(1, rowsMax) * rowH;
  const at = new Map<string, { x: number; y: number }>();
  byColumn.forEach((col, c) => {
    const top = padY + (rowsMax - col.length) * rowH / 2;
    col.forEach((n, i) => at.set(n, { x: padX + c * colW + nodeW / 2, y: top + i * rowH + rowH / 2 }));
  });
  const svg = svgEl("svg", {
    width: String(width),
    height: String(height),
    viewBox: `0 0 ${width} ${height}`,
    class: "circuit",
    role: "img",
    "aria-label": `Circuit: ${shown.length} of ${answer.edges.length} edges`,
    "font-family": "system-ui, sans-serif",
    "font-size": "11",
  });
  svg.append(svgEl("rect", { x: "0", y: "0", width: String(width), height: String(height), fill: "#fff" }));
  for (let l = 0; l < layers; l++) {
    const label = svgEl("text", {
      x: String(padX + (2 * l + 1.5) * colW + nodeW / 2),
      y: "16",
      "text-anchor": "middle",
    });
    label.setAttribute("fill", "#57606a");
    label.textContent = `layer ${l}`;
    svg.append(label);
  }
  const maxAbs = Math.max(1e-12, ...shown.map((e) => Math.abs(answer.edges[e]!.score)));
  const edgeGroup = svgEl("g", { fill: "none" });
  const used = new Set<string>();
  // the weakest first, so that the strongest lie on top
  for (const e of [...shown].sort((a, b) => Math.abs(answer.edges[a]!.score) - Math.abs(answer.edges[b]!.score))) {
    const edge = answer.edges[e]!;
    const a = at.get(edge.from)!, b = at.get(edge.to)!;
    used.add(edge.from).add(edge.to);
    const x1 = a.x + nodeW / 2, y1 = a.y, x2 = b.x - nodeW / 2, y2 = b.y + (PATH_DY[edge.path] ?? 0);
    const mid = (x1 + x2) / 2;
    const p = svgEl("path", {
      d: `M${x1.toFixed(1)},${y1.toFixed(1)} C${mid.toFixed(1)},${y1.toFixed(1)} ${mid.toFixed(1)},${y2.toFixed(1)} ${
        x2.toFixed(1)
      },${y2.toFixed(1)}`,
      class: "circuit-edge",
      stroke: edge.score >= 0 ? "#1f6feb" : "#cf222e",
      "stroke-width": (0.6 + 5.4 * Math.abs(edge.score) / maxAbs).toFixed(2),
      "stroke-opacity": "0.75",
      "data-from": edge.from,
      "data-to": edge.to,
      "data-path": edge.path,
      "data-score": String(edge.score),
    });
    if (PATH_DASH[edge.path]) p.setAttribute("stroke-dasharray", PATH_DASH[edge.path]!);
    const title = svgEl("title", {});
    title.textContent = `${edge.from} → ${edge.to}${edge.path === "logits" ? "" : `.${edge.path}`}: ${
      edge.score.toPrecision(5)
    }`;
    p.append(title);
    edgeGroup.append(p);
  }
  svg.append(edgeGroup);
  for (const n of nodes) {
    const { x, y } = at.get(n)!;
    const g = svgEl("g", { class: "circuit-node", "data-node": n });
    g.append(svgEl("rect", {
      x: String(x - nodeW / 2),
      y: String(y - nodeH / 2),
      width: String(nodeW),
      height: String(nodeH),
      rx: "4",
      fill: used.has(n) ? "#f6f8fa" : "#ffffff",
      stroke: used.has(n) ? "#1b1f24" : "#d0d7de",
    }));
    const t = svgEl("text", { x: String(x), y: String(y + 4), "text-anchor": "middle" });
    t.setAttribute("fill", used.has(n) ? "#1b1f24" : "#8c959f");
    t.textContent = n;
    g.append(t);
    svg.append(g);
  }
  return svg;
}

/** One series of a bar chart. */
export interface BarSeries {
  /** The legend's name. */
  name: string;
  /** Its colour for positive values (negative ones are drawn in red shades). */
  color: string;
  /** One value per label (`null`: no bar, e.g. a pruned head). */
  values: (number | null)[];
}

/**
 * A vertical bar chart: one group per label, one bar per series, zero in the middle, each bar carrying
 * `data-label`, `data-series` and `data-value`.
 *
 * @param labels the components (`a0.h1`, `m0`, …)
 * @param series the values to draw beside each other
 * @param caption the chart's title
 * @returns the SVG element
 */
export function drawBars(labels: readonly string[], series: readonly BarSeries[], caption: string): SVGSVGElement {
  const barW = series.length === 1 ? 12 : 7, groupW = barW * series.length + 6, padL = 54, padT = 30, plotH = 160;
  const width = padL + 10 + labels.length * groupW, height = padT + plotH + 46;
  const all = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const maxAbs = Math.max(1e-12, ...all.map(Math.abs));
  const zero = padT + plotH / 2, scale = plotH / 2 / maxAbs;
  const svg = svgEl("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "bars",
    role: "img",
    "aria-label": caption,
    "font-family": "system-ui, sans-serif",
    "font-size": "10",
  });
  svg.append(svgEl("rect", { x: 0, y: 0, width, height, fill: "#fff" }));
  const title = svgEl("text", { x: padL, y: 14, fill: "#1b1f24", "font-size": "12" }, svg);
  title.textContent = caption;
  series.forEach((s, i) => {
    const mark = svgEl("text", { x: width - 10, y: 14 + 12 * i, "text-anchor": "end", fill: s.color }, svg);
    mark.textContent = `■ ${s.name}`;
  });
  svgEl("line", { x1: padL, x2: width - 6, y1: zero, y2: zero, stroke: "#8c959f" }, svg);
  for (const v of [maxAbs, -maxAbs]) {
    const t = svgEl("text", { x: padL - 4, y: zero - v * scale + 3, "text-anchor": "end", fill: "#57606a" }, svg);
    t.textContent = v.toPrecision(2);
  }
  labels.forEach((label, j) => {
    const x0 = padL + 6 + j * groupW;
    series.forEach((s, i) => {
      const v = s.values[j];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const rect = svgEl("rect", {
        x: x0 + i * barW,
        y: v >= 0 ? zero - v * scale : zero,
        width: barW - 1,
        height: Math.max(0.5, Math.abs(v) * scale),
        fill: v >= 0 ? s.color : i === 0 ? "#cf222e" : "#f4a3a8",
        class: "bar",
        "data-label": label,
        "data-series": s.name,
        "data-value": String(v),
      }, svg);
      const tip = svgEl("title", {}, rect);
      tip.textContent = `${label} ${s.name}: ${v.toPrecision(5)}`;
    });
    const t = svgEl("text", {
      x: x0 + (groupW - 6) / 2,
      y: padT + plotH + 8,
      "text-anchor": "end",
      fill: "#57606a",
      transform: `rotate(-60 ${x0 + (groupW - 6) / 2} ${padT + plotH + 8})`,
    }, svg);
    t.textContent = label;
  });
  return svg;
}

/** The components of a [L][H] head table and an [L] MLP list, in forward order. */
function components(heads: (number | null)[][], mlps: number[]): { labels: string[]; values: (number | null)[] } {
  const labels: string[] = [], values: (number | null)[] = [];
  heads.forEach((row, l) => {
    row.forEach((v, hd) => {
      labels.push(`a${l}.h${hd}`);
      values.push(v);
    });
    labels.push(`m${l}`);
    values.push(mlps[l]!);
  });
  return { labels, values };
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function field(id: string, label: string, input: HTMLElement): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

/** The request fields of a run, as the form gives them. */
interface PairFields {
  clean: string;
  corrupted: string;
  target?: number | string;
  distractor?: number | string;
}

/** A logit field's value: a token id when all digits, else the token string as typed. */
function logitValue(s: string): number | string | undefined {
  if (s.trim() === "") return undefined;
  return /^\d+$/.test(s.trim()) ? Number(s.trim()) : s;
}

/**
 * Builds the circuit panel into `box` and wires it to `api`.
 *
 * @param box the panel's element (its children are replaced)
 * @param api answers `/api/circuit` and `/api/circuit/faithfulness`
 * @param defaults prompts to prefill (a language model gets a name-swap pair)
 * @example Usage
 * ```ts ignore
 * mountCircuitView(document.getElementById("circuit-panel")!, api, { clean: "…", corrupted: "…" });
 * ```
 */
export function mountCircuitView(
  box: HTMLElement,
  api: CircuitApi,
  defaults: Partial<Record<string, string>> = {},
): void {
  const input = (id: string, attrs: Record<string, string> = {}) =>
    h("input", { id, type: "text", spellcheck: "false", ...attrs });
  const form = h(
    "form",
    { id: "circuit-form", autocomplete: "off" },
    field("circuit-clean", "Clean prompt", input("circuit-clean", { required: "" })),
    field("circuit-corrupted", "Corrupted prompt (same token count)", input("circuit-corrupted", { required: "" })),
    field("circuit-target", "Target (token or id)", input("circuit-target", { placeholder: "clean prediction" })),
    field("circuit-distractor", "Distractor", input("circuit-distractor", { placeholder: "best other logit" })),
    field(
      "circuit-ig-steps",
      "EAP-IG steps (0: EAP)",
      input("circuit-ig-steps", { type: "number", min: "0", max: "64", value: "0" }),
    ),
    h("div", { class: "field" }, h("button", { id: "circuit-run", type: "submit" }, "Find circuit")),
  );
  for (const [k, v] of Object.entries(defaults)) {
    const el = form.querySelector<HTMLInputElement>(`#circuit-${k}`);
    if (el && v !== undefined) el.value = v;
  }
  const status = h("p", { id: "circuit-status", class: "muted hint", role: "status", "aria-live": "polite" }, " ");
  const slider = h("input", { id: "circuit-topk", type: "range", min: "0", max: "0", value: "0", step: "1" });
  const kLabel = h("output", { id: "circuit-k", for: "circuit-topk" }, "0");
  const threshold = h("span", { id: "circuit-threshold", class: "muted" }, " ");
  const faith = h("p", { id: "circuit-faithfulness", role: "status", "aria-live": "polite" }, " ");
  const controls = h(
    "div",
    { id: "circuit-controls", class: "controls hidden" },
    h("label", { for: "circuit-topk" }, "Top-k edges "),
    slider,
    " ",
    kLabel,
    " ",
    threshold,
    " ",
    h("button", { id: "circuit-export-svg", type: "button" }, "SVG"),
    h("button", { id: "circuit-export-png", type: "button" }, "PNG"),
    h("button", { id: "circuit-export-json", type: "button" }, "JSON"),
  );
  const graph = h("div", { id: "circuit-graph", class: "scroll" });
  const nodeViews = h("div", { id: "circuit-nodes", class: "hidden" });
  box.replaceChildren(
    h("h2", { id: "circuit-title" }, "Circuit view (edge attribution patching)"),
    h(
      "p",
      { class: "muted hint" },
      "m = logit[target] − logit[distractor] at the last position. Each edge u → v is scored " +
        "(out_u(corrupted) − out_u(clean)) · ∂m/∂input_v; blue raises m, red lowers it; width is |score|; a " +
        "head's q input solid, k dashed, v dotted. Faithfulness of the shown edges: (m(circuit) − m(corrupted)) / " +
        "(m(clean) − m(corrupted)), every other edge fed its corrupted value. Pre-norm models (GPT-2, Llama) only.",
    ),
    form,
    status,
    controls,
    faith,
    graph,
    nodeViews,
  );

  let answer: CircuitResponse | undefined;
  let pair: PairFields | undefined;
  let order: number[] = [];
  let shownFaith: CircuitFaithfulnessResponse | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let measure = 0; // the latest faithfulness request; older answers are dropped

  const shown = () => order.slice(0, Number(slider.value));
  const edgeJson = (e: number) => {
    const { from, to, path } = answer!.edges[e]!;
    return { from, to, path };
  };

  function redraw(): void {
    if (!answer) return;
    const k = Number(slider.value);
    kLabel.textContent = `${k} of ${answer.edges.length}`;
    const last = k > 0 ? Math.abs(answer.edges[order[k - 1]!]!.score) : Infinity;
    threshold.textContent = k > 0 ? `|score| ≥ ${last.toPrecision(3)}` : "no edge";
    graph.replaceChildren(drawCircuit(answer, shown()));
    faith.dataset.state = "busy";
    faith.textContent = `Measuring the faithfulness of ${k} edges…`;
    clearTimeout(timer);
    timer = setTimeout(() => void measureShown(), FAITHFULNESS_DEBOUNCE_MS);
  }

  async function measureShown(): Promise<void> {
    if (!answer || !pair) return;
    const id = ++measure, k = Number(slider.value);
    try {
      const f = await api<CircuitFaithfulnessResponse>("/api/circuit/faithfulness", {
        ...pair,
        edges: shown().map(edgeJson),
      });
      if (id !== measure) return;
      shownFaith = f;
      faith.dataset.state = "done";
      faith.dataset.k = String(f.k);
      faith.dataset.value = String(f.value);
      faith.dataset.mCircuit = String(f.m_circuit);
      faith.textContent = `Faithfulness of these ${k} edges: ${f.value.toFixed(4)} (m(circuit) ${
        f.m_circuit.toFixed(4)
      }; clean ${f.m_clean.toFixed(4)}, corrupted ${f.m_corrupted.toFixed(4)}; ${f.elapsed_ms} ms)`;
    } catch (err) {
      if (id !== measure) return;
      faith.dataset.state = "error";
      faith.textContent = `Faithfulness: ${(err as Error).message}`;
    }
  }

  slider.addEventListener("input", redraw);

  /** DLA per head and MLP, and AtP beside exact patching, each with its own SVG / PNG downloads. */
  function drawNodeViews(r: CircuitResponse): void {
    const chart = (id: string, svg: SVGSVGElement, name: string) => {
      const png = h("button", { id: `${id}-png`, type: "button" }, "PNG");
      const svgButton = h("button", { id: `${id}-svg`, type: "button" }, "SVG");
      svgButton.addEventListener(
        "click",
        () => download(new Blob([svgText(svg)], { type: "image/svg+xml" }), `${name}.svg`),
      );
      png.addEventListener("click", async () => download(await svgToPng(svg), `${name}.png`));
      return h("div", { id, class: "scroll" }, svg, h("div", { class: "controls" }, svgButton, png));
    };
    const parts: Node[] = [];
    if (r.dla) {
      const { labels, values } = components(r.dla.heads, r.dla.mlps);
      parts.push(
        h("h3", {}, "Direct logit attribution (clean prompt)"),
        h(
          "p",
          { class: "muted hint" },
          `Each head's and MLP's write to the final residual, through the final norm's clean scale, read on ` +
            `logit[${r.target_name}] − logit[${r.distractor_name}]. Embeddings ${r.dla.embed.toFixed(4)}, ` +
            `attention biases ${r.dla.attn_bias.reduce((a, b) => a + b, 0).toFixed(4)}, constant ` +
            `${r.dla.constant.toFixed(4)}; the parts sum to m = ${r.dla.metric.toFixed(4)}.`,
        ),
        chart(
          "circuit-dla",
          drawBars(labels, [{ name: "DLA", color: "#1f6feb", values }], "DLA per head and MLP"),
          "dla",
        ),
      );
    }
    const atp = components(r.atp.heads, r.atp.mlps), exact = components(r.atp.exact.heads, r.atp.exact.mlps);
    parts.push(
      h("h3", {}, "Attribution patching beside exact patching"),
      h(
        "p",
        { class: "muted hint" },
        "AtP = Σ positions (a_clean − a_corrupted) · ∂m/∂a on the corrupted run (one backward for every head's z " +
          "and MLP output), beside m(corrupted with that component clean) − m(corrupted)" +
          (r.atp.pearson === null ? "." : `; Pearson r = ${r.atp.pearson.toFixed(4)}.`),
      ),
      chart(
        "circuit-atp",
        drawBars(atp.labels, [
          { name: "AtP", color: "#1f6feb", values: atp.values },
          { name: "exact", color: "#8250df", values: exact.values },
        ], "AtP and exact patching per head and MLP"),
        "atp",
      ),
    );
    nodeViews.replaceChildren(...parts);
    nodeViews.classList.remove("hidden");
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = (id: string) => form.querySelector<HTMLInputElement>(`#${id}`)!.value;
    const req: PairFields = { clean: value("circuit-clean"), corrupted: value("circuit-corrupted") };
    const target = logitValue(value("circuit-target")), distractor = logitValue(value("circuit-distractor"));
    if (target !== undefined) req.target = target;
    if (distractor !== undefined) req.distractor = distractor;
    const steps = Number(value("circuit-ig-steps") || "0");
    const button = form.querySelector<HTMLButtonElement>("#circuit-run")!;
    button.disabled = true;
    status.dataset.state = "busy";
    status.textContent = steps > 0 ? `Scoring every edge (EAP-IG, ${steps} steps)…` : "Scoring every edge (EAP)…";
    try {
      const r = await api<CircuitResponse>("/api/circuit", steps > 0 ? { ...req, ig_steps: steps } : req);
      answer = r;
      pair = req;
      order = rankByMagnitude(r.edges.map((x) => x.score));
      slider.max = String(r.edges.length);
      slider.value = String(Math.min(DEFAULT_TOP_K, r.edges.length));
      controls.classList.remove("hidden");
      status.dataset.state = "done";
      status.dataset.edges = String(r.edges.length);
      status.textContent = `${r.ig_steps === null ? "EAP" : `EAP-IG (${r.ig_steps} steps)`}: ${r.edges.length} edges ` +
        `between ${r.nodes.length + 1} nodes; m = logit[${r.target_name}] − logit[${r.distractor_name}]: clean ` +
        `${r.m_clean.toFixed(4)}, corrupted ${r.m_corrupted.toFixed(4)}; ${r.tokens_clean.length} tokens, ` +
        `${r.elapsed_ms} ms.`;
      redraw();
      drawNodeViews(r);
    } catch (err) {
      status.dataset.state = "error";
      status.textContent = `Error: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });

  const svgNow = () => graph.querySelector<SVGSVGElement>("svg.circuit");
  box.querySelector("#circuit-export-svg")!.addEventListener("click", () => {
    const svg = svgNow();
    if (svg) download(new Blob([svgText(svg)], { type: "image/svg+xml" }), "circuit.svg");
  });
  box.querySelector("#circuit-export-png")!.addEventListener("click", async () => {
    const svg = svgNow();
    if (svg) download(await svgToPng(svg), "circuit.png");
  });
  box.querySelector("#circuit-export-json")!.addEventListener("click", () => {
    if (!answer || !pair) return;
    const k = Number(slider.value);
    const json = {
      ...pair,
      ...answer,
      top_k: k,
      circuit: shown().map((e): ScoredEdge => answer!.edges[e]!),
      faithfulness: shownFaith && shownFaith.k === k ? shownFaith : null,
    };
    download(new Blob([JSON.stringify(json, null, 1)], { type: "application/json" }), "circuit.json");
  });
}
