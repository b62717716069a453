/**
 * The static analyzer in a real browser: `buildStatic` writes the site with the fixture model as its one
 * example, a plain static file server on 127.0.0.1 serves only that folder (no `/api`), a second one stands in
 * for the hub (CORS, `/{id}/resolve/{revision}/…`), a third serves the site cross-origin isolated (threads). The
 * driver (`_static_browser_driver.ts`, a child Deno process with `--allow-all`, as `web/browser_test.ts` runs its
 * driver) loads the model by hub URL and by a file input, and compares what the page computed with the CLI's
 * output for the same input (run here first). Skipped, with a message, when `/usr/bin/chromium` is absent.
 *
 * @module
 */

import { ok, strictEqual } from "node:assert";
import { buildStatic } from "./build.ts";
import { serveFolder } from "./_static_server.ts";
// types only: playwright-core loads in the driver's own process (it needs more permissions than the tests have)
import type { DriverInput } from "./_static_browser_driver.ts";

const CHROMIUM = "/usr/bin/chromium";
/**
 * The folder and drop loads run on a cross-origin isolated copy (2 kernel threads). Core's pool starts without
 * blocking the worker (`KernelPool.start`), which ended the hangs of its blocking start in headless Chromium;
 * `BERTOLOGY_TEST_STATIC_THREADS=0` runs them on one thread.
 */
const THREADS = Deno.env.get("BERTOLOGY_TEST_STATIC_THREADS") !== "0";

const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
if (!hasChromium) console.warn(`static_browser_test.ts: SKIPPED — ${CHROMIUM} not found (apt-get install -y chromium)`);

const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);
const FIXTURE = path("../../tests/fixtures/models/bert-tiny-random");
const SENTENCE = "An unbelievably gripping, beautifully acted film that never lets go.";
const CORRUPTED = "An unbelievably boring, beautifully acted film that never lets go.";

async function cli(args: string[]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", path("../../cli/main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`bertology ${args.join(" ")} failed:\n${err}`);
  return new TextDecoder().decode(r.stdout);
}

Deno.test({
  name: "the static analyzer runs the page, studies and pruning on its own, with the CLI's numbers (Chromium)",
  ignore: !hasChromium,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "bertology-static-test-" });
    const site = `${work}/analyzer`;
    await buildStatic(new URL(`file://${site}/`), { [FIXTURE]: "the tiny random BERT fixture" });

    // the CLI's answers for the same inputs
    const sst2 = (await Deno.readTextFile(path("../../data/glue/SST-2/dev.tsv"))).split("\n");
    const small = sst2.slice(0, 41).join("\n") + "\n";
    await Deno.writeTextFile(`${work}/small.tsv`, small);
    const ig = JSON.parse(await cli(["attribute", "--model", FIXTURE, "--text", SENTENCE, "--method", "ig", "--json"]));
    const patch = JSON.parse(
      await cli(["patch", "--model", FIXTURE, "--clean", SENTENCE, "--corrupted", CORRUPTED, "--json"]),
    );
    await cli([
      "heads",
      "--model",
      FIXTURE,
      "--data-file",
      `${work}/small.tsv`,
      "--format",
      "tsv",
      "--text-column",
      "sentence",
      "--label-column",
      "label",
      "--try-masking",
      "--no-prune",
      "--output-dir",
      `${work}/heads`,
      "--json",
    ]);
    const heads = JSON.parse(await Deno.readTextFile(`${work}/heads/report.json`));
    await cli(["prune", "--model", FIXTURE, "--head-mask", `${work}/heads/head_mask.npy`, "--out", `${work}/pruned`]);

    const plain = serveFolder(site);
    const isolated = serveFolder(site, {
      headers: { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" },
    });
    const hub = serveFolder(FIXTURE, {
      mount: "/org/tiny/resolve/main/",
      headers: { "access-control-allow-origin": "*", "cross-origin-resource-policy": "cross-origin" },
    });
    try {
      const input: DriverInput = {
        base: plain.origin,
        isolated: isolated.origin,
        threads: THREADS,
        hub: hub.origin,
        fixture: FIXTURE,
        outDir: `${work}/downloads/`,
        sentence: SENTENCE,
        corrupted: CORRUPTED,
        smallTsv: small,
        bigTsv: sst2.join("\n"),
        cli: {
          ig: ig.scores,
          patch: patch.effect,
          importance: heads.head_importance,
          entropy: heads.attn_entropy,
          headMask: heads.masking.head_mask,
          steps: heads.masking.steps.map((s: { score: number }) => s.score),
          stepIntervals: heads.masking.steps.map((s: { score_ci?: [number, number] }) =>
            s.score_ci ? `[${s.score_ci[0].toFixed(4)}, ${s.score_ci[1].toFixed(4)}]` : "–"
          ),
          stepRandom: heads.masking.steps.map((s: { random_masks?: { mean: number; min: number; max: number } }) =>
            s.random_masks
              ? `${s.random_masks.mean.toFixed(4)} (${s.random_masks.min.toFixed(4)}–${s.random_masks.max.toFixed(4)})`
              : "–"
          ),
          stability: heads.importance_rank_stability?.mean ?? null,
          prunedDir: `${work}/pruned`,
        },
      };
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--quiet", path("./_static_browser_driver.ts"), JSON.stringify(input)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      strictEqual(r.code, 0, `browser checks failed:\n${text}`);
      for (const line of text.split("\n").filter((l) => l.startsWith("static:"))) console.log(line);
      // only files: no bertology route was asked for, from any server
      for (const s of [plain, isolated, hub]) {
        const api = s.requests.filter((p) => p.startsWith("/api") || p.includes("/api/"));
        strictEqual(api.length, 0, `requests to an API route: ${api.join(", ")}`);
      }
      ok(plain.requests.includes("/worker.js"), "the compute worker came from the static folder");
      if (THREADS) ok(isolated.requests.includes("/kernel_worker.js"), "threads: the kernel workers started");
      ok(hub.requests.every((p) => p.startsWith("/org/tiny/resolve/main/")), hub.requests.join(", "));
      ok(hub.requests.includes("/org/tiny/resolve/main/model.safetensors"), "weights came from the hub URL");
    } finally {
      await Promise.all([plain.shutdown(), isolated.shutdown(), hub.shutdown()]);
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
