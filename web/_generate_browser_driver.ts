/**
 * The browser half of `generate_browser_test.ts`, run in its own Deno process with `--allow-all` (playwright-core
 * reads `/proc` and spawns Chromium). Reads `OUT_DIR/expected.json` (the CLI's answers), presses Continue and
 * runs the head-roles panel, and checks both against them.
 *
 * Usage: `deno run -A web/_generate_browser_driver.ts BASE_URL OUT_DIR/`; exits 0 when every check passes, 1
 * with the failure otherwise.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { launchHeadless } from "./_chromium.ts";

const TOL = 1e-6;
const ROLES = ["previous_token", "duplicate_token", "induction"] as const;

interface Expected {
  prompt: string;
  new_tokens: number;
  prompt_length: number;
  generate: { ids: number[]; text: string };
  roles: { repeat_len: number; rows: number; seed: number };
  head_roles: Record<(typeof ROLES)[number], number[][]> & { loss_first_repeat: number; loss_second_repeat: number };
}

const close = (a: number, b: number, what: string) => ok(Math.abs(a - b) <= TOL, `${what}: page ${a} vs CLI ${b}`);

/** Drives the page at `base`; writes an export and a screenshot under `outDir`. */
async function drive(base: string, outDir: string): Promise<void> {
  const want = JSON.parse(await Deno.readTextFile(`${outDir}expected.json`)) as Expected;
  const { ctx, profile } = await launchHeadless();
  try {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForSelector("#model-info:not(:empty)");
    await page.waitForSelector("#continue-field:not(.hidden)");

    // Continue: the continuation is the CLI's greedy one, token for token, its generated tokens marked
    await page.fill("#text", want.prompt);
    await page.fill("#new-tokens", String(want.new_tokens));
    await page.click("#continue");
    await page.waitForSelector('#status[data-state="done"]', { timeout: 60_000 });
    const P = want.prompt_length, T = want.generate.ids.length;
    strictEqual(await page.textContent("#continuation"), want.generate.text, "the continuation's text is the CLI's");
    strictEqual(await page.textContent("#continuation .prompt-text"), want.prompt);
    const marked = await page.locator("#continuation mark.generated").evaluateAll((els) =>
      els.map((e) => Number((e as HTMLElement).dataset.id))
    );
    deepStrictEqual(marked, want.generate.ids.slice(P), "the marked tokens are the CLI's generated ids");

    // the head view shows the whole sequence: the generated tokens marked, their queries' lines drawn
    strictEqual(await page.locator("#head-view g.token-left").count(), T, "every token in the head view");
    const generated = await page.locator("#head-view g.token-left.generated").evaluateAll((els) =>
      els.map((e) => Number((e as SVGElement).dataset.index))
    );
    deepStrictEqual(generated, Array.from({ length: T - P }, (_, i) => P + i), "the generated tokens are marked");
    for (const q of [P, T - 1]) {
      const rows = await page.locator(`#head-view g.head-lines line[data-q="${q}"]`).evaluateAll((els) =>
        els.map((e) => Number((e as SVGElement).dataset.k))
      );
      ok(rows.length > 0, `generated query ${q} has attention lines`);
      ok(rows.every((k) => k <= q), `generated query ${q} sees no later key`);
    }

    // head roles: three heatmaps whose cells are the CLI's scores, its top heads, its losses, a table export
    await page.fill("#head-roles-repeat-len", String(want.roles.repeat_len));
    await page.fill("#head-roles-rows", String(want.roles.rows));
    await page.fill("#head-roles-seed", String(want.roles.seed));
    await page.click("#head-roles-run");
    await page.waitForSelector('#head-roles-status[data-state="done"]', { timeout: 60_000 });
    for (const role of ROLES) {
      const grid = want.head_roles[role];
      const cells = await page.locator(`#head-role-${role} rect.cell`).evaluateAll((els) =>
        els.map((e) => {
          const d = (e as SVGElement).dataset;
          return [Number(d.layer), Number(d.head), Number(d.value)] as const;
        })
      );
      strictEqual(cells.length, grid.length * grid[0]!.length, `${role}: a cell per head`);
      for (const [l, h, v] of cells) close(v, grid[l]![h]!, `${role} ${l}.${h}`);
      const top = await page.locator(`ol.top-heads[data-role="${role}"] button`).evaluateAll((els) =>
        els.map((e) => {
          const d = (e as HTMLElement).dataset;
          return [Number(d.layer), Number(d.head), Number(d.score)] as const;
        })
      );
      const H = grid[0]!.length;
      const ranked = grid.flat().map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v).slice(0, 5);
      deepStrictEqual(
        top.map(([l, h]) => `${l}.${h}`),
        ranked.map(({ i }) => `${Math.floor(i / H)}.${i % H}`),
        `${role}: the CLI's top heads`,
      );
      top.forEach(([, , s], n) => close(s, ranked[n]!.v, `${role} top ${n}`));
    }
    close(
      Number(await page.getAttribute("#head-roles-loss", "data-first")),
      want.head_roles.loss_first_repeat,
      "loss 1",
    );
    close(
      Number(await page.getAttribute("#head-roles-loss", "data-second")),
      want.head_roles.loss_second_repeat,
      "loss 2",
    );
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("#download-head-roles-induction-json"),
    ]);
    await download.saveAs(`${outDir}induction.json`);
    const saved = JSON.parse(await Deno.readTextFile(`${outDir}induction.json`)) as number[][];
    saved.forEach((row, l) => row.forEach((v, h) => close(v, want.head_roles.induction[l]![h]!, `export ${l}.${h}`)));

    const panel = page.locator("#head-roles-panel");
    await panel.scrollIntoViewIfNeeded();
    await Deno.writeFile(
      `${outDir}head_roles.png`,
      await panel.screenshot({ animations: "disabled", timeout: 20_000 }),
    );
    strictEqual(errors.length, 0, `no page errors: ${errors.join("; ")}`);
  } finally {
    await ctx.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const [base, outDir] = Deno.args;
  try {
    if (base === undefined || outDir === undefined) {
      throw new Error("usage: _generate_browser_driver.ts BASE_URL OUT_DIR/");
    }
    await drive(base, outDir);
    console.log("continue and head-roles checks passed");
  } catch (e) {
    console.error(e);
    Deno.exit(1);
  }
}
