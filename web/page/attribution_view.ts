/// <reference lib="dom" />
/**
 * The attention rollout / flow view: the sentence's tokens coloured by how much of the output position's
 * representation each one reaches through the attention graph, with a switch between the two methods.
 *
 * @module
 */

import { attentionGraphScores, type GraphMethod } from "./attention_graph.ts";
import type { AnalyzeResponse } from "./types.ts";

/**
 * Draws the view into `box` (replacing its content); the method switch redraws it.
 *
 * @param box the container
 * @param a the analysis
 * @param layers the model's layer count
 * @param method the method shown first
 * @example Usage
 * ```ts ignore
 * drawAttentionGraphView(document.getElementById("graph-view")!, analysis, model.layers);
 * ```
 */
export function drawAttentionGraphView(
  box: HTMLElement,
  a: AnalyzeResponse,
  layers: number,
  method: GraphMethod = "rollout",
): void {
  const r = attentionGraphScores(a, layers, method);
  const button = (m: GraphMethod, label: string) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("aria-pressed", String(m === method));
    b.addEventListener("click", () => drawAttentionGraphView(box, a, layers, m));
    return b;
  };
  const controls = document.createElement("div");
  controls.className = "controls";
  controls.setAttribute("role", "group");
  controls.setAttribute("aria-label", "Attention graph method");
  controls.append(button("rollout", "Rollout"), button("flow", "Flow"));
  const strip = document.createElement("p");
  strip.className = "token-strip";
  if (r === undefined) {
    strip.textContent = "Rollout and flow need the attention maps of every layer.";
    box.replaceChildren(controls, strip);
    return;
  }
  const max = Math.max(1e-9, ...r.scores);
  a.tokens.forEach((t, i) => {
    const s = document.createElement("span");
    const v = r.scores[i]!;
    s.textContent = t.replace(/^Ġ/, "");
    s.title = `${t}: ${v.toFixed(4)}`;
    s.style.background = `rgba(230, 120, 20, ${(v / max).toFixed(3)})`;
    if (i === r.position) s.className = "output";
    strip.append(s, " ");
  });
  const note = document.createElement("p");
  note.className = "muted hint";
  note.textContent = `${method === "rollout" ? "Rollout" : "Flow"} to token ${r.position} (${
    a.tokens[r.position]
  }, outlined): 0.5·attention + 0.5·identity per layer, mean over heads (Abnar & Zuidema, 2020).`;
  box.replaceChildren(controls, strip, note);
}
