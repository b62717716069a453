/**
 * The circuit view in a real browser: Debian's Chromium driven by playwright-core (`_circuit_browser_driver.ts`,
 * in a child Deno process with `--allow-all`) on the fixture GPT-2, its numbers checked against the CLI's
 * (`bertology eap --json --faithfulness`, `dla --json`, `atp --json`, run here as subprocesses). Skipped, with a
 * message, when `/usr/bin/chromium` is absent. Writes its exports and screenshot to a temp folder; with
 * `BERTOLOGY_UPDATE_SCREENSHOT=1` also the README's `web/circuit_view.png` (a test run leaves tracked files be).
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { createApp } from "./app.ts";
import { fixture, GPT2_DIR } from "../tests/helpers/web.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
if (!hasChromium) {
  console.warn(`circuit_browser_test.ts: SKIPPED — ${CHROMIUM} not found (apt-get install -y chromium)`);
}

/** The name-swap pair the driver types (also the page's default for a language model). */
export const PAIR = {
  clean: "When Mary and John went to the store, John gave a drink to",
  corrupted: "When Mary and John went to the store, Mary gave a drink to",
  target: " Mary",
  distractor: " John",
};
/** The k the driver moves the slider to. */
const K = 10;

const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);

async function cli(args: string[]): Promise<unknown> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", path("../cli/main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  strictEqual(r.code, 0, `bertology ${args[0]} failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

Deno.test({
  name: "the circuit view draws EAP's edges with the CLI's scores, measures faithfulness live and exports (Chromium)",
  ignore: !hasChromium,
  async fn() {
    const model = ["--model", GPT2_DIR, "--target", PAIR.target, "--distractor", PAIR.distractor, "--json"];
    const pair = ["--clean", PAIR.clean, "--corrupted", PAIR.corrupted];
    const expected = {
      pair: PAIR,
      k: K,
      eap: await cli(["eap", ...model, ...pair, "--faithfulness", "--top-k", String(K)]),
      dla: await cli(["dla", ...model, "--text", PAIR.clean]),
      atp: await cli(["atp", ...model, ...pair]),
    };
    const out = await Deno.makeTempDir({ prefix: "bertology-circuit-view-" });
    await Deno.writeTextFile(`${out}/expected.json`, JSON.stringify(expected));
    const app = createApp(await fixture(GPT2_DIR));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--quiet",
          path("./_circuit_browser_driver.ts"),
          `http://127.0.0.1:${server.addr.port}`,
          `${out}/`,
          ...(Deno.env.get("BERTOLOGY_UPDATE_SCREENSHOT") === "1" ? [path("./circuit_view.png")] : []),
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      strictEqual(r.code, 0, `circuit view checks failed:\n${text}`);
      await Deno.remove(out, { recursive: true });
    } finally {
      await server.shutdown();
      app.close?.();
    }
  },
});
