import assert from "node:assert/strict";
import { ok, rejects, strictEqual, throws } from "node:assert/strict";
import { localFiles, openLocalFile, readLocalFile, readLocalFileSync } from "./local_files.ts";
import { loadModel } from "../models/load.ts";

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

Deno.test("localFiles().open() reads byte ranges and names the path when the file ends first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/w.bin`, Uint8Array.from({ length: 100 }, (_, i) => i));
    const file = (await localFiles(dir).open!("w.bin"))!;
    assert.equal(file.size, 100);
    const into = new Uint8Array(5);
    await file.readAt(40, into);
    assert.deepEqual([...into], [40, 41, 42, 43, 44]);
    await assert.rejects(() => file.readAt(98, new Uint8Array(4)), /w\.bin" ends at byte 100/);
    file.close();
    file.close();
    assert.equal(await localFiles(dir).open!("missing.bin"), undefined);
    assert.equal(await openLocalFile(`${dir}/missing.bin`), undefined);
    await assert.rejects(() => localFiles(dir).open!("../x"), /Refusing to open/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("localFiles() refuses a config.json or vocab.txt that is not a regular file: a symlink to /dev/zero, a named pipe", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.symlink("/dev/zero", `${dir}/config.json`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/vocab.txt`] }).output();
    ok(fifo.success, "mkfifo");
    const files = localFiles(dir);
    for (const name of ["config.json", "vocab.txt"]) {
      await rejects(files.read(name), (e: Error) => {
        ok(e.message.includes(`"${name}"`) && e.message.includes("not a regular file"), e.message);
        return true;
      });
      await rejects(files.open!(name), /not a regular file/);
    }
    await rejects(loadModel(files), /config\.json.*not a regular file/);
    throws(() => readLocalFileSync(`${dir}/vocab.txt`), /not a regular file/);
    throws(() => readLocalFileSync(dir), /not a regular file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readLocalFile() reads a regular file whole (a symlink to one included) and gives undefined for a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    await Deno.symlink(`${dir}/a.txt`, `${dir}/b.txt`);
    strictEqual(new TextDecoder().decode(await readLocalFile(`${dir}/b.txt`)), "hello");
    strictEqual(new TextDecoder().decode(readLocalFileSync(`${dir}/a.txt`)), "hello");
    strictEqual(await readLocalFile(`${dir}/missing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
