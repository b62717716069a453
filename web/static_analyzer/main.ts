/// <reference lib="dom" />
/**
 * The static analyzer's page (`deno task build:static` → `dist/analyzer/`): the analyzer page of `web/page/` with
 * a compute worker in place of a server — it loads a model from a folder the user picks or drops, from a hub id or
 * URL, or from the bundled examples — plus dataset studies (importance, iterative masking with progress and
 * cancel, pruning with a checkpoint download). The view (model, text, layer, heads, method) lives in the URL.
 *
 * @module
 */

import { hubUrl, type PickedFile } from "@bertology/core/checkpoint";
import { drawHeatmap } from "../page/draw.ts";
import { download } from "../page/export.ts";
import { type PageViewState, startPage } from "../page/main.ts";
import { tableDownloads } from "../page/table_export.ts";
import { CancelledError, ComputeClient } from "./client.ts";
import { drawMaskingCurve } from "./masking_curve.ts";
import type { LoadResult, ModelSource, Progress, PruneResult, StudyRequest, StudyResult } from "./protocol.ts";
import { zipStored } from "./zip.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A bundled example, as `examples/index.json` lists it. */
interface Example {
  name: string;
  description: string;
}

/** What a link names: an example, a hub id (with its endpoint) or a folder URL. */
type LinkedModel = { example: string } | { hub: string; endpoint: string } | { url: string };

/** Threads to ask the worker for: the cores, when the page may share memory with its workers. */
function wantedThreads(): number {
  return globalThis.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
}

function setStatus(el: HTMLElement, text: string, state: "idle" | "busy" | "done" | "error"): void {
  el.textContent = text;
  el.dataset.state = state;
}

function showProgress(bar: HTMLProgressElement, p: Progress | undefined): void {
  bar.hidden = p === undefined;
  if (!p) return;
  if (p.total) (bar.max = p.total, bar.value = p.done);
  else bar.removeAttribute("value");
}

/** The URL's view: `?model=example:NAME | hub:ID | url:URL [&endpoint=…] &text=…&pair=…&layer=…&heads=…&method=…`. */
function readLink(): { model?: LinkedModel; view: Partial<PageViewState> } {
  const q = new URLSearchParams(location.search);
  const spec = q.get("model") ?? "";
  let model: LinkedModel | undefined;
  if (spec.startsWith("example:")) model = { example: spec.slice(8) };
  else if (spec.startsWith("hub:")) model = { hub: spec.slice(4), endpoint: q.get("endpoint") ?? "" };
  else if (spec.startsWith("url:")) model = { url: spec.slice(4) };
  const view: Partial<PageViewState> = {};
  const text = q.get("text"), pair = q.get("pair"), layer = q.get("layer"), heads = q.get("heads");
  const method = q.get("method");
  if (text) view.text = text;
  if (pair) view.textPair = pair;
  if (layer !== null && /^\d+$/.test(layer)) view.layer = Number(layer);
  if (heads) view.heads = heads.split(",").filter((x) => /^\d+$/.test(x)).map(Number);
  if (method) view.method = method;
  return model ? { model, view } : { view };
}

function writeLink(model: LinkedModel | undefined, view: PageViewState | undefined): void {
  const q = new URLSearchParams();
  if (model && "example" in model) q.set("model", `example:${model.example}`);
  else if (model && "hub" in model) {
    q.set("model", `hub:${model.hub}`);
    if (model.endpoint) q.set("endpoint", model.endpoint);
  } else if (model) q.set("model", `url:${model.url}`);
  if (view) {
    q.set("text", view.text);
    if (view.textPair) q.set("pair", view.textPair);
    q.set("layer", String(view.layer));
    q.set("heads", view.heads.join(","));
    q.set("method", view.method);
  }
  history.replaceState(null, "", `${location.pathname}${q.size ? `?${q}` : ""}`);
}

/** The files of a drop: folders walked (`webkitGetAsEntry`), paths relative to what was dropped. */
async function droppedFiles(dt: DataTransfer): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path: `${prefix}${entry.name}`, blob: file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await walk(e, "");
  if (entries.length === 0) { for (const f of dt.files) out.push({ path: f.name, blob: f }); }
  return out;
}

function picked(list: FileList): PickedFile[] {
  return [...list].map((f) => ({ path: f.webkitRelativePath || f.name, blob: f }));
}

/** The whole static page: the loader, the analyzer page on the loaded model, and the dataset panel. */
class StaticAnalyzer {
  readonly client = new ComputeClient(new URL("worker.js", document.baseURI));
  linked: LinkedModel | undefined;
  loaded: LoadResult | undefined;
  study: StudyResult | undefined;
  busy = false;

  async loadModel(source: ModelSource, linked: LinkedModel | undefined, view: Partial<PageViewState> = {}) {
    const st = $("load-status"), bar = $<HTMLProgressElement>("load-progress");
    setStatus(st, `Loading ${source.name}…`, "busy");
    showProgress(bar, { stage: "load", done: 0, note: "" });
    try {
      const r = await this.client.load(source, wantedThreads(), (p) => {
        showProgress(bar, p);
        setStatus(st, p.note, "busy");
      });
      this.loaded = r;
      this.linked = linked;
      this.study = undefined;
      $("study-results").replaceChildren();
      $<HTMLButtonElement>("prune-run").disabled = true;
      $("prune-status").textContent = "";
      const threads = `${r.threads} thread${r.threads === 1 ? "" : "s"}`;
      writeLink(linked, undefined);
      await startPage({
        api: (path, body) => this.client.run({ type: "api", path, body }),
        computeLabel: `in this browser (bertology WASM, ${threads})`,
        onView: (v) => writeLink(this.linked, v),
        initial: view,
      });
      $("dataset-panel").hidden = false;
      setStatus(
        st,
        `Loaded ${source.name} in this browser on ${threads}` +
          (globalThis.crossOriginIsolated ? "." : " (the page is not cross-origin isolated, so one thread).") +
          (linked ? "" : " A picked folder cannot be put in a link."),
        "done",
      );
    } catch (e) {
      setStatus(st, `Cannot load ${source.name}: ${(e as Error).message}`, "error");
    } finally {
      showProgress(bar, undefined);
    }
  }

  loadLinked(m: LinkedModel, view: Partial<PageViewState> = {}): Promise<void> {
    try {
      if ("example" in m) {
        const url = new URL(`examples/${encodeURIComponent(m.example)}/`, document.baseURI).href;
        return this.loadModel({ kind: "url", url, name: m.example }, m, view);
      }
      const url = "hub" in m ? hubUrl(m.hub, m.endpoint || undefined) : hubUrl(m.url);
      return this.loadModel({ kind: "url", url, name: "hub" in m ? m.hub : m.url }, m, view);
    } catch (e) {
      setStatus($("load-status"), (e as Error).message, "error");
      return Promise.resolve();
    }
  }

  studyRequest(): StudyRequest {
    const text = $<HTMLTextAreaElement>("dataset").value;
    if (text.trim() === "") throw new Error("Paste or drop a dataset first");
    let format = $<HTMLSelectElement>("dataset-format").value;
    if (format === "auto") {
      const first = text.trimStart().split("\n", 1)[0] ?? "";
      format = first.startsWith("{") ? "jsonl" : first.includes("\t") ? "tsv" : "csv";
    }
    const num = (id: string) => Number($<HTMLInputElement>(id).value);
    const pair = $<HTMLInputElement>("pair-column").value.trim();
    const label = $<HTMLInputElement>("label-column").value.trim();
    return {
      text,
      format: format as StudyRequest["format"],
      textColumn: $<HTMLInputElement>("text-column").value.trim(),
      ...(pair ? { textPairColumn: pair } : {}),
      ...(label && this.loaded?.summary.task !== "lm" ? { labelColumn: label } : {}),
      batchSize: num("batch-size"),
      masking: $<HTMLInputElement>("masking").checked,
      threshold: num("threshold"),
      amount: num("amount"),
      bootstrap: num("bootstrap"),
      randomMasks: num("random-masks"),
      stabilitySplits: num("stability-splits"),
    };
  }

  async runStudy(): Promise<void> {
    if (!this.loaded || this.busy) return;
    const st = $("study-status"), bar = $<HTMLProgressElement>("study-progress");
    const run = $<HTMLButtonElement>("study-run"), cancel = $<HTMLButtonElement>("study-cancel");
    this.busy = true;
    run.disabled = true;
    cancel.disabled = false;
    $<HTMLButtonElement>("prune-run").disabled = true;
    setStatus(st, "Reading the dataset…", "busy");
    try {
      const request = this.studyRequest();
      const r = await this.client.run<StudyResult>({ type: "study", request }, (p) => {
        showProgress(bar, p);
        setStatus(st, p.note, "busy");
      });
      this.study = r;
      this.drawStudy(r);
      $<HTMLButtonElement>("prune-run").disabled = !r.masking;
      setStatus(
        st,
        `Done: ${r.examples} examples, ${r.metric} ${r.score.toFixed(4)}` +
          (r.masking
            ? `; masking kept ${r.masking.final_score.toFixed(4)} ≥ ${r.masking.threshold} × ` +
              `${r.masking.original_score.toFixed(4)} in ${r.masking.steps.length - 1} steps.`
            : "."),
        "done",
      );
    } catch (e) {
      if (e instanceof CancelledError) setStatus(st, "Cancelled.", "idle");
      else setStatus(st, `Error: ${(e as Error).message}`, "error");
    } finally {
      this.busy = false;
      run.disabled = false;
      cancel.disabled = true;
      showProgress(bar, undefined);
    }
  }

  async cancel(): Promise<void> {
    setStatus($("study-status"), "Cancelling (the model is loaded again)…", "busy");
    await this.client.cancel();
  }

  drawStudy(r: StudyResult): void {
    const box = $("study-results");
    const heads = r.head_importance[0]?.length ?? 0;
    const parts: HTMLElement[] = [];
    const section = (title: string, ...children: Node[]) => {
      const div = document.createElement("div");
      const h = document.createElement("h3");
      h.textContent = title;
      div.append(h, ...children);
      parts.push(div);
    };
    section(
      "Head importance (normalised)",
      drawHeatmap(r.head_importance, "importance", undefined, { min: 0, max: 1 }),
      tableDownloads("study-importance", "importance", ["layer", "head"], () => this.study?.head_importance),
      tableDownloads(
        "study-importance-raw",
        "raw importance",
        ["layer", "head"],
        () => this.study?.head_importance_raw,
      ),
    );
    section(
      "Attention entropy (mean nats per token)",
      drawHeatmap(r.attn_entropy, "entropy (nats)"),
      tableDownloads("study-entropy", "entropy", ["layer", "head"], () => this.study?.attn_entropy),
    );
    const stability = r.importance_rank_stability;
    if (stability) {
      const p = document.createElement("p");
      p.id = "rank-stability";
      p.dataset.mean = String(stability.mean);
      p.textContent = `Importance rank stability: Spearman ρ between the importances of two random halves of the ` +
        `data ${stability.mean.toFixed(3)} (${stability.min.toFixed(3)}–${stability.max.toFixed(3)} over ` +
        `${stability.splits} splits). Near 1: the ranking is the model's; near 0: noise of this dataset.`;
      parts[0]!.append(p);
    }
    if (r.masking) {
      const m = r.masking;
      const table = document.createElement("table");
      table.className = "stats";
      table.id = "masking-steps";
      table.innerHTML = "<tr><th>step</th><th>score</th><th>heads kept</th><th>masked</th>" +
        "<th>95 % interval</th><th>random masks: mean (min–max)</th></tr>";
      for (const s of m.steps) {
        const tr = document.createElement("tr");
        const ci = s.score_ci ? `[${s.score_ci[0].toFixed(4)}, ${s.score_ci[1].toFixed(4)}]` : "–";
        const rnd = s.random_masks
          ? `${s.random_masks.mean.toFixed(4)} (${s.random_masks.min.toFixed(4)}–${s.random_masks.max.toFixed(4)})`
          : "–";
        for (const c of [String(s.step), s.score.toFixed(4), `${s.heads_kept} / ${m.head_mask.length * heads}`]) {
          const td = document.createElement("td");
          td.textContent = c;
          tr.append(td);
        }
        const td = document.createElement("td");
        td.textContent = s.masked.map(([l, h]) => `${l}.${h}`).join(" ");
        tr.append(td);
        for (const c of [ci, rnd]) {
          const cell = document.createElement("td");
          cell.textContent = c;
          tr.append(cell);
        }
        table.append(tr);
      }
      section(
        "Iterative masking",
        drawMaskingCurve(m.steps, m.head_mask.length * heads, r.metric),
        table,
        drawHeatmap(m.head_mask, "kept (1) / masked (0)", undefined, { min: 0, max: 1 }),
        tableDownloads("head-mask", "head mask", ["layer", "head"], () => this.study?.masking?.head_mask),
      );
    }
    box.replaceChildren(...parts);
  }

  async prune(): Promise<void> {
    const mask = this.study?.masking?.head_mask;
    if (!mask || !this.loaded || this.busy) return;
    const st = $("prune-status");
    st.textContent = "Pruning…";
    try {
      const r = await this.client.run<PruneResult>({ type: "prune", headMask: mask });
      const name = `${this.loaded.summary.name.replace(/[^A-Za-z0-9._-]+/g, "_")}-pruned`;
      const blob = new Blob(zipStored(r.files, name), { type: "application/zip" });
      const a = document.createElement("a");
      a.id = "pruned-download";
      a.href = URL.createObjectURL(blob);
      a.download = `${name}.zip`;
      a.textContent = `Download ${name}.zip (${(blob.size / 1e6).toFixed(1)} MB)`;
      const again = document.createElement("button");
      again.type = "button";
      again.id = "load-pruned";
      again.textContent = "Analyze the pruned model";
      again.addEventListener("click", () => {
        const files = Object.entries(r.files).map(([path, bytes]) => ({
          path,
          blob: new Blob([bytes as Uint8Array<ArrayBuffer>]),
        }));
        void this.loadModel({ kind: "picked", files, name }, undefined);
      });
      const kept = r.heads_per_layer.join(" ");
      st.replaceChildren(
        `Heads per layer ${kept}; parameters ${r.parameters_before} → ${r.parameters_after}. `,
        a,
        " ",
        again,
      );
      download(blob, `${name}.zip`);
    } catch (e) {
      st.textContent = `Error: ${(e as Error).message}`;
    }
  }
}

async function readDatasetFile(file: File): Promise<void> {
  $<HTMLTextAreaElement>("dataset").value = await file.text();
  const ext = file.name.split(".").pop()?.toLowerCase();
  if (ext === "tsv" || ext === "csv" || ext === "jsonl") $<HTMLSelectElement>("dataset-format").value = ext;
}

async function main(): Promise<void> {
  if (document.getElementById("bertology-data")) return; // an exported standalone view: the page draws it alone
  const app = new StaticAnalyzer();
  const examples: Example[] = await fetch(new URL("examples/index.json", document.baseURI))
    .then((r) => (r.ok ? r.json() : []))
    .catch(() => []);
  const sel = $<HTMLSelectElement>("example");
  for (const e of examples) {
    const o = document.createElement("option");
    o.value = e.name;
    o.textContent = `${e.name} — ${e.description}`;
    sel.append(o);
  }
  $("load-example").addEventListener("click", () => {
    if (sel.value) void app.loadLinked({ example: sel.value });
  });
  for (const id of ["folder", "files"]) {
    $<HTMLInputElement>(id).addEventListener("change", (e) => {
      const list = (e.target as HTMLInputElement).files;
      if (!list || list.length === 0) return;
      const files = picked(list);
      const top = files[0]!.path.split("/");
      void app.loadModel({ kind: "picked", files, name: top.length > 1 ? top[0]! : "picked files" }, undefined);
    });
  }
  $("url-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const spec = $<HTMLInputElement>("hub-id").value.trim();
    const endpoint = $<HTMLInputElement>("hub-endpoint").value.trim();
    if (!spec) return;
    void app.loadLinked(/^https?:\/\//i.test(spec) ? { url: spec } : { hub: spec, endpoint });
  });
  const loader = $("loader");
  loader.addEventListener("dragover", (e) => (e.preventDefault(), loader.classList.add("drop")));
  loader.addEventListener("dragleave", () => loader.classList.remove("drop"));
  loader.addEventListener("drop", async (e) => {
    e.preventDefault();
    loader.classList.remove("drop");
    if (!e.dataTransfer) return;
    const files = await droppedFiles(e.dataTransfer);
    if (files.length === 0) return;
    const top = files[0]!.path.split("/");
    void app.loadModel({ kind: "picked", files, name: top.length > 1 ? top[0]! : "dropped files" }, undefined);
  });
  const dataset = $("dataset-panel");
  dataset.addEventListener("dragover", (e) => e.preventDefault());
  dataset.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) void readDatasetFile(f);
  });
  $<HTMLInputElement>("dataset-file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void readDatasetFile(f);
  });
  $("study-run").addEventListener("click", () => void app.runStudy());
  $("study-cancel").addEventListener("click", () => void app.cancel());
  $("prune-run").addEventListener("click", () => void app.prune());

  const link = readLink();
  if (link.model) await app.loadLinked(link.model, link.view);
  else if (examples[0]) sel.value = examples[0].name;
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => void main());
else void main();
