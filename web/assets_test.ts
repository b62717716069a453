import { strictEqual } from "node:assert";
import { pageSourceHash } from "./build_assets.ts";
import { SOURCE_HASH } from "./static/_assets.ts";

Deno.test("static/_assets.ts is built from the current web/page/ sources", async () => {
  strictEqual(
    SOURCE_HASH,
    await pageSourceHash(),
    "web/page/ changed: run `deno run --allow-read --allow-write --allow-run --allow-env web/build_assets.ts`",
  );
});
