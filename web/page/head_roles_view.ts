/// <reference lib="dom" />
/**
 * The head-roles panel: `/api/head-roles` on seeded rows of BOS + r + r drawn as three layers × heads heatmaps
 * (previous-token, duplicate-token, induction; fixed 0 … 1 colour bars, so models compare), each with its top
 * heads as `bertology head-roles` ranks them and JSON / NPY / CSV downloads, and a language model's next-token
 * loss on the first and the second repeat.
 *
 * @module
 */

import type { HeadRolesResponse } from "../head_roles.ts";
import { drawHeatmap } from "./draw.ts";
import { tableDownloads } from "./table_export.ts";

/** Answers an API path (the page's server, or the static analyzer's worker). */
export type HeadRolesApi = <T>(path: string, body?: unknown) => Promise<T>;

/** The three roles, in the CLI's order: the answer's field, the heatmap's label, the score's definition. */
export const HEAD_ROLES = [
  { id: "previous_token", label: "previous-token score", what: "A[t, t−1]" },
  { id: "duplicate_token", label: "duplicate-token score", what: "A[t, t−len]" },
  { id: "induction", label: "induction score", what: "A[t, t−len+1]" },
] as const;

/** How many top heads each role lists (as the CLI's summary line). */
export const TOP_HEADS = 5;

/** One ranked head. */
export interface RankedHead {
  layer: number;
  head: number;
  score: number;
}

/**
 * The heads of a [layers][heads] score table ranked by score, highest first, ties to the earlier head in
 * layer-major order (as `bertology head-roles` ranks them); pruned heads (`null`) left out.
 *
 * @param scores [layers][heads]
 * @param k how many to keep
 * @returns the top k
 * @example Usage
 * ```ts
 * import { topHeads } from "./head_roles_view.ts";
 * topHeads([[0.1, 0.9], [null, 0.9]], 2); // [{ layer: 0, head: 1, score: 0.9 }, { layer: 1, head: 1, score: 0.9 }]
 * ```
 */
export function topHeads(scores: readonly (readonly (number | null)[])[], k: number): RankedHead[] {
  const all: RankedHead[] = [];
  scores.forEach((row, layer) =>
    row.forEach((score, head) => {
      if (score !== null && !Number.isNaN(score)) all.push({ layer, head, score });
    })
  );
  return all.sort((a, b) => b.score - a.score).slice(0, k); // a stable sort keeps layer-major order on ties
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

function numberInput(id: string, label: string, value: number, min: number, max: number): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, type: "number", min: String(min), max: String(max), step: "1", value: String(value) }),
  );
}

/**
 * Builds the head-roles panel into `box` and wires it to `api`.
 *
 * @param box the panel's element (its children are replaced)
 * @param api answers `/api/head-roles`
 * @param maxTokens the model's token limit (a row is 1 + 2 · len tokens)
 * @param onPick called with (layer, head) when a heatmap cell or a top head is picked (the page opens its head)
 * @example Usage
 * ```ts ignore
 * mountHeadRolesView(document.getElementById("head-roles-panel")!, api, 128, (l, h) => viewer.pick(l, h));
 * ```
 */
export function mountHeadRolesView(
  box: HTMLElement,
  api: HeadRolesApi,
  maxTokens: number,
  onPick?: (layer: number, head: number) => void,
): void {
  const longest = Math.max(1, Math.floor((maxTokens - 1) / 2));
  const form = h(
    "form",
    { id: "head-roles-form", autocomplete: "off" },
    numberInput("head-roles-repeat-len", "Repeat length", Math.min(40, longest), 1, longest),
    numberInput("head-roles-rows", "Rows", 20, 1, 64),
    numberInput("head-roles-seed", "Seed", 0, 0, 2 ** 31),
    h("div", { class: "field" }, h("button", { id: "head-roles-run", type: "submit" }, "Measure head roles")),
  );
  const status = h("p", { id: "head-roles-status", class: "muted hint", role: "status", "aria-live": "polite" }, " ");
  const loss = h("p", { id: "head-roles-loss", class: "hidden" });
  const maps = h("div", { id: "head-roles-maps" });
  box.replaceChildren(
    h("h2", { id: "head-roles-title" }, "Head roles (repeated random tokens)"),
    h(
      "p",
      { class: "muted hint" },
      "Rows of BOS + r + r, r seeded random non-special tokens; per head the mean attention over the second " +
        "repeat's queries t on the previous token A[t, t−1], on the same token one repeat earlier A[t, t−len] " +
        "and on the token after it A[t, t−len+1] (induction). As `bertology head-roles`.",
    ),
    form,
    status,
    loss,
    maps,
  );
  let answer: HeadRolesResponse | undefined;

  function draw(r: HeadRolesResponse): void {
    const parts: Node[] = [];
    if (r.loss_first_repeat !== undefined) {
      loss.dataset.first = String(r.loss_first_repeat);
      loss.dataset.second = String(r.loss_second_repeat);
      loss.textContent = `Next-token loss: first repeat ${r.loss_first_repeat.toFixed(3)} nats, second repeat ${
        r.loss_second_repeat!.toFixed(3)
      } nats (what copying from the first repeat gains: ${(r.loss_first_repeat - r.loss_second_repeat!).toFixed(3)}).`;
      loss.classList.remove("hidden");
    } else loss.classList.add("hidden");
    for (const role of HEAD_ROLES) {
      const top = topHeads(r[role.id], TOP_HEADS);
      const list = h("ol", { class: "top-heads", "data-role": role.id });
      for (const t of top) {
        const b = h(
          "button",
          { type: "button", "data-layer": String(t.layer), "data-head": String(t.head), "data-score": String(t.score) },
          `${t.layer}.${t.head} (${t.score.toFixed(3)})`,
        );
        b.addEventListener("click", () => onPick?.(t.layer, t.head));
        list.append(h("li", {}, b));
      }
      parts.push(
        h(
          "div",
          { class: "head-role", id: `head-role-${role.id}`, "data-role": role.id },
          h("h3", {}, `${role.label[0]!.toUpperCase()}${role.label.slice(1)} ${role.what}`),
          drawHeatmap(r[role.id], role.label, onPick, { min: 0, max: 1 }),
          h("p", { class: "muted hint" }, `Top heads (layer.head):`),
          list,
          tableDownloads(
            `head-roles-${role.id.replace("_", "-")}`,
            role.label,
            ["layer", "head"],
            () => answer?.[role.id],
          ),
        ),
      );
    }
    maps.replaceChildren(...parts);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = (id: string) => Number(form.querySelector<HTMLInputElement>(`#${id}`)!.value);
    const body = {
      repeat_len: value("head-roles-repeat-len"),
      rows: value("head-roles-rows"),
      seed: value("head-roles-seed"),
    };
    const button = form.querySelector<HTMLButtonElement>("#head-roles-run")!;
    button.disabled = true;
    status.dataset.state = "busy";
    status.textContent = `Measuring on ${body.rows} rows of ${1 + 2 * body.repeat_len} tokens…`;
    try {
      const r = await api<HeadRolesResponse>("/api/head-roles", body);
      answer = r;
      draw(r);
      status.dataset.state = "done";
      status.textContent =
        `Done: ${r.rows} rows of BOS (${r.bos}) + r + r, len(r) = ${r.repeat_len}, seed ${r.seed}, ` +
        `in ${r.elapsed_ms} ms.`;
    } catch (err) {
      status.dataset.state = "error";
      status.textContent = `Error: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });
}
