/**
 * The browser half of `circuit_browser_test.ts`, run in its own Deno process with `--allow-all` (playwright-core
 * reads `/proc` and spawns Chromium). Reads `OUT_DIR/expected.json` (the CLI's answers), drives the circuit view
 * and checks it against them.
 *
 * Usage: `deno run -A web/_circuit_browser_driver.ts BASE_URL OUT_DIR/ [SCREENSHOT_PATH]`; exits 0 when every
 * check passes, 1 with the failure otherwise.
 *
 * @module
 */

import { ok, strictEqual } from "node:assert";
import { launchHeadless } from "./_chromium.ts";

const TOL = 1e-5;

interface Expected {
  pair: { clean: string; corrupted: string; target: string; distractor: string };
  k: number;
  eap: {
    edges: { from: string; to: string; path: string; score: number }[];
    faithfulness: { k: number; m_circuit: number; value: number }[];
  };
  dla: { heads: number[][]; mlps: number[] };
  atp: { heads: number[][]; mlps: number[]; exact: { heads: number[][]; mlps: number[] }; pearson: number };
}

const close = (a: number, b: number, what: string) => ok(Math.abs(a - b) <= TOL, `${what}: page ${a} vs CLI ${b}`);

/** Drives the circuit view at `base`; writes exports and a screenshot under `outDir` (and `shotCopy`, if given). */
async function drive(base: string, outDir: string, shotCopy?: string): Promise<void> {
  const want = JSON.parse(await Deno.readTextFile(`${outDir}expected.json`)) as Expected;
  const { ctx, profile } = await launchHeadless();
  try {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForSelector("#model-info:not(:empty)");
    await page.waitForSelector("#circuit-form");
    await page.fill("#circuit-clean", want.pair.clean);
    await page.fill("#circuit-corrupted", want.pair.corrupted);
    await page.fill("#circuit-target", want.pair.target);
    await page.fill("#circuit-distractor", want.pair.distractor);
    await page.fill("#circuit-ig-steps", "0");
    await page.click("#circuit-run");
    await page.waitForSelector('#circuit-status[data-state="done"]', { timeout: 60_000 });
    const E = want.eap.edges.length;
    strictEqual(Number(await page.getAttribute("#circuit-status", "data-edges")), E, "edge count as the CLI's");

    // every edge shown: the drawn scores are the CLI's, edge by edge
    await page.fill("#circuit-topk", String(E));
    const drawn = await page.locator("#circuit-graph path.circuit-edge").evaluateAll((els) =>
      els.map((e) => {
        const d = (e as SVGElement).dataset;
        return { key: `${d.from} ${d.to} ${d.path}`, score: Number(d.score) };
      })
    );
    strictEqual(drawn.length, E, "all edges drawn");
    const cli = new Map(want.eap.edges.map((e) => [`${e.from} ${e.to} ${e.path}`, e.score]));
    for (const d of drawn) {
      ok(cli.has(d.key), `edge ${d.key} is the CLI's`);
      close(d.score, cli.get(d.key)!, `score of ${d.key}`);
    }
    await page.waitForSelector(`#circuit-faithfulness[data-state="done"][data-k="${E}"]`, { timeout: 30_000 });
    close(Number(await page.getAttribute("#circuit-faithfulness", "data-value")), 1, "faithfulness of every edge");

    // move the slider: the faithfulness of the shown k edges is measured again, and is the CLI's for that k
    await page.fill("#circuit-topk", String(want.k));
    strictEqual(await page.locator("#circuit-graph path.circuit-edge").count(), want.k, "k edges drawn");
    await page.waitForSelector(`#circuit-faithfulness[data-state="done"][data-k="${want.k}"]`, { timeout: 30_000 });
    const f = want.eap.faithfulness.find((x) => x.k === want.k)!;
    close(Number(await page.getAttribute("#circuit-faithfulness", "data-value")), f.value, `faithfulness at k=${f.k}`);
    close(Number(await page.getAttribute("#circuit-faithfulness", "data-m-circuit")), f.m_circuit, "m(circuit)");
    // the top k by |score| are the CLI's top k
    const topCli = [...want.eap.edges].map((e, i) => ({ ...e, i }))
      .sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.i - b.i).slice(0, want.k)
      .map((e) => `${e.from} ${e.to} ${e.path}`).sort();
    const topPage = (await page.locator("#circuit-graph path.circuit-edge").evaluateAll((els) =>
      els.map((e) =>
        `${(e as SVGElement).dataset.from} ${(e as SVGElement).dataset.to} ${(e as SVGElement).dataset.path}`
      )
    )).sort();
    strictEqual(topPage.join("; "), topCli.join("; "), "the shown edges are the CLI's top k");

    // DLA per head and MLP, AtP and exact patching: the CLI's numbers
    const bars = async (id: string, series: string) =>
      new Map(
        (await page.locator(`#${id} rect.bar[data-series="${series}"]`).evaluateAll((els) =>
          els.map((e) =>
            [(e as SVGElement).dataset.label!, Number((e as SVGElement).dataset.value)] as const
          )
        )).map(([k, v]) => [k, v]),
      );
    const L = want.dla.mlps.length, H = want.dla.heads[0]!.length;
    const check = async (id: string, series: string, heads: number[][], mlps: number[]) => {
      const got = await bars(id, series);
      strictEqual(got.size, L * H + L, `${series}: a bar per head and MLP`);
      heads.forEach((row, l) => row.forEach((v, h) => close(got.get(`a${l}.h${h}`)!, v, `${series} a${l}.h${h}`)));
      mlps.forEach((v, l) => close(got.get(`m${l}`)!, v, `${series} m${l}`));
    };
    await check("circuit-dla", "DLA", want.dla.heads, want.dla.mlps);
    await check("circuit-atp", "AtP", want.atp.heads, want.atp.mlps);
    await check("circuit-atp", "exact", want.atp.exact.heads, want.atp.exact.mlps);

    // exports: SVG (the k edges), PNG, JSON
    const [svgDownload] = await Promise.all([page.waitForEvent("download"), page.click("#circuit-export-svg")]);
    await svgDownload.saveAs(`${outDir}circuit.svg`);
    const svg = await Deno.readTextFile(`${outDir}circuit.svg`);
    ok(svg.startsWith("<?xml") && svg.includes("<svg"), "an SVG document");
    strictEqual(svg.match(/class="circuit-edge"/g)?.length, want.k, "the SVG holds the k edges");
    const [pngDownload] = await Promise.all([page.waitForEvent("download"), page.click("#circuit-export-png")]);
    await pngDownload.saveAs(`${outDir}circuit.png`);
    const png = await Deno.readFile(`${outDir}circuit.png`);
    strictEqual(String.fromCharCode(...png.subarray(1, 4)), "PNG");
    const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.click("#circuit-export-json")]);
    await jsonDownload.saveAs(`${outDir}circuit.json`);
    const json = JSON.parse(await Deno.readTextFile(`${outDir}circuit.json`));
    strictEqual(json.circuit.length, want.k);
    strictEqual(json.edges.length, E);
    close(json.faithfulness.value, f.value, "the JSON's faithfulness");

    const panel = page.locator("#circuit-panel");
    await panel.scrollIntoViewIfNeeded();
    const shot = await panel.screenshot({ animations: "disabled", caret: "hide", timeout: 20_000 });
    await Deno.writeFile(`${outDir}circuit_view.png`, shot);
    if (shotCopy !== undefined) await Deno.writeFile(shotCopy, shot);
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
      throw new Error("usage: _circuit_browser_driver.ts BASE_URL OUT_DIR/ [SCREENSHOT_PATH]");
    }
    await drive(base, outDir, shot);
    console.log("circuit view checks passed");
  } catch (e) {
    console.error(e);
    Deno.exit(1);
  }
}
