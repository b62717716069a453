import assert from "node:assert/strict";
import { localFiles } from "./local_files.ts";

Deno.test("localFiles() reads files and gives undefined for missing ones", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/config.json`, "{}");
    await Deno.writeTextFile(`${dir}/sub/x.txt`, "x");
    const files = localFiles(dir);
    assert.equal(files.location, dir);
    assert.deepEqual(await files.read("config.json"), new TextEncoder().encode("{}"));
    assert.deepEqual(await files.read("sub/x.txt"), new TextEncoder().encode("x"));
    assert.equal(await files.read("missing.json"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("localFiles() refuses names that escape the folder and reports other errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = localFiles(dir);
    await assert.rejects(() => files.read("../etc/passwd"), /Refusing to read "..\/etc\/passwd"/);
    await assert.rejects(() => files.read("/etc/passwd"), /Refusing to read/);
    await Deno.mkdir(`${dir}/folder.json`);
    await assert.rejects(() => files.read("folder.json"), /Cannot read "folder.json" from/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
