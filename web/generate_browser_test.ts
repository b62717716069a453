/**
 * Continue and the head-roles panel in a real browser: Debian's Chromium driven by playwright-core
 * (`_generate_browser_driver.ts`, in a child Deno process with `--allow-all`) on the pretrained stories260K, its
 * numbers checked against the CLI's (`bertology generate --json`, `bertology head-roles --json`, run here as
 * subprocesses). Skipped, with a message, when `/usr/bin/chromium` is absent.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { createApp } from "./app.ts";
import { fixture } from "../tests/helpers/web.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
if (!hasChromium) {
  console.warn(`generate_browser_test.ts: SKIPPED — ${CHROMIUM} not found (apt-get install -y chromium)`);
}

const path = (rel: string) => decodeURIComponent(new URL(rel, import.meta.url).pathname);
const STORIES = path("../models/stories260k");
const PROMPT = "Once upon a time";
const NEW_TOKENS = 30;
const ROLES = { repeat_len: 15, rows: 8, seed: 5 };

async function cli(args: string[]): Promise<unknown> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", path("../cli/main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(r.code, 0, `bertology ${args[0]} failed: ${new TextDecoder().decode(r.stderr)}`);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

Deno.test({
  name:
    "Continue shows the CLI's greedy continuation and its attention; the head-roles panel shows the CLI's scores (Chromium)",
  ignore: !hasChromium,
  async fn() {
    const opts = await fixture(STORIES);
    const model = ["--model", STORIES, "--json"];
    const expected = {
      prompt: PROMPT,
      new_tokens: NEW_TOKENS,
      prompt_length: opts.tokenizer.encode(PROMPT).ids.length,
      generate: await cli(["generate", ...model, "--prompt", PROMPT, "--max-new-tokens", String(NEW_TOKENS)]),
      roles: ROLES,
      head_roles: await cli([
        "head-roles",
        ...model,
        "--repeat-len",
        String(ROLES.repeat_len),
        "--rows",
        String(ROLES.rows),
        "--seed",
        String(ROLES.seed),
      ]),
    };
    const out = await Deno.makeTempDir({ prefix: "bertology-generate-view-" });
    await Deno.writeTextFile(`${out}/expected.json`, JSON.stringify(expected));
    const app = createApp(opts);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--quiet",
          path("./_generate_browser_driver.ts"),
          `http://127.0.0.1:${server.addr.port}`,
          `${out}/`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      strictEqual(r.code, 0, `continue / head-roles checks failed:\n${text}`);
      await Deno.remove(out, { recursive: true });
    } finally {
      await server.shutdown();
      app.close?.();
    }
  },
});
