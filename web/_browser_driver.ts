/**
 * The browser half of `browser_test.ts`, run in its own Deno process with `--allow-all` (playwright-core
 * reads `/proc` and spawns Chromium, which the test command's permissions do not cover).
 *
 * Usage: `deno run -A web/_browser_driver.ts BASE_URL OUT_DIR [SCREENSHOT_PATH]`; exits 0 when every check
 * passes, 1 with the failure otherwise.
 *
 * @module
 */

import { ok, strictEqual } from "node:assert";
import { chromium } from "npm:playwright-core@1.65.1";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";
const SENTENCE = "An unbelievably gripping, beautifully acted film that never lets go.";
/** The sentence with one word swapped, same token count. */
const CORRUPTED = "An unbelievably boring, beautifully acted film that never lets go.";

/**
 * Drives the page at `base`: analyze, compare with the API, focus, switch layer, open a head, export
 * SVG/PNG/HTML (and open the HTML offline), screenshot.
 *
 * @param base the server's base URL
 * @param outDir where exports and the screenshot go (a folder path ending in /)
 * @param screenshotCopy a second path for the screenshot (the README's), only when asked: tests leave tracked files be
 */
/** Options every screenshot is taken with: no animation to wait for (the spinner), a bounded wait. */
type ShotOptions = { animations: "disabled"; caret: "hide"; timeout: number };

/**
 * Takes a screenshot, retrying: headless Chromium's capture (without a GPU) stalls now and then — about one run
 * in 15 saw a 30 s timeout — and a second request after a frame goes through.
 */
async function screenshot(take: (o: ShotOptions) => Promise<Uint8Array>): Promise<Uint8Array> {
  for (let attempt = 1;; attempt++) {
    try {
      return await take({ animations: "disabled", caret: "hide", timeout: 10_000 });
    } catch (e) {
      if (attempt === 3) throw e;
      console.error(`screenshot attempt ${attempt} failed (${(e as Error).message.split("\n")[0]}); retrying`);
    }
  }
}

export async function drive(base: string, outDir: string, screenshotCopy?: string): Promise<void> {
  const OUT = new URL(`file://${outDir}`);
  const profile = await Deno.makeTempDir({ prefix: "bertology-chromium-" });
  await Deno.mkdir(OUT, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 860 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForSelector("#model-info:not(:empty)");
    await page.fill("#text", SENTENCE);
    await page.selectOption("#label", { index: 1 }); // the second class, whatever the model calls it
    await page.click("#analyze");
    await page.waitForSelector('#status[data-state="done"]', { timeout: 30_000 });
    await page.waitForSelector("#head-view svg g.head-lines");

    // what the API answers for the same input
    const api = await (await fetch(`${base}/api/analyze`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: SENTENCE }),
    })).json();
    const T = api.tokens.length, L = api.layers.length, H = api.heads.length;
    strictEqual(await page.locator("#head-view g.token-left").count(), T, "one left token per API token");
    strictEqual(await page.locator("#head-view g.token-right").count(), T, "one right token per API token");
    strictEqual(await page.locator("#head-view g.head-lines").count(), H, "one line group per head");
    const drawn = await page.locator("#head-view g.token-left text").allTextContents();
    strictEqual(drawn.join(" "), api.tokens.join(" "));
    strictEqual(await page.locator("#model-view button.thumb").count(), L * H, "model view: every layer × head");
    strictEqual(await page.locator("#entropy-map rect.cell").count(), L * H);
    strictEqual(await page.locator("#importance-map rect.cell").count(), L * H, "importance with a label");
    // absolute scales with a colour bar: entropy up to ln T, importance 0 … 1
    strictEqual(Number(await page.getAttribute("#entropy-map g.color-bar", "data-max")), Math.log(T));
    strictEqual(await page.getAttribute("#importance-map g.color-bar", "data-max"), "1");
    strictEqual(await page.locator("#download-importance-npy").count(), 1, "importance downloads as NPY");

    // the attribution strip: saliency first, one span per token; then integrated gradients from the API
    await page.waitForSelector('#attribution-strip[data-state="done"][data-method="saliency"]', { timeout: 30_000 });
    strictEqual(await page.locator("#attribution-strip span").count(), T, "saliency: one span per token");
    await page.focus("#attr-ig");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#attribution-strip[data-state="done"][data-method="ig"]', { timeout: 30_000 });
    const ig = await (await fetch(`${base}/api/attribute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: SENTENCE, method: "ig" }),
    })).json();
    const drawnIg = await page.locator("#attribution-strip span").evaluateAll((els) =>
      els.map((e) => Number((e as HTMLElement).dataset.score))
    );
    strictEqual(drawnIg.length, T);
    drawnIg.forEach((v, i) => ok(Math.abs(v - ig.scores[i]) < 1e-6, `IG score ${i}: page ${v} vs API ${ig.scores[i]}`));
    ok((await page.textContent("#attribution-note"))!.includes("completeness gap"), "IG reports its gap");
    await page.click("#attr-rollout");
    await page.waitForSelector('#attribution-strip[data-state="done"][data-method="rollout"]');
    strictEqual(await page.locator("#attribution-strip span.output").count(), 1, "rollout outlines [CLS]");

    // head statistics for the sentence: a heatmap of every head and one table row per statistic
    strictEqual(await page.locator("#stats-map rect.cell").count(), L * H, "statistics: every layer × head");
    strictEqual(await page.locator("#stats-table tr").count(), 1 + 8);
    await page.selectOption("#stats-kind", "prev");
    strictEqual(await page.locator("#stats-table tr.chosen th").textContent(), "previous");

    // the word-level toggle: the head view then draws words (split words merged), and back
    const wordsApi = await (await fetch(`${base}/api/analyze`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: SENTENCE, word_level: true }),
    })).json();
    const words: string[] = wordsApi.word_level.words.map((w: { text: string }) => w.text);
    ok(words.length < T, `the sentence has a split word (${words.length} words, ${T} tokens)`);
    await page.focus("#word-level");
    await page.keyboard.press("Space");
    await page.waitForFunction(`document.querySelector("#head-view svg text")?.textContent?.endsWith("(words)")`);
    const fits = await page.evaluate(`(() => { const s = document.querySelector("#head-view svg");
      return s.querySelector("text").getBBox().width <= s.width.baseVal.value; })()`);
    ok(fits, "the word-level title fits its SVG");
    strictEqual(await page.locator("#head-view g.token-left").count(), words.length, "word level: one row per word");
    strictEqual((await page.locator("#head-view g.token-left text").allTextContents()).join(" "), words.join(" "));
    strictEqual(await page.locator("#attribution-strip span").count(), words.length, "the strip sums to words");
    await page.keyboard.press("Space");
    await page.waitForFunction(`!document.querySelector("#head-view svg text")?.textContent?.endsWith("(words)")`);
    strictEqual(await page.locator("#head-view g.token-left").count(), T);

    // activation patching: clean vs corrupted → a layer × head heatmap of restored fractions
    await page.fill("#patch-clean", SENTENCE);
    await page.fill("#patch-corrupted", CORRUPTED);
    await page.click("#patch-run");
    await page.waitForSelector('#patch-status[data-state="done"]', { timeout: 30_000 });
    strictEqual(await page.locator("#patch-map rect.cell").count(), L * H, "patching: every layer × head");
    const patchApi = await (await fetch(`${base}/api/patch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clean: SENTENCE, corrupted: CORRUPTED }),
    })).json();
    const title = await page.locator('#patch-map rect.cell[data-layer="1"][data-head="2"] title').textContent();
    ok(title!.includes(patchApi.effect[1][2].toFixed(4)), `patch cell L1 H2: ${title} vs ${patchApi.effect[1][2]}`);
    ok(!(await page.textContent("#patch-map"))!.includes("pruned head"), "no pruned-head note on an unpruned model");
    await page.fill("#patch-corrupted", "A film.");
    await page.click("#patch-run");
    await page.waitForSelector('#patch-status[data-state="error"]');
    ok((await page.textContent("#patch-status"))!.includes("corrupted"), "a length mismatch names the field");
    // open a head from the patching heatmap with the keyboard
    await page.focus('#patch-map rect.cell[data-layer="3"][data-head="5"]');
    await page.keyboard.press("Enter");
    strictEqual(await page.locator('#head-view g.head-lines[data-head="5"]').count(), 1);
    strictEqual(await page.inputValue("#layer"), "3");
    await page.click("#all-heads");
    await page.click("#attr-saliency");

    // hover/focus a token: only its lines stay visible
    await page.focus("#head-view g.token-left >> nth=1");
    const visible = await page.locator("#head-view line:visible").count();
    const total = await page.locator("#head-view line").count();
    ok(visible > 0 && visible < total, `focus filters lines (${visible} of ${total})`);
    await page.keyboard.press("Escape");

    // switch layer
    await page.selectOption("#layer", "1");
    await page.waitForFunction(`document.querySelector("#head-view svg text")?.textContent?.startsWith("Layer 1")`);
    strictEqual(await page.locator("#head-view g.head-lines").count(), H);

    // open one head from the model view with the keyboard
    await page.focus('#model-view button.thumb[data-layer="2"][data-head="1"]');
    await page.keyboard.press("Enter");
    strictEqual(await page.locator("#head-view g.head-lines").count(), 1);
    strictEqual(await page.locator('#head-view g.head-lines[data-head="1"]').count(), 1);
    strictEqual(await page.textContent("#head-view svg text"), "Layer 2 — head 1", "one head: 'head', not 'heads'");
    strictEqual(await page.inputValue("#layer"), "2");
    await page.click("#all-heads");

    // export SVG
    const [svgDownload] = await Promise.all([page.waitForEvent("download"), page.click("#export-svg")]);
    const svgPath = new URL("web_head_view.svg", OUT).pathname;
    await svgDownload.saveAs(svgPath);
    const svg = await Deno.readTextFile(svgPath);
    ok(svg.startsWith("<?xml") && svg.includes("<svg"), "an SVG document");
    strictEqual(svg.match(/class="token token-left"/g)?.length, T);
    strictEqual(svg.match(/class="head-lines"/g)?.length, H);

    // export PNG
    const [pngDownload] = await Promise.all([page.waitForEvent("download"), page.click("#export-png")]);
    const pngPath = new URL("web_head_view.png", OUT).pathname;
    await pngDownload.saveAs(pngPath);
    const png = await Deno.readFile(pngPath);
    strictEqual(Array.from(png.subarray(1, 4), (b) => String.fromCharCode(b)).join(""), "PNG");

    // export standalone HTML and open it offline (file://, no server)
    const [htmlDownload] = await Promise.all([page.waitForEvent("download"), page.click("#export-html")]);
    const htmlPath = new URL("web_view.html", OUT).pathname;
    await htmlDownload.saveAs(htmlPath);
    const offline = await ctx.newPage();
    await offline.route("http://**", (route) => route.abort());
    offline.on("pageerror", (e) => errors.push(`standalone: ${e.message}`));
    await offline.goto(`file://${htmlPath}`);
    await offline.waitForSelector("#head-view svg g.head-lines");
    strictEqual(await offline.locator("#head-view g.token-left").count(), T, "standalone file draws the same view");
    strictEqual(await offline.locator("#model-view button.thumb").count(), L * H);
    strictEqual(await offline.locator("#attribution-strip span").count(), T, "standalone: the saliency strip");
    strictEqual(await offline.locator("#patch-map rect.cell").count(), L * H, "standalone: the patching heatmap");
    strictEqual(await offline.locator("#stats-map rect.cell").count(), L * H, "standalone: the statistics");
    ok(await offline.locator("#attr-grad-input").isDisabled(), "standalone: an attribution not fetched is disabled");
    await offline.close();

    // the statistics and patching panels, for a look (out/ only)
    const panel = page.locator("#study-panel");
    await Deno.writeFile(new URL("web_study_panel.png", OUT), await screenshot((o) => panel.screenshot(o)));

    // screenshot for the README
    await page.selectOption("#layer", "0");
    await page.evaluate("window.scrollTo(0, 0)");
    const shot = await screenshot((o) => page.screenshot({ ...o, fullPage: false }));
    await Deno.writeFile(new URL("web_screenshot.png", OUT), shot);
    if (screenshotCopy !== undefined) await Deno.writeFile(screenshotCopy, shot);

    // compute in this browser: onnxruntime-web (wasm here: headless Chromium has no WebGPU adapter) on the
    // exported model, drawn by the same head view with the server's numbers
    await page.selectOption("#label", { index: 0 });
    await page.selectOption("#compute", "browser");
    await page.click("#analyze");
    await page.waitForSelector('#status[data-state="done"]', { timeout: 60_000 });
    const by = (await page.getAttribute("#computed-by", "data-compute"))!;
    ok(/^in this browser \(onnxruntime-web (wasm|webgpu)\)$/.test(by), `computed by: ${by}`);
    console.log(`in-browser compute: ${by}; ${await page.textContent("#computed-by")}`);
    strictEqual(await page.locator("#model-view button.thumb").count(), L * H, "browser: every layer × head");
    for (const layer of [0, L - 1]) {
      await page.selectOption("#layer", String(layer));
      await page.click("#all-heads");
      const lines = await page.locator("#head-view g.head-lines line").evaluateAll((els) =>
        els.map((e) => ({
          h: Number(e.parentElement!.dataset.head),
          q: Number(e.dataset.q),
          k: Number(e.dataset.k),
          w: Number(e.dataset.w),
        }))
      );
      ok(lines.length > T, `layer ${layer}: lines drawn (${lines.length})`);
      for (const { h, q, k, w } of lines) {
        const want = api.attention[layer][h][q][k];
        ok(Math.abs(w - want) <= 1e-4 + 1e-9, `browser L${layer} H${h} [${q}, ${k}]: ${w} vs server ${want}`);
      }
      const strong = api.attention[layer].flatMap((m: number[][], h: number) =>
        m.flatMap((row, q) => row.flatMap((w, k) => (w >= 0.05 ? [`${h} ${q} ${k}`] : [])))
      );
      const drawnKeys = new Set(lines.map((x) => `${x.h} ${x.q} ${x.k}`));
      for (const key of strong) ok(drawnKeys.has(key), `browser layer ${layer} draws ${key}`);
    }
    strictEqual(errors.length, 0, `no page errors: ${errors.join("; ")}`);
  } finally {
    await ctx.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [base, outDir, shot] = Deno.args;
  try {
    if (base === undefined || outDir === undefined) {
      throw new Error("usage: _browser_driver.ts BASE_URL OUT_DIR/ [SCREENSHOT_PATH]");
    }
    await drive(base, outDir, shot);
    console.log("browser checks passed");
  } catch (e) {
    console.error(e);
    Deno.exit(1);
  }
}
