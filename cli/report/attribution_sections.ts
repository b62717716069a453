/**
 * The report's sections on why the models decide: token attributions of a few dev sentences of the BERT
 * classifier (integrated gradients by word, and every method by token, coloured by score), a head-patching
 * heatmap for one clean/corrupted pair, and the logit lens of the GPT-2 language model (its top next token
 * after every layer). Pure functions of the numbers, like the rest of the report.
 *
 * @module
 */

import { tokenLabel } from "./attention_map.ts";
import { textColorOn, viridis } from "./color.ts";
import { heatmapSvg } from "./heatmap.ts";
import { escapeXml, fmtNum } from "./svg.ts";

/** One attribution method's per-token scores on one sentence. */
export interface MethodScores {
  /** Display name ("integrated gradients"). */
  method: string;
  /** One score per token. */
  scores: number[];
  /** Whether scores have a sign (coloured red/blue) or are non-negative (one hue). */
  signed: boolean;
}

/** One explained sentence. */
export interface AttributionExample {
  /** The sentence. */
  sentence: string;
  /** The gold label's name, when known. */
  gold?: string;
  /** Its tokens (special tokens included). */
  tokens: string[];
  /** The explained class's name (the prediction). */
  target: string;
  /** Softmax probability of the target. */
  probability: number;
  /** Integrated gradients summed per word. */
  words: Array<{ text: string; score: number }>;
  /** Every method's token scores. */
  methods: MethodScores[];
  /** |Σ IG − (f(x) − f(baseline))| / |f(x) − f(baseline)|. */
  completenessGap: number;
}

/** A clean/corrupted pair patched head by head. */
export interface PatchingFigure {
  /** The clean sentence. */
  sentence: string;
  /** The swapped token: position, clean token, corrupted token. */
  swap: { position: number; from: string; to: string };
  /** Layers of the map. */
  layers: number;
  /** Heads per layer of the map. */
  heads: number;
  /** Row-major [layers × heads] restored fractions (NaN: pruned). */
  effect: number[];
  /** Per layer: the MLP's restored fraction. */
  mlp: number[];
  /** d on the clean input. */
  logitDiffClean: number;
  /** d on the corrupted input. */
  logitDiffCorrupted: number;
  /** The class whose logit d starts from. */
  target: string;
  /** The class it is compared with. */
  other: string;
}

/** Everything the attribution section shows. */
export interface AttributionSection {
  /** The model folder. */
  model: string;
  /** Integrated-gradients steps. */
  steps: number;
  /** The baseline token's name. */
  baseline: string;
  /** The explained sentences. */
  examples: AttributionExample[];
  /** The head-patching figure, when one was made. */
  patching?: PatchingFigure;
  /** Commands that reproduce the section. */
  commands: string[];
}

/** Everything the logit-lens section shows. */
export interface LogitLensSection {
  /** The model folder. */
  model: string;
  /** The sentence. */
  sentence: string;
  /** Its tokens. */
  tokens: string[];
  /** Row labels: `embed`, `0` … `L−1`. */
  layers: string[];
  /** [layer][position] the top next token. */
  top: string[][];
  /** [layer][position] its probability. */
  topProb: number[][];
  /** [layer][position] the rank (0 = top) of the target: the next input token, the model's prediction last. */
  targetRank: number[][];
  /** Per position, the target token. */
  targets: string[];
  /** The command that reproduces it. */
  command: string;
}

/**
 * A background colour for a score in [−1, 1]: red for positive (for the target), blue for negative, white at 0;
 * `signed: false` uses one hue (orange) for [0, 1].
 *
 * @example Usage
 * ```ts
 * import { scoreColor } from "./attribution_sections.ts";
 * scoreColor(0, true); // "rgb(255,255,255)"
 * ```
 */
export function scoreColor(t: number, signed: boolean): string {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const mix = (rgb: [number, number, number], a: number) =>
    `rgb(${rgb.map((c) => Math.round(255 + (c - 255) * a)).join(",")})`;
  if (!signed) return mix([230, 120, 20], Math.max(0, x));
  return x >= 0 ? mix([214, 39, 40], x) : mix([31, 119, 180], -x);
}

function scoreCell(text: string, score: number, scale: number, signed: boolean, tag = "td"): string {
  const t = scale > 0 ? score / scale : 0;
  const dark = Math.abs(t) > 0.65;
  return `<${tag} class="attr-cell" style="background:${scoreColor(t, signed)};${dark ? "color:#fff;" : ""}" ` +
    `title="${escapeXml(fmtNum(score, 4))}">${escapeXml(text)}</${tag}>`;
}

const maxAbs = (xs: readonly number[]) => Math.max(0, ...xs.filter(Number.isFinite).map(Math.abs));

/** The CSS the sections use (added to the page once). */
export const ATTRIBUTION_CSS = `
.attr-words span { padding: 0.1em 0.25em; margin: 0 0.05em; border-radius: 3px; }
table.attr { border-collapse: collapse; font-size: 0.85em; margin: 0.4em 0 1.2em 0; }
table.attr th { text-align: right; font-weight: normal; color: #444; padding: 0.15em 0.6em; white-space: nowrap; }
table.attr td.attr-cell { padding: 0.15em 0.35em; text-align: center; border: 1px solid #fff; white-space: nowrap; }
table.lens td { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.8em; padding: 0.2em 0.35em;
  text-align: center; border: 1px solid #fff; white-space: nowrap; }
table.lens th { font-weight: normal; font-size: 0.85em; padding: 0.15em 0.4em; }
table.lens td small { opacity: 0.8; }
`;

/**
 * The attribution section: per sentence, integrated gradients by word, then each method by token.
 *
 * @param s the section's numbers
 * @param id the section's element id
 * @example Usage
 * ```ts
 * import { attributionSectionHtml } from "./attribution_sections.ts";
 * const html = attributionSectionHtml({ model: "m", steps: 50, baseline: "[PAD]", examples: [], commands: [] });
 * html.includes('id="attribution"'); // true
 * ```
 */
export function attributionSectionHtml(s: AttributionSection, id = "attribution"): string {
  const examples = s.examples.map((e, i) => {
    const wScale = maxAbs(e.words.map((w) => w.score));
    const words = e.words.map((w) =>
      `<span style="background:${scoreColor(wScale > 0 ? w.score / wScale : 0, true)}" title="${
        escapeXml(fmtNum(w.score, 4))
      }">${escapeXml(w.text)}</span>`
    ).join(" ");
    const head = `<tr><th></th>${
      e.tokens.map((t) => `<th style="text-align:center">${escapeXml(tokenLabel(t))}</th>`).join("")
    }</tr>`;
    const rows = e.methods.map((m) => {
      const scale = maxAbs(m.scores);
      return `<tr><th>${escapeXml(m.method)}</th>${
        m.scores.map((v) => scoreCell(fmtNum(v, 2), v, scale, m.signed)).join("")
      }</tr>`;
    });
    return `<div class="attr-example" id="${id}-${i}">
<p class="attr-words"><b>${i + 1}.</b> ${words}<br><span class="meta">predicted <b>${escapeXml(e.target)}</b> (p = ${
      fmtNum(e.probability, 3)
    })${e.gold !== undefined ? `, gold ${escapeXml(e.gold)}` : ""}; IG completeness gap ${
      fmtNum(100 * e.completenessGap, 2)
    } %</span></p>
<table class="attr">${head}
${rows.join("\n")}</table>
</div>`;
  });
  const p = s.patching;
  const patching = p === undefined
    ? ""
    : `<h3 id="${id}-patching">Activation patching: which heads carry the swapped token</h3>
<p>Clean: <span class="sentence">“${escapeXml(p.sentence)}”</span>; corrupted: token ${p.swap.position} ` +
      `<code>${escapeXml(p.swap.from)}</code> → <code>${escapeXml(p.swap.to)}</code>. d = logit[${
        escapeXml(p.target)
      }] − logit[${escapeXml(p.other)}] is ${fmtNum(p.logitDiffClean, 4)} clean and ${
        fmtNum(p.logitDiffCorrupted, 4)
      } corrupted.</p>
<figure id="${id}-patching-figure">
${
        heatmapSvg({
          id: `${id}-patching-svg`,
          title: "restored fraction of the logit difference, per head",
          data: p.effect,
          rows: p.layers,
          cols: p.heads,
          rowLabel: "layer",
          colLabel: "head",
          legendLabel: "(d_patched − d_corrupted) / (d_clean − d_corrupted)",
          note: `MLPs: ${p.mlp.map((v, l) => `${l}: ${fmtNum(v, 2)}`).join(", ")}`,
        })
      }
<figcaption>Each cell re-runs the corrupted sentence with one head's output (<code>hook_z</code>) taken from the ` +
      `clean run: 1 means that head alone restores the clean logit difference, 0 that it restores nothing. Information ` +
      `moves between positions only through attention, so patching every head together restores it exactly.</figcaption>
</figure>`;
  return `<section id="${id}">
<h2>Why BERT decided: token attributions</h2>
<p>Attributions of the predicted class's logit of <code>${
    escapeXml(s.model)
  }</code> to each input token, on ${s.examples.length} dev sentences. <b>Integrated gradients</b> (Sundararajan et al., 2017) integrate ∂logit/∂embedding along the straight ` +
    `path from a baseline (${escapeXml(s.baseline)} token embeddings, positions and segments kept, [CLS]/[SEP] kept) ` +
    `to the input in ${s.steps} midpoint steps; they sum to f(x) − f(baseline) up to the gap shown. Red: for the ` +
    `prediction, blue: against. <b>gradient × input</b> and <b>saliency</b> (‖∂logit/∂embedding‖) are one backward ` +
    `pass; <b>rollout</b> and <b>flow</b> (Abnar &amp; Zuidema, 2020) follow the attention of [CLS] back through the ` +
    `layers (0.5·attention + 0.5·identity), as a product of matrices and as a maximum flow.</p>
${examples.join("\n")}
${patching}
<p>Reproduce:</p>
${s.commands.map((c) => `<pre><code>${escapeXml(c)}</code></pre>`).join("\n")}
</section>`;
}

/**
 * The logit-lens section: a table of layers × positions, each cell the top next token after that layer,
 * coloured by its probability, with the rank of the actual next token.
 *
 * @param s the section's numbers
 * @param id the section's element id
 * @example Usage
 * ```ts
 * import { logitLensSectionHtml } from "./attribution_sections.ts";
 * const html = logitLensSectionHtml({
 *   model: "m", sentence: "a b", tokens: ["a", "Ġb"], layers: ["embed", "0"], top: [["x", "y"], ["b", "c"]],
 *   topProb: [[0.1, 0.2], [0.5, 0.9]], targetRank: [[3, 7], [0, 0]], targets: ["Ġb", "c"], command: "…",
 * });
 * html.includes('id="logit-lens"'); // true
 * ```
 */
export function logitLensSectionHtml(s: LogitLensSection, id = "logit-lens"): string {
  const head = `<tr><th>layer</th>${s.tokens.map((t) => `<th>${escapeXml(tokenLabel(t))}</th>`).join("")}</tr>`;
  const next = `<tr><th>next</th>${
    s.targets.map((t, i) => `<th><i>${escapeXml(tokenLabel(t))}</i>${i === s.targets.length - 1 ? "*" : ""}</th>`).join(
      "",
    )
  }</tr>`;
  const rows = s.layers.map((label, r) =>
    `<tr><th>${escapeXml(label)}</th>${
      s.tokens.map((_, t) => {
        const p = s.topProb[r]![t]!;
        return `<td style="background:${viridis(p)};color:${textColorOn(p)}" title="p = ${fmtNum(p, 3)}">${
          escapeXml(tokenLabel(s.top[r]![t]!, 10))
        }<br><small>#${s.targetRank[r]![t]!}</small></td>`;
      }).join("")
    }</tr>`
  );
  return `<section id="${id}">
<h2>The logit lens of GPT-2</h2>
<p>The final LayerNorm and unembedding of <code>${escapeXml(s.model)}</code> applied to the residual stream after ` +
    `the embeddings and after every layer (nostalgebraist, 2020), on <span class="sentence">“${
      escapeXml(s.sentence)
    }”</span>. Each cell: the top next token at that position after that layer, coloured by its probability ` +
    `(viridis, 0 → 1), and <small>#rank</small> of the actual next token (* last column: of the model's own ` +
    `prediction). The last row is the model's output.</p>
<figure id="${id}-figure">
<table class="lens">${head}
${rows.join("\n")}
${next}</table>
<figcaption>Logit lens: how the prediction forms layer by layer.</figcaption>
</figure>
<p>Reproduce:</p>
<pre><code>${escapeXml(s.command)}</code></pre>
</section>`;
}
