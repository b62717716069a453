/// <reference lib="dom" />
/**
 * The browser half of `static_browser_test.ts`, run in its own Deno process with `--allow-all` (playwright-core
 * reads `/proc` and spawns Chromium). Usage: `deno run -A _static_browser_driver.ts INPUT_JSON`; exits 0 when
 * every check passes, 1 with the failure otherwise.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { Page } from "npm:playwright-core@1.65.1";
import { launchHeadless } from "../_chromium.ts";
import { openZip, readNpy } from "@bertology/core/checkpoint";

/** Where Debian installs Chromium. */
export { CHROMIUM } from "../_chromium.ts";

/** What the test hands the driver. */
export interface DriverInput {
  /** The plain static server (no COOP/COEP: one thread). */
  base: string;
  /** The same folder served cross-origin isolated (threads). */
  isolated: string;
  /** Load by folder and drop on the isolated copy (threads; see the test's BERTOLOGY_TEST_STATIC_THREADS). */
  threads: boolean;
  /** The stand-in hub: `{hub}/org/tiny/resolve/main/…`. */
  hub: string;
  /** The fixture model's folder (for the file input). */
  fixture: string;
  /** Where downloads are saved (ends in /). */
  outDir: string;
  sentence: string;
  corrupted: string;
  /** A small TSV (header + 40 rows) the CLI studied. */
  smallTsv: string;
  /** A large TSV, for the cancel. */
  bigTsv: string;
  /** The CLI's numbers for the same inputs. */
  cli: {
    ig: number[];
    patch: number[][];
    importance: number[][];
    entropy: number[][];
    headMask: number[][];
    steps: number[];
    /** Each step's 95 % interval and random-mask summary as the page prints them ("–" where the CLI has none). */
    stepIntervals: string[];
    stepRandom: string[];
    /** The CLI's importance rank stability (mean ρ), or null when it measured none. */
    stability: number | null;
    prunedDir: string;
  };
}

const TOL = 1e-5;

function close(a: unknown, b: unknown, what: string, tol = TOL): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    strictEqual(a.length, b.length, `${what}: length`);
    a.forEach((x, i) => close(x, b[i], `${what}[${i}]`, tol));
    return;
  }
  ok(typeof a === "number" && typeof b === "number", `${what}: ${a} vs ${b}`);
  ok(Math.abs(a - b) <= tol, `${what}: page ${a} vs CLI ${b} (tolerance ${tol})`);
}

async function save(page: Page, click: string, to: string): Promise<Uint8Array> {
  const [d] = await Promise.all([page.waitForEvent("download"), page.click(click)]);
  await d.saveAs(to);
  return await Deno.readFile(to);
}

async function saveJson(page: Page, click: string, to: string): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await save(page, click, to)));
}

/** Waits for the loader to finish (done or error, a minute at most) and returns its line; fails on an error. */
async function loaded(page: Page): Promise<string> {
  const settled = `["done", "error"].includes(document.querySelector("#load-status")?.dataset.state)`;
  await page.waitForFunction(settled, undefined, { timeout: 60_000 });
  const line = (await page.textContent("#load-status"))!;
  strictEqual(await page.getAttribute("#load-status", "data-state"), "done", `the model did not load: ${line}`);
  return line;
}

async function analyzed(page: Page): Promise<void> {
  await page.waitForSelector('#status[data-state="done"]', { timeout: 60_000 });
  await page.waitForSelector("#head-view svg g.head-lines");
}

/**
 * Runs every check.
 *
 * @param input the servers, paths and the CLI's numbers
 */
export async function drive(input: DriverInput): Promise<void> {
  const out = input.outDir;
  await Deno.mkdir(out, { recursive: true });
  const { ctx, profile } = await launchHeadless();
  try {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // 1. a link: the model by hub id (endpoint configurable), the text, layer, head and method
    const link = new URLSearchParams({
      model: "hub:org/tiny",
      endpoint: input.hub,
      text: input.sentence,
      layer: "1",
      heads: "2",
      method: "ig",
    });
    await page.goto(`${input.base}/?${link}`);
    await analyzed(page);
    ok((await page.textContent("#load-status"))!.includes("1 thread"), "not isolated: one thread");
    strictEqual(await page.textContent("#head-view svg text"), "Layer 1 — head 2", "the link's layer and head");
    strictEqual(await page.locator("#head-view g.head-lines").count(), 1);
    await page.waitForSelector('#attribution-strip[data-state="done"][data-method="ig"]', { timeout: 60_000 });
    const igPage = await page.locator("#attribution-strip span").evaluateAll((els) =>
      els.map((e) => Number((e as HTMLElement).dataset.score))
    );
    close(igPage, input.cli.ig, "integrated gradients");
    console.log(`static: IG over ${igPage.length} tokens equals bertology attribute within ${TOL}`);

    // the head-roles panel, answered by the worker as the server answers it: three full heatmaps, an encoder's
    // without losses
    await page.fill("#head-roles-repeat-len", "6");
    await page.fill("#head-roles-rows", "2");
    await page.click("#head-roles-run");
    await page.waitForSelector('#head-roles-status[data-state="done"]', { timeout: 60_000 });
    const roleCells = await page.locator("#head-roles-maps rect.cell").count();
    const heatCells = await page.locator("#model-view button.thumb, #model-view span.thumb").count();
    strictEqual(roleCells, 3 * heatCells, "head roles: three layer × head maps");
    ok(await page.locator("#head-roles-loss.hidden").count() === 1, "an encoder has no copying loss");

    // the view in the URL follows the page; a reload restores it
    await page.selectOption("#layer", "2");
    await page.waitForFunction(`new URL(location.href).searchParams.get("layer") === "2"`);
    await page.reload();
    await analyzed(page);
    strictEqual(await page.inputValue("#layer"), "2", "the reloaded link restores the layer");
    strictEqual(new URL(page.url()).searchParams.get("method"), "ig");

    // raw attention: JSON, NPY and CSV of the same table
    const attention = await saveJson(page, "#download-attention-json", `${out}attention.json`) as number[][][][];
    const npy = readNpy(await save(page, "#download-attention-npy", `${out}attention.npy`), "attention.npy");
    const [L, H, T] = [attention.length, attention[0]!.length, attention[0]![0]!.length];
    deepStrictEqual(npy.shape, [L, H, T, T]);
    close(Array.from(npy.data.subarray(0, T)), attention[0]![0]![0]!, "npy = json", 1e-7);
    const csv = new TextDecoder().decode(await save(page, "#download-attention-csv", `${out}attention.csv`));
    strictEqual(csv.trim().split("\n").length, 1 + L * H * T * T, "one CSV line per cell");

    // the standalone HTML export opens offline and draws the same view
    const htmlPath = `${out}view.html`;
    await save(page, "#export-html", htmlPath);
    const offline = await ctx.newPage();
    await offline.route("http://**", (route) => route.abort());
    offline.on("pageerror", (e) => errors.push(`standalone: ${e.message}`));
    await offline.goto(`file://${htmlPath}`);
    await offline.waitForSelector("#head-view svg g.head-lines");
    strictEqual(await offline.locator("#model-view button.thumb").count(), L * H, "standalone: every layer × head");
    await offline.close();

    // activation patching, downloaded, against bertology patch
    await page.fill("#patch-clean", input.sentence);
    await page.fill("#patch-corrupted", input.corrupted);
    await page.click("#patch-run");
    await page.waitForSelector('#patch-status[data-state="done"]', { timeout: 60_000 });
    close(await saveJson(page, "#download-patching-json", `${out}patching.json`), input.cli.patch, "patching");
    ok(!(await page.textContent("#patch-map"))!.includes("Grey: pruned head"), "no pruned heads: no such note");
    strictEqual(await page.locator("#patch-map g.color-bar").count(), 1, "the patching map has a colour bar");
    console.log(`static: patching effects (${L}×${H}) equal bertology patch within ${TOL}`);

    // 2. the dataset study as bertology heads --try-masking runs it
    await page.fill("#dataset", input.smallTsv);
    await page.click("#study-run");
    await page.waitForSelector('#study-status[data-state="done"]', { timeout: 120_000 });
    close(
      await saveJson(page, "#download-study-importance-json", `${out}imp.json`),
      input.cli.importance,
      "importance",
    );
    close(await saveJson(page, "#download-study-entropy-json", `${out}ent.json`), input.cli.entropy, "entropy");
    deepStrictEqual(await saveJson(page, "#download-head-mask-json", `${out}mask.json`), input.cli.headMask);
    const scores = await page.locator("#masking-steps tr td:nth-child(2)").allTextContents();
    deepStrictEqual(scores, input.cli.steps.map((s) => s.toFixed(4)), "masking steps' scores");
    // the statistics: the same seeds and defaults as bertology heads, so the same intervals, baselines and ρ
    const cells = (n: number) => page.locator(`#masking-steps tr td:nth-child(${n})`).allTextContents();
    deepStrictEqual(await cells(5), input.cli.stepIntervals, "masking steps' bootstrap intervals");
    deepStrictEqual(await cells(6), input.cli.stepRandom, "masking steps' random baselines");
    strictEqual(await page.locator("#masking-curve").count(), 1, "the masking curve is drawn");
    if (input.cli.stability !== null) {
      const mean = Number(await page.getAttribute("#rank-stability", "data-mean"));
      ok(Math.abs(mean - input.cli.stability) < 1e-9, `rank stability ${mean} vs the CLI's ${input.cli.stability}`);
    }
    console.log(
      `static: importance, entropy, ${scores.length} masking steps (${
        input.cli.stepIntervals.filter((c) => c !== "–").length
      } intervals, ${input.cli.stepRandom.filter((c) => c !== "–").length} random baselines, rank stability ${
        input.cli.stability?.toFixed(3) ?? "none"
      }) and the mask equal bertology heads`,
    );

    // pruning: the zip's checkpoint is the CLI's, byte for byte
    const zipBytes = await save(page, "#prune-run", `${out}pruned.zip`);
    const zip = openZip(zipBytes, "pruned.zip");
    const folder = [...zip.entries.keys()][0]!.split("/")[0]!;
    for (const f of ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json"]) {
      const want = await Deno.readFile(`${input.cli.prunedDir}/${f}`);
      deepStrictEqual(new Uint8Array(await zip.read(`${folder}/${f}`)), want, `pruned ${f} equals bertology prune's`);
    }
    console.log(`static: the pruned checkpoint (${zipBytes.length} bytes zipped) equals bertology prune's`);
    // the pruned model loads back into the page
    await page.click("#load-pruned");
    await loaded(page);
    ok((await page.textContent("#model-info"))!.includes("heads pruned"), "the pruned model is shown");

    // cancel: a long study stops, and the model is loaded again
    await page.fill("#dataset", input.bigTsv);
    await page.fill("#amount", "0.05");
    await page.click("#study-run");
    await page.waitForFunction(`/batch|step/.test(document.querySelector("#study-status")?.textContent ?? "")`);
    ok(await page.locator("#study-progress").isVisible(), "a progress bar while it runs");
    await page.click("#study-cancel");
    await page.waitForFunction(`document.querySelector("#study-status")?.textContent === "Cancelled."`);
    await page.click("#analyze");
    await page.waitForSelector('#status[data-state="done"]', { timeout: 60_000 }); // (a layer may be all pruned)

    // 3. the model by a file input, on the cross-origin isolated copy (threads): the same numbers
    const iso = await ctx.newPage();
    iso.on("pageerror", (e) => errors.push(`isolated: ${e.message}`));
    await iso.goto(`${input.threads ? input.isolated : input.base}/`);
    strictEqual(await iso.evaluate("crossOriginIsolated"), input.threads, "COOP/COEP make the page isolated");
    const files: string[] = [];
    for await (const e of Deno.readDir(input.fixture)) if (e.isFile) files.push(`${input.fixture}/${e.name}`);
    await iso.setInputFiles("#folder", input.fixture); // a picked folder (webkitdirectory)
    await loaded(iso);
    const threads = Number(/on (\d+) thread/.exec((await iso.textContent("#load-status"))!)?.[1]);
    ok(threads >= 1, `threads: ${threads}`);
    await iso.fill("#text", input.sentence);
    await iso.click("#analyze");
    await analyzed(iso);
    await iso.selectOption("#layer", "0");
    const again = await saveJson(iso, "#download-attention-json", `${out}attention-files.json`);
    deepStrictEqual(again, attention, "the file-input model on threads draws the same attention as the hub one");
    ok((await iso.textContent("#load-status"))!.startsWith("Loaded bert-tiny-random"), "the folder's name");
    console.log(`static: loaded by a folder input and a drop on ${threads} thread(s): the same attention`);

    // a drop of the model's files on the loader box
    await iso.evaluate(async ({ hub, names }) => {
      const dt = new DataTransfer();
      for (const n of names) {
        const bytes = await (await fetch(`${hub}/org/tiny/resolve/main/${n}`)).arrayBuffer();
        dt.items.add(new File([bytes], n));
      }
      document.querySelector("#loader")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
    }, { hub: input.hub, names: ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"] });
    await iso.waitForFunction(`/dropped files/.test(document.querySelector("#load-status")?.textContent ?? "")`);
    ok((await loaded(iso)).startsWith("Loaded dropped files"), "the dropped files loaded");
    await iso.fill("#text", input.sentence);
    await iso.click("#analyze");
    await analyzed(iso);
    deepStrictEqual(await saveJson(iso, "#download-attention-json", `${out}attention-drop.json`), attention, "dropped");

    strictEqual(errors.length, 0, `no page errors: ${errors.join("; ")}`);
  } finally {
    await ctx.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    await drive(JSON.parse(Deno.args[0] ?? "{}") as DriverInput);
    console.log("static browser checks passed");
  } catch (e) {
    console.error(e);
    Deno.exit(1);
  }
}
