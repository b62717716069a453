/**
 * The page in a real browser: Debian's Chromium driven by playwright-core (`_browser_driver.ts`, in a child
 * Deno process with `--allow-all`). Skipped, with a message, when `/usr/bin/chromium` is absent (CI installs
 * it: `apt-get install -y chromium`). Also computes in the page through onnxruntime-web and compares. Writes the exports and `out/web_screenshot.png`; with
 * `BERTOLOGY_UPDATE_SCREENSHOT=1` also the README's `web/screenshot.png` (a test run leaves tracked files as they are).
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { createApp } from "./app.ts";
import { ortDistDir, withOrtVendorFiles } from "./_ort_vendor.ts";
import { EMBEDDED_BERT_DIR, fixture } from "../tests/helpers/web.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
if (!hasChromium) console.warn(`browser_test.ts: SKIPPED — ${CHROMIUM} not found (apt-get install -y chromium)`);

Deno.test({
  name: "the page draws the head view, model view and heatmaps, switches layer and exports (Chromium)",
  ignore: !hasChromium,
  async fn() {
    // the embedded model, as `deno task serve:ort` shows it: in-browser compute offered, onnxruntime-web served
    const app = createApp({ ...await fixture(EMBEDDED_BERT_DIR), browserCompute: true });
    const fetch = withOrtVendorFiles(app.fetch, ortDistDir());
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, fetch);
    try {
      const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--quiet",
          path("./_browser_driver.ts"),
          `http://127.0.0.1:${server.addr.port}`,
          path("../out/"),
          ...(Deno.env.get("BERTOLOGY_UPDATE_SCREENSHOT") === "1" ? [path("./screenshot.png")] : []),
        ],
        stdout: "piped",
        stderr: "piped",
      });
      const r = await child.output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      strictEqual(r.code, 0, `browser checks failed:\n${text}`);
      const provider = text.split("\n").find((l) => l.startsWith("in-browser compute:"));
      if (provider) console.log(provider);
    } finally {
      await server.shutdown();
    }
  },
});
