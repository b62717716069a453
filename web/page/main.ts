/// <reference lib="dom" />
/**
 * The analyzer page: a form, then the head view, the model view, the entropy and importance heatmaps and
 * the exports. Served as `/app.js` (bundled by `web/build_assets.ts`); the same script, inlined in an
 * exported HTML file, draws from the data embedded there instead of calling the API.
 *
 * @module
 */

import { drawAttentionGraphView } from "./attribution_view.ts";
import { mountCircuitView } from "./circuit_view.ts";
import { mountHeadRolesView } from "./head_roles_view.ts";
import { BrowserCompute } from "./browser_compute.ts";
import { drawHeadView, drawHeatmap, drawThumbnail, headColor } from "./draw.ts";
import { download, standaloneHtml, svgText, svgToPng } from "./export.ts";
import { tableDownloads } from "./table_export.ts";
import { drawStats, drawStrip, STAT_NAMES, STRIP_METHODS, type StripMethod, stripScores } from "./study_view.ts";
import type {
  AnalyzeResponse,
  AttributeMethod,
  AttributeResponse,
  GenerateResponse,
  HeadStats,
  ImportanceResponse,
  ModelSummary,
  PatchResponse,
  ViewData,
  ViewState,
} from "./types.ts";

const ownScript = document.currentScript as HTMLScriptElement | null;

/** The page's view of what it shows, as a link keeps it (the static analyzer writes it into its URL). */
export interface PageViewState {
  text: string;
  textPair?: string;
  /** Layer index (into the analysis' layers). */
  layer: number;
  /** Heads shown (original numbering). */
  heads: number[];
  /** The attribution strip's method. */
  method: string;
}

/**
 * Who answers the page's API paths: a bertology server over HTTP (the default), or the static analyzer's worker
 * (`web/static_analyzer/`), which answers the same paths with the same bodies in the browser.
 */
export interface PageHost {
  /** Answers `path` (`/api/model`, `/api/analyze`, …) with `body`, or throws with the server's message. */
  api<T>(path: string, body?: unknown): Promise<T>;
  /** The Compute selector's one entry, e.g. "this browser (bertology WASM, 2 threads)". */
  computeLabel: string;
  /** Called whenever the view changes (text analysed, layer, heads, attribution method). */
  onView?(view: PageViewState): void;
  /** A view to restore: its text is analysed at once, then its layer, heads and method are shown. */
  initial?: Partial<PageViewState>;
}

let host: PageHost | undefined;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

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

function buildShell(standalone: boolean): void {
  const app = $("app");
  app.replaceChildren(
    h(
      "header",
      {},
      h("h1", {}, "bertology analyzer"),
      h("p", { id: "model-info", class: "muted" }, "Loading the model…"),
    ),
    h(
      "form",
      { id: "input-form", class: standalone ? "hidden" : "", autocomplete: "off" },
      h(
        "div",
        { class: "field wide" },
        h("label", { for: "text" }, "Sentence"),
        h("textarea", { id: "text", rows: "2", required: "", spellcheck: "false" }),
      ),
      h(
        "div",
        { class: "field wide" },
        h("label", { for: "text-pair" }, "Second sentence (optional)"),
        h("input", { id: "text-pair", type: "text", spellcheck: "false" }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "label" }, "Label (for head importance)"),
        h("select", { id: "label" }, h("option", { value: "" }, "none")),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "compute" }, "Compute"),
        h("select", { id: "compute" }),
      ),
      h("div", { class: "field" }, h("button", { id: "analyze", type: "submit" }, "Analyze")),
      // a language model continues the sentence (greedy unless a temperature is given)
      h(
        "div",
        { id: "continue-field", class: "field hidden" },
        h("label", { for: "new-tokens" }, "New tokens"),
        h(
          "span",
          { class: "continue-row" },
          h("input", { id: "new-tokens", type: "number", min: "1", max: "256", step: "1", value: "30" }),
          h("button", { id: "continue", type: "button", title: "Continue the sentence (greedy)" }, "Continue"),
        ),
      ),
    ),
    h("p", { id: "status", role: "status", "aria-live": "polite", "data-state": "idle" }, " "),
    h("p", { id: "continuation", class: "hidden", "aria-label": "Continuation (generated tokens marked)" }),
    h(
      "div",
      { id: "results", class: "empty" },
      h(
        "section",
        { id: "head-panel", "aria-labelledby": "head-title" },
        h("h2", { id: "head-title" }, "Head view"),
        h(
          "div",
          { class: "controls" },
          h("label", { for: "layer" }, "Layer "),
          h("select", { id: "layer" }),
          h("div", { id: "head-toggles", role: "group", "aria-label": "Heads shown" }),
          h("button", { id: "all-heads", type: "button" }, "All heads"),
          h(
            "label",
            { class: "check", title: "Split words merged (Clark et al.): attention to a word = sum, from it = mean" },
            h("input", { id: "word-level", type: "checkbox" }),
            " Word level",
          ),
        ),
        h(
          "div",
          { class: "controls exports", role: "group", "aria-label": "Export" },
          h("span", { class: "muted" }, "Export:"),
          h("button", { id: "export-svg", type: "button" }, "SVG"),
          h("button", { id: "export-png", type: "button" }, "PNG"),
          h("button", { id: "export-html", type: "button" }, "HTML"),
        ),
        h("div", { id: "attention-downloads", class: "controls exports" }),
        h(
          "div",
          { id: "attribution", role: "region", "aria-labelledby": "attribution-title" },
          h("h3", { id: "attribution-title" }, "Why the model decided: token attribution"),
          h(
            "div",
            { id: "attribution-methods", class: "controls", role: "group", "aria-label": "Attribution method" },
            ...STRIP_METHODS.map((m) =>
              h("button", { id: `attr-${m.id}`, type: "button", "data-method": m.id, "aria-pressed": "false" }, m.label)
            ),
          ),
          h("p", { id: "attribution-strip", class: "token-strip", "aria-live": "polite" }),
          h("p", { id: "attribution-note", class: "muted hint" }, " "),
        ),
        h("p", { class: "muted hint" }, "Hover or focus (Tab) a token to see only its attention; Esc to reset."),
        h("div", { id: "head-view", class: "scroll" }),
      ),
      h(
        "section",
        { id: "side-panel" },
        h("h2", {}, "Output"),
        h("div", { id: "output" }),
        h("h2", { id: "model-title" }, "Model view"),
        h("p", { class: "muted hint" }, "Every layer × head; click (or Enter) one to open it."),
        h("div", { id: "model-view", class: "scroll", role: "group", "aria-labelledby": "model-title" }),
        h("h2", {}, "Attention rollout and flow"),
        h("div", { id: "graph-view" }),
        h("h2", {}, "Attention entropy"),
        h("div", { id: "entropy-map" }),
        h("h2", {}, "Head importance"),
        h("div", { id: "importance-map" }, h("p", { class: "muted" }, "Choose a label and analyze to measure it.")),
      ),
      h(
        "section",
        { id: "study-panel", "aria-label": "Head statistics and activation patching" },
        h(
          "div",
          { id: "stats-panel" },
          h("h2", { id: "stats-title" }, "Head statistics (this sentence)"),
          h(
            "div",
            { class: "controls" },
            h("label", { for: "stats-kind" }, "Statistic "),
            h("select", { id: "stats-kind" }, ...STAT_NAMES.map((st) => h("option", { value: st.id }, st.label))),
            h("span", { id: "stats-level", class: "muted hint" }, " "),
          ),
          h("div", { id: "stats-map" }),
          h("div", { id: "stats-table" }),
        ),
        h(
          "div",
          { id: "patch-panel" },
          h("h2", { id: "patch-title" }, "Activation patching per head"),
          h(
            "p",
            { class: "muted hint" },
            "Each head's output on the clean sentence is put into the corrupted run: the restored fraction of the " +
              "logit difference (1 = the clean answer comes back). Both need the same number of tokens.",
          ),
          h(
            "form",
            { id: "patch-form", class: standalone ? "hidden" : "", autocomplete: "off" },
            h(
              "div",
              { class: "field" },
              h("label", { for: "patch-clean" }, "Clean sentence"),
              h("input", { id: "patch-clean", type: "text", spellcheck: "false", required: "" }),
            ),
            h(
              "div",
              { class: "field" },
              h("label", { for: "patch-corrupted" }, "Corrupted sentence (e.g. one word swapped)"),
              h("input", { id: "patch-corrupted", type: "text", spellcheck: "false", required: "" }),
            ),
            h("div", { class: "field" }, h("button", { id: "patch-run", type: "submit" }, "Patch")),
          ),
          h("p", { id: "patch-status", class: "muted hint", role: "status", "aria-live": "polite" }, " "),
          h("div", { id: "patch-map" }),
        ),
      ),
    ),
    // beside the sentence analysis, not part of it: shown before any analysis
    h("section", { id: "circuit-panel", class: standalone ? "hidden" : "", "aria-label": "Circuit view" }),
    h("section", { id: "head-roles-panel", class: standalone ? "hidden" : "", "aria-label": "Head roles" }),
  );
}

function status(text: string, state: "idle" | "busy" | "done" | "error"): void {
  const s = $("status");
  s.textContent = text || " ";
  s.dataset.state = state;
}

/** The page's state: what is shown and what is selected. */
class Viewer {
  data: ViewData | null = null;
  state: ViewState = { layer: 0, heads: [] };
  readonly model: ModelSummary;
  readonly standalone: boolean;

  constructor(model: ModelSummary, standalone = false) {
    this.model = model;
    this.standalone = standalone;
  }

  show(data: ViewData, state?: ViewState): void {
    this.data = data;
    const a = data.analysis;
    const prev = this.state;
    this.state = state ?? {
      layer: Math.min(this.state.layer, a.layers.length - 1),
      heads: this.state.heads.length ? this.state.heads.filter((x) => a.heads.includes(x)) : [...a.heads],
      wordLevel: prev.wordLevel === true,
      attribution: prev.attribution ?? "saliency",
      stat: prev.stat ?? "cls",
    };
    if (!a.word_level) this.state.wordLevel = false;
    $<HTMLInputElement>("word-level").checked = this.state.wordLevel === true;
    $<HTMLInputElement>("word-level").disabled = !a.word_level;
    $<HTMLSelectElement>("stats-kind").value = this.state.stat ?? "cls";
    if (this.state.heads.length === 0) this.state.heads = [...a.heads];
    $("results").classList.remove("empty");
    const layerSel = $<HTMLSelectElement>("layer");
    layerSel.replaceChildren(...a.layers.map((l, i) => h("option", { value: String(i) }, `${l}`)));
    layerSel.value = String(this.state.layer);
    $("attention-downloads").replaceChildren(
      tableDownloads(
        "attention",
        "raw attention [layer][head][query][key]",
        ["layer", "head", "query", "key"],
        () => this.data?.analysis.attention,
      ),
    );
    this.drawToggles();
    this.drawHeadView();
    this.drawOutput();
    this.drawModelView();
    this.drawMaps();
    drawAttentionGraphView($("graph-view"), a, this.model.layers);
    this.drawStats();
    this.drawPatch();
    void this.setAttribution((this.state.attribution ?? "saliency") as StripMethod);
  }

  /** The word-level units and maps, when the view is word level and the analysis has them. */
  words(): NonNullable<AnalyzeResponse["word_level"]> | undefined {
    return this.state.wordLevel ? this.data?.analysis.word_level : undefined;
  }

  setWordLevel(on: boolean): void {
    this.state.wordLevel = on;
    this.drawHeadView();
    this.drawStats();
    void this.setAttribution((this.state.attribution ?? "saliency") as StripMethod);
  }

  /** Shows the strip for a method, asking the API for it first when it is one of the gradient methods. */
  async setAttribution(method: StripMethod): Promise<void> {
    const d = this.data;
    if (!d) return;
    this.state.attribution = method;
    this.notify();
    for (const b of $("attribution-methods").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.method === method));
      const api = STRIP_METHODS.find((m) => m.id === b.dataset.method)?.api ?? false;
      b.disabled = this.standalone && api && !d.attributions?.[b.dataset.method as AttributeMethod];
    }
    const strip = $("attribution-strip"), note = $("attribution-note");
    const isApi = STRIP_METHODS.find((m) => m.id === method)?.api ?? false;
    let attribution: AttributeResponse | undefined;
    if (isApi) {
      const m = method as AttributeMethod;
      attribution = d.attributions?.[m];
      if (!attribution && !this.standalone) {
        strip.dataset.state = "busy";
        note.textContent = "Computing…";
        try {
          const req: Record<string, unknown> = { text: d.text, method: m };
          if (d.text_pair) req.text_pair = d.text_pair;
          attribution = await api<AttributeResponse>("/api/attribute", req);
        } catch (e) {
          if (this.data === d && this.state.attribution === method) {
            strip.dataset.state = "error";
            note.textContent = `Attribution failed: ${(e as Error).message}`;
          }
          return;
        }
        d.attributions = { ...d.attributions, [m]: attribution };
        if (this.data !== d || this.state.attribution !== method) return; // the view moved on meanwhile
      }
    }
    const r = stripScores(d.analysis, this.model.layers, method, attribution, this.words()?.words);
    if (typeof r === "string") {
      strip.replaceChildren();
      strip.dataset.state = "empty";
      note.textContent = r;
      return;
    }
    drawStrip(strip, r);
    strip.dataset.state = "done";
    strip.dataset.method = method;
    strip.setAttribute("aria-label", `${method} scores over ${r.units.length} ${this.words() ? "words" : "tokens"}`);
    note.textContent = r.note + (this.words() ? " Summed per word." : "");
  }

  drawStats(): void {
    const a = this.data!.analysis;
    const w = this.words();
    const stats: HeadStats | undefined = w ? w.stats : a.stats;
    const kind = ($<HTMLSelectElement>("stats-kind").value || "cls") as keyof HeadStats;
    this.state.stat = kind;
    if (!stats) {
      $("stats-map").replaceChildren(h("p", { class: "muted" }, "Not part of this analysis."));
      $("stats-table").replaceChildren();
      return;
    }
    $("stats-level").textContent = w ? `over ${w.words.length} words` : `over ${a.tokens.length} tokens`;
    const units = w ? w.words.length : a.tokens.length;
    drawStats($("stats-map"), $("stats-table"), stats, kind, (l, hd) => this.pick(l, hd), units);
  }

  drawPatch(): void {
    const p = this.data?.patch;
    const box = $("patch-map");
    if (!p) {
      box.replaceChildren(h("p", { class: "muted" }, "Type two sentences and press Patch."));
      return;
    }
    const r = p.result;
    const mlp = r.mlp.map((v, l) => `L${l} ${v.toFixed(2)}`).join(", ");
    box.replaceChildren(
      h(
        "p",
        { class: "muted hint" },
        `“${p.clean}” → “${p.corrupted}”. d = logit[${r.target_name}] − logit[${r.other_name}]: clean ` +
          `${r.logit_diff_clean.toFixed(3)}, ` +
          `corrupted ${r.logit_diff_corrupted.toFixed(3)}.` +
          (this.model.pruned_heads.some((p) => p.length > 0) ? " Grey: pruned head." : ""),
      ),
      drawHeatmap(r.effect, "restored fraction", (l, hd) => this.pick(l, hd), { min: -1, max: 1, diverging: true }),
      h("p", { class: "muted hint" }, `MLP per layer: ${mlp}.`),
      tableDownloads("patching", "patching effects", ["layer", "head"], () => this.data?.patch?.result.effect),
    );
  }

  /** Opens a head picked on a heatmap (layer and head in original numbering), when the analysis holds it. */
  pick(layer: number, head: number): void {
    const a = this.data!.analysis;
    const li = a.layers.indexOf(layer);
    if (li >= 0 && a.heads.includes(head)) this.open(li, head);
  }

  drawToggles(): void {
    const a = this.data!.analysis;
    const box = $("head-toggles");
    box.replaceChildren(...a.heads.map((hd) => {
      const b = h("button", {
        type: "button",
        class: "head-toggle",
        "data-head": String(hd),
        "aria-pressed": String(this.state.heads.includes(hd)),
        "aria-label": `Head ${hd}`,
        title: `Head ${hd}`,
      }, String(hd));
      b.style.setProperty("--head", headColor(hd, this.model.heads));
      b.addEventListener("click", () => {
        const on = this.state.heads.includes(hd);
        this.state.heads = on
          ? this.state.heads.filter((x) => x !== hd)
          : [...this.state.heads, hd].sort((x, y) => x - y);
        this.drawToggles();
        this.drawHeadView();
        (box.querySelector(`[data-head="${hd}"]`) as HTMLElement | null)?.focus();
      });
      return b;
    }));
  }

  currentMaps(): { heads: number[]; maps: number[][][] } {
    const a = this.data!.analysis;
    const attention = this.words()?.attention ?? a.attention;
    const heads: number[] = [], maps: number[][][] = [];
    for (const hd of this.state.heads) {
      const m = attention[this.state.layer]?.[a.heads.indexOf(hd)];
      if (m) (heads.push(hd), maps.push(m));
    }
    return { heads, maps };
  }

  drawHeadView(): void {
    const a = this.data!.analysis;
    const { heads, maps } = this.currentMaps();
    const w = this.words();
    const generatedFrom = w ? undefined : this.data!.generated_from;
    const svg = drawHeadView({
      tokens: w ? w.words.map((x) => x.text) : a.tokens,
      maps,
      heads,
      headCount: this.model.heads,
      title: `Layer ${a.layers[this.state.layer]} — ${
        heads.length === 0 ? "no head selected" : `${heads.length === 1 ? "head" : "heads"} ${heads.join(", ")}`
      }${w ? " (words)" : ""}${generatedFrom !== undefined ? " · generated tokens in orange" : ""}`,
      ...(generatedFrom !== undefined ? { generatedFrom } : {}),
    });
    $("head-view").replaceChildren(svg);
    this.notify();
  }

  /** Tells the host what the view now shows. */
  notify(): void {
    const d = this.data;
    if (!d || !host?.onView) return;
    host.onView({
      text: d.text,
      ...(d.text_pair ? { textPair: d.text_pair } : {}),
      layer: this.state.layer,
      heads: [...this.state.heads],
      method: this.state.attribution ?? "saliency",
    });
  }

  drawOutput(): void {
    const a = this.data!.analysis;
    const out = $("output");
    if (a.probabilities) {
      const best = a.probabilities.reduce((m, p) => (p.probability > m.probability ? p : m));
      out.replaceChildren(
        h(
          "table",
          { class: "probs" },
          h("caption", { class: "muted" }, "Label probabilities"),
          ...a.probabilities.map((p) =>
            h(
              "tr",
              { class: p === best ? "best" : "" },
              h("th", { scope: "row" }, p.label),
              h("td", {}, p.probability.toFixed(4)),
              h("td", {}, h("meter", { min: "0", max: "1", value: String(p.probability) })),
            )
          ),
        ),
      );
    } else if (a.next_token) {
      out.replaceChildren(
        h("p", { class: "muted" }, "Likeliest next tokens: "),
        h("p", {}, a.next_token.slice(0, 5).map((t) => `${t.token} (${t.probability.toFixed(3)})`).join(", ")),
      );
    } else if (a.logits) {
      out.replaceChildren(h("p", { class: "muted" }, "Predicted value: "), h("p", {}, a.logits.map(String).join(", ")));
    } else out.replaceChildren(h("p", { class: "muted" }, "This checkpoint has no output head."));
    const where = this.data!.compute;
    out.append(
      h(
        "p",
        { id: "computed-by", class: "muted", "data-compute": where ?? "" },
        `${a.tokens.length} tokens · computed in ${a.elapsed_ms} ms` + (where ? ` · ${where}` : ""),
      ),
    );
  }

  drawModelView(): void {
    const a = this.data!.analysis;
    const grid = $("model-view");
    grid.style.setProperty("--cols", String(a.heads.length + 1));
    const cells: HTMLElement[] = [h("span", {})];
    for (const hd of a.heads) cells.push(h("span", { class: "axis" }, `H${hd}`));
    a.layers.forEach((layer, li) => {
      cells.push(h("span", { class: "axis" }, `L${layer}`));
      a.heads.forEach((hd, hi) => {
        const m = a.attention[li]?.[hi];
        if (!m) {
          cells.push(h("span", { class: "thumb pruned", title: `Layer ${layer} head ${hd}: pruned` }, "×"));
          return;
        }
        const b = h("button", {
          type: "button",
          class: "thumb",
          "data-layer": String(layer),
          "data-head": String(hd),
          "aria-label": `Open layer ${layer} head ${hd}`,
          title: `Layer ${layer}, head ${hd}`,
        });
        b.append(drawThumbnail(m, headColor(hd, this.model.heads)));
        b.addEventListener("click", () => this.open(li, hd));
        cells.push(b);
      });
    });
    grid.replaceChildren(...cells);
  }

  drawMaps(): void {
    const d = this.data!;
    const pick = (l: number, hd: number) => {
      const li = d.analysis.layers.indexOf(l);
      if (li >= 0 && d.analysis.heads.includes(hd)) this.open(li, hd);
    };
    // entropy of a row over T keys is at most ln T: the scale's end, whatever this sentence reached
    const maxEntropy = Math.log(Math.max(2, d.analysis.tokens.length));
    $("entropy-map").replaceChildren(
      drawHeatmap(d.analysis.entropy, "entropy (nats)", pick, { min: 0, max: maxEntropy }),
    );
    if (d.importance) {
      $("importance-map").replaceChildren(
        h("p", { class: "muted" }, `Measured with label “${d.label ?? "next token"}”; loss ${d.importance.loss}.`),
        // normalised per layer, then to 0 … 1 over the model (Michel et al.)
        drawHeatmap(d.importance.importance, "importance", pick, { min: 0, max: 1 }),
        tableDownloads("importance", "importance", ["layer", "head"], () => this.data?.importance?.importance),
      );
    } else {
      $("importance-map").replaceChildren(h("p", { class: "muted" }, "Choose a label and analyze to measure it."));
    }
  }

  open(layerIndex: number, head: number): void {
    this.state = { ...this.state, layer: layerIndex, heads: [head] };
    $<HTMLSelectElement>("layer").value = String(layerIndex);
    this.drawToggles();
    this.drawHeadView();
    $("head-panel").scrollIntoView({ block: "nearest" });
    ($("head-view").querySelector(".token-left") as SVGElement | null)?.focus();
  }

  setLayer(index: number): void {
    this.state.layer = index;
    this.drawHeadView();
  }
}

const api = <T>(path: string, body?: unknown): Promise<T> => host ? host.api<T>(path, body) : httpApi<T>(path, body);

async function httpApi<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(
    path,
    body === undefined ? {} : {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    },
  );
  const json = await res.json().catch(() => ({ error: "bad_response", detail: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(`${json.detail ?? json.error} (HTTP ${res.status})`);
  return json as T;
}

async function ownSources(): Promise<{ css: string; js: string }> {
  if (ownScript && !ownScript.src) {
    return { css: document.querySelector("style")?.textContent ?? "", js: ownScript.textContent ?? "" };
  }
  const [css, js] = await Promise.all([
    fetch("app.css").then((r) => r.text()),
    fetch(ownScript?.src ?? "app.js").then((r) => r.text()),
  ]);
  return { css, js };
}

function fileStem(v: Viewer): string {
  const a = v.data!.analysis;
  return `bertology-${v.model.name}-layer${a.layers[v.state.layer]}-heads${v.state.heads.join("_") || "none"}`;
}

function wire(v: Viewer, standalone: boolean): void {
  let browser: BrowserCompute | undefined;
  $<HTMLSelectElement>("layer").addEventListener(
    "change",
    (e) => v.setLayer(Number((e.target as HTMLSelectElement).value)),
  );
  $("all-heads").addEventListener("click", () => {
    if (!v.data) return;
    v.state.heads = [...v.data.analysis.heads];
    v.drawToggles();
    v.drawHeadView();
  });
  const svg = () => $("head-view").querySelector("svg") as SVGSVGElement | null;
  $("export-svg").addEventListener("click", () => {
    const s = svg();
    if (s) download(new Blob([svgText(s)], { type: "image/svg+xml" }), `${fileStem(v)}.svg`);
  });
  $("export-png").addEventListener("click", async () => {
    const s = svg();
    if (!s) return;
    try {
      download(await svgToPng(s), `${fileStem(v)}.png`);
    } catch (e) {
      status(`PNG export failed: ${(e as Error).message}`, "error");
    }
  });
  $("export-html").addEventListener("click", async () => {
    if (!v.data) return;
    const { css, js } = await ownSources();
    const html = standaloneHtml(v.data, v.state, css, js);
    download(new Blob([html], { type: "text/html" }), `${fileStem(v)}.html`);
  });
  $<HTMLInputElement>("word-level").addEventListener("change", (e) => {
    if (v.data) v.setWordLevel((e.target as HTMLInputElement).checked);
  });
  for (const b of $("attribution-methods").querySelectorAll("button")) {
    b.addEventListener("click", () => void v.setAttribution(b.dataset.method as StripMethod));
  }
  $<HTMLSelectElement>("stats-kind").addEventListener("change", () => {
    if (v.data) v.drawStats();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.activeElement instanceof SVGElement) document.activeElement.blur();
  });
  if (standalone) return;

  // a language model gets a name-swap pair to start from (the circuit metric's classic example)
  mountCircuitView(
    $("circuit-panel"),
    api,
    v.model.task === "lm"
      ? {
        clean: "When Mary and John went to the store, John gave a drink to",
        corrupted: "When Mary and John went to the store, Mary gave a drink to",
        target: " Mary",
        distractor: " John",
      }
      : {},
  );

  mountHeadRolesView($("head-roles-panel"), api, v.model.limits.maxTokens, (l, hd) => {
    if (v.data) v.pick(l, hd);
  });

  $("continue").addEventListener("click", async () => {
    const prompt = $<HTMLTextAreaElement>("text").value;
    if (prompt.trim() === "") {
      status("Type a prompt to continue.", "error");
      return;
    }
    const buttons = [$<HTMLButtonElement>("continue"), $<HTMLButtonElement>("analyze")];
    for (const b of buttons) b.disabled = true;
    $("results").classList.add("busy");
    status("Generating…", "busy");
    try {
      const r = await api<GenerateResponse>("/api/generate", {
        prompt,
        max_new_tokens: Number($<HTMLInputElement>("new-tokens").value),
      });
      // generation runs on our engine, wherever the analyses are computed
      const compute = host ? host.computeLabel : "server (wasm)";
      v.show({
        model: v.model,
        text: r.text,
        analysis: r.analysis,
        importance: null,
        compute,
        generated_from: r.prompt_length,
      });
      showContinuation(r);
      const n = r.ids.length - r.prompt_length;
      status(
        `Done: ${n} new tokens (${r.stop === "eos" ? "stopped at the end-of-sequence token" : "max new tokens"}) in ` +
          `${r.elapsed_ms} ms; the head view shows all ${r.ids.length} tokens, the generated ones in orange.`,
        "done",
      );
    } catch (err) {
      status(`Error: ${(err as Error).message}`, "error");
    } finally {
      for (const b of buttons) b.disabled = false;
      $("results").classList.remove("busy");
    }
  });

  $("patch-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = v.data;
    if (!d) {
      $("patch-status").textContent = "Analyze a sentence first.";
      return;
    }
    const clean = $<HTMLInputElement>("patch-clean").value, corrupted = $<HTMLInputElement>("patch-corrupted").value;
    const button = $<HTMLButtonElement>("patch-run");
    const st = $("patch-status");
    button.disabled = true;
    st.dataset.state = "busy";
    st.textContent = "Patching every head…";
    try {
      const result = await api<PatchResponse>("/api/patch", { clean, corrupted });
      if (v.data !== d) return;
      d.patch = { clean, corrupted, result };
      v.drawPatch();
      st.dataset.state = "done";
      st.textContent = `Done: ${result.tokens_clean.length} tokens, in ${result.elapsed_ms} ms.`;
    } catch (err) {
      st.dataset.state = "error";
      st.textContent = `Error: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });

  $("input-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $<HTMLTextAreaElement>("text").value;
    const pair = $<HTMLInputElement>("text-pair").value.trim();
    const label = $<HTMLSelectElement>("label").value;
    const button = $<HTMLButtonElement>("analyze");
    button.disabled = true;
    $("results").classList.add("busy");
    $("results").setAttribute("aria-busy", "true");
    status("Computing…", "busy");
    try {
      const choice = $<HTMLSelectElement>("compute").value;
      // the server backend: the chosen one, or (computing in the browser) the server's default for importance
      const backend = choice.startsWith("server:") ? choice.slice("server:".length) : v.model.backends[0];
      let analysis: AnalyzeResponse, compute: string;
      if (choice === "browser") {
        status("Computing in this browser (loading onnxruntime-web and the model the first time)…", "busy");
        browser ??= new BrowserCompute(v.model, api);
        const r = await browser.analyze(text, pair || undefined);
        analysis = r.analysis;
        compute = `in this browser (onnxruntime-web ${r.provider})`;
      } else {
        const req: Record<string, unknown> = { text, word_level: true, backend };
        if (pair) req.text_pair = pair;
        analysis = await api<AnalyzeResponse>("/api/analyze", req);
        compute = host ? host.computeLabel : `server (${backend})`;
      }
      let importance: ImportanceResponse | null = null;
      if (label !== "") {
        status("Measuring head importance…", "busy");
        const ex: Record<string, unknown> = { text };
        if (pair) ex.text_pair = pair;
        if (v.model.has_classifier) ex.label = v.model.task === "regress" ? Number(label) : label;
        importance = await api<ImportanceResponse>("/api/importance", { examples: [ex], backend });
      }
      const data: ViewData = { model: v.model, text, analysis, importance, compute };
      if (pair) data.text_pair = pair;
      if (label !== "") data.label = label;
      const patchClean = $<HTMLInputElement>("patch-clean");
      if (patchClean.value.trim() === "") patchClean.value = text;
      v.show(data);
      $("continuation").classList.add("hidden");
      status(
        `Done: ${analysis.tokens.length} tokens, ${analysis.layers.length} layers × ${analysis.heads.length} heads, ` +
          `computed ${compute}.`,
        "done",
      );
    } catch (err) {
      status(`Error: ${(err as Error).message}`, "error");
    } finally {
      button.disabled = false;
      $("results").classList.remove("busy");
      $("results").setAttribute("aria-busy", "false");
    }
  });
}

/** The continuation as text: the prompt's, then each generated token's piece marked (its id and token as a tooltip). */
function showContinuation(r: GenerateResponse): void {
  const box = $("continuation");
  box.replaceChildren(h("span", { class: "prompt-text" }, r.prompt_text));
  r.generated_pieces.forEach((piece, i) => {
    const at = r.prompt_length + i;
    box.append(
      h("mark", {
        class: "generated",
        "data-index": String(at),
        "data-id": String(r.ids[at]),
        title: `token ${at}: ${r.tokens[at]} (id ${r.ids[at]})`,
      }, piece),
    );
  });
  box.classList.remove("hidden");
}

function describe(m: ModelSummary): string {
  const pruned = m.pruned_heads.reduce((n, p) => n + p.length, 0);
  return `${m.name} (${m.family}): ${m.layers} layers × ${m.heads} heads, hidden ${m.hidden}, vocabulary ${m.vocab_size}` +
    `, up to ${m.limits.maxTokens} tokens` + (pruned ? `, ${pruned} heads pruned` : "") +
    (m.labels.length && m.has_classifier ? `; labels: ${m.labels.join(", ")}` : "");
}

async function start(): Promise<void> {
  const embedded = document.getElementById("bertology-data");
  const standalone = embedded !== null;
  buildShell(standalone);
  if (standalone) {
    const { data, state } = JSON.parse(embedded.textContent ?? "{}") as { data: ViewData; state: ViewState };
    const v = new Viewer(data.model, true);
    $("model-info").textContent = describe(data.model);
    $("input-form").replaceWith(
      h("p", { class: "quote" }, `“${data.text}”` + (data.text_pair ? ` / “${data.text_pair}”` : "")),
    );
    wire(v, true);
    $("export-html").remove();
    v.show(data, state);
    status("Exported view (standalone file).", "done");
    return;
  }
  let model: ModelSummary;
  try {
    model = await api<ModelSummary>("/api/model");
  } catch (e) {
    $("model-info").textContent = `Cannot load the model: ${(e as Error).message}`;
    status("The model is unavailable.", "error");
    return;
  }
  $("model-info").textContent = describe(model);
  const sel = $<HTMLSelectElement>("label");
  if (model.task === "classify" && model.has_classifier) {
    sel.append(...model.labels.map((l) => h("option", { value: l }, l)));
  } else if (model.task === "regress" && model.has_classifier) {
    sel.append(...[0, 1, 2, 3, 4, 5].map((y) => h("option", { value: String(y) }, `target ${y}`)));
  } else if (model.task === "lm") sel.append(h("option", { value: "lm" }, "next-token loss"));
  if (model.task === "lm") $("continue-field").classList.remove("hidden");
  $<HTMLSelectElement>("compute").append(
    ...(host ? [h("option", { value: "server:wasm" }, host.computeLabel)] : []),
    ...(host ? [] : model.backends).map((b) => h("option", { value: `server:${b}` }, `server (${b})`)),
    ...(model.browser_compute ? [h("option", { value: "browser" }, "in this browser (WebGPU / wasm)")] : []),
  );
  $<HTMLTextAreaElement>("text").value = "The cat sat on the mat because it was tired.";
  const v = new Viewer(model);
  wire(v, false);
  status("Type a sentence and press Analyze.", "idle");
  const initial = host?.initial;
  if (initial?.text) {
    $<HTMLTextAreaElement>("text").value = initial.text;
    if (initial.textPair) $<HTMLInputElement>("text-pair").value = initial.textPair;
    v.state = {
      layer: initial.layer ?? 0,
      heads: initial.heads ?? [],
      ...(initial.method ? { attribution: initial.method } : {}),
    };
    $<HTMLFormElement>("input-form").requestSubmit();
  }
}

/**
 * Starts the page with another host than the server it came from (the static analyzer, on each model it loads).
 *
 * @param pageHost who answers the API paths
 * @returns once the model summary is shown (the initial view, if any, is then being analysed)
 */
export function startPage(pageHost: PageHost): Promise<void> {
  host = pageHost;
  return start();
}

// the static analyzer (`<div id="app" data-host="static">`) starts the page itself, once it has a model
if ($("app")?.dataset.host !== "static") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => void start());
  else void start();
}
