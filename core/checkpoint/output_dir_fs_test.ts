import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { OUTPUT_MANIFEST, OutputRefusedError } from "./output_dir.ts";
import {
  checkCheckpointDir,
  checkOutputFolder,
  openOutputFolder,
  writeCheckpointDir,
  writeFileAtomically,
  type WriteStep,
} from "./output_dir_fs.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const files = (tag: string): Record<string, Uint8Array> => ({
  "config.json": enc.encode(`{"tag":"${tag}"}\n`),
  "model.safetensors": enc.encode(`weights ${tag}`.repeat(100)),
});

/** The checkpoint's tag, or undefined when `path` is not a complete checkpoint. */
function tagAt(path: string): string | undefined {
  try {
    const tag = JSON.parse(Deno.readTextFileSync(join(path, "config.json"))).tag as string;
    return Deno.readTextFileSync(join(path, "model.safetensors")) === `weights ${tag}`.repeat(100) ? tag : undefined;
  } catch {
    return undefined;
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bertology-out-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeCheckpointDir() writes a link to a hidden version folder and replaces it in place", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "ckpt");
    await writeCheckpointDir(out, files("a"));
    deepStrictEqual(tagAt(out), "a");
    ok(Deno.lstatSync(out).isSymlink);
    await writeCheckpointDir(out, { ...files("b"), "vocab.txt": enc.encode("x\n") });
    deepStrictEqual(tagAt(out), "b");
    deepStrictEqual(names(out), [OUTPUT_MANIFEST, "config.json", "model.safetensors", "vocab.txt"]);
    deepStrictEqual(names(dir), [Deno.readLinkSync(out), "ckpt"].sort(), "the old version folder is gone");
    // a re-write with fewer files drops the tool's old ones
    await writeCheckpointDir(out, files("c"));
    deepStrictEqual(names(out), [OUTPUT_MANIFEST, "config.json", "model.safetensors"]);
  });
});

Deno.test("writeCheckpointDir() refuses a non-empty folder it did not write; --force keeps every file there", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "P");
    await Deno.mkdir(join(out, "docs"), { recursive: true });
    Deno.writeTextFileSync(join(out, "docs", "thesis.tex"), "\\begin{document}");
    Deno.writeTextFileSync(join(out, "results.csv"), "a,b\n1,2\n");
    await rejects(
      writeCheckpointDir(out, files("a"), { flag: "--out" }),
      (e: Error) =>
        e instanceof OutputRefusedError && /--out .*P: the folder is not empty and bertology did not write it/.test(
          e.message,
        ) && /pass --force/.test(e.message),
    );
    deepStrictEqual(names(out), ["docs", "results.csv"]);
    deepStrictEqual(names(dir), ["P"], "nothing written beside it");
    await writeCheckpointDir(out, files("a"), { force: true });
    deepStrictEqual(tagAt(out), "a");
    deepStrictEqual(Deno.readTextFileSync(join(out, "docs", "thesis.tex")), "\\begin{document}");
    deepStrictEqual(Deno.readTextFileSync(join(out, "results.csv")), "a,b\n1,2\n");
    // now it is the tool's checkpoint (with the user's files): replaced without --force, files still kept
    await writeCheckpointDir(out, files("b"));
    deepStrictEqual(tagAt(out), "b");
    deepStrictEqual(Deno.readTextFileSync(join(out, "docs", "thesis.tex")), "\\begin{document}");
    deepStrictEqual(names(dir), [Deno.readLinkSync(out), "P"].sort());
  });
});

Deno.test("writeCheckpointDir() never replaces a file it did not write, even with --force", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "P");
    await Deno.mkdir(out);
    Deno.writeTextFileSync(join(out, "config.json"), "mine");
    await rejects(
      writeCheckpointDir(out, files("a"), { force: true, flag: "--out" }),
      /"config.json" was not written by bertology and would be replaced \(--force never replaces such files\)/,
    );
    deepStrictEqual(Deno.readTextFileSync(join(out, "config.json")), "mine");
    // a note added to the tool's own checkpoint is kept, and a clash with a new output name is refused
    const own = join(dir, "own");
    await writeCheckpointDir(own, files("a"));
    Deno.writeTextFileSync(join(own, "NOTES.md"), "remember");
    await writeCheckpointDir(own, files("b"));
    deepStrictEqual(Deno.readTextFileSync(join(own, "NOTES.md")), "remember");
    Deno.writeTextFileSync(join(own, "vocab.txt"), "user's vocab");
    await rejects(
      writeCheckpointDir(own, { ...files("c"), "vocab.txt": enc.encode("x") }, { force: true }),
      /"vocab.txt" was not written by bertology/,
    );
    deepStrictEqual(tagAt(own), "b");
  });
});

Deno.test("writeCheckpointDir() refuses an existing file and a symbolic link it did not make", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "FILE");
    Deno.writeTextFileSync(file, "data");
    for (const force of [false, true]) {
      await rejects(
        writeCheckpointDir(file, files("a"), { force, flag: "--out" }),
        /Refusing to write --out .*FILE: it is an existing file, and --out must name a folder/,
      );
    }
    deepStrictEqual(Deno.readTextFileSync(file), "data");
    await Deno.mkdir(join(dir, "elsewhere"));
    Deno.symlinkSync("elsewhere", join(dir, "link"));
    await rejects(writeCheckpointDir(join(dir, "link"), files("a"), { force: true }), /symbolic link that bertology/);
    deepStrictEqual(names(dir), ["FILE", "elsewhere", "link"]);
  });
});

Deno.test("writeCheckpointDir() refuses an output that is a source or contains one; inside a source is fine", async () => {
  await withTempDir(async (dir) => {
    const model = join(dir, "models", "m");
    await Deno.mkdir(model, { recursive: true });
    Deno.writeTextFileSync(join(model, "README.md"), "model card");
    for (const out of [model, join(dir, "models"), join(dir, "models", "m", "..", "m")]) {
      await rejects(
        writeCheckpointDir(out, files("a"), { force: true, sources: [model], flag: "--out" }),
        (e: Error) => e instanceof OutputRefusedError && /(is|contains) .*m, which this command reads/.test(e.message),
      );
    }
    // through a link to the source too
    Deno.symlinkSync(model, join(dir, "alias"));
    await rejects(writeCheckpointDir(join(dir, "alias"), files("a"), { sources: [model] }), OutputRefusedError);
    deepStrictEqual(names(model), ["README.md"]);
    await writeCheckpointDir(join(model, "pruned"), files("a"), { sources: [model] });
    deepStrictEqual(tagAt(join(model, "pruned")), "a");
    deepStrictEqual(Deno.readTextFileSync(join(model, "README.md")), "model card");
    // the tool's own checkpoint as both source and output (prune --model P --out P)
    const p = join(dir, "p");
    await writeCheckpointDir(p, files("a"));
    await rejects(checkCheckpointDir(p, ["config.json"], { sources: [p], flag: "--out" }), /it is .*p, which/);
  });
});

Deno.test("writeCheckpointDir() leaves the old checkpoint when a write fails midway, and nothing beside it", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "ckpt");
    await writeCheckpointDir(out, files("a"));
    const before = names(dir);
    let n = 0;
    await rejects(
      writeCheckpointDir(out, files("b"), {
        onStep: (s) => {
          if (s === "file-written" && ++n === 1) throw new Error("disk full");
        },
      }),
      /disk full/,
    );
    deepStrictEqual(tagAt(out), "a");
    deepStrictEqual(names(dir), before);
  });
});

const STEPS: WriteStep[] = ["version-created", "file-written", "files-carried", "complete", "link-made", "swapped"];

Deno.test("writeCheckpointDir(): at every step of a replacement the output is the old or the new checkpoint", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "ckpt");
    await writeCheckpointDir(out, files("a"));
    const seen: string[] = [];
    await writeCheckpointDir(out, files("b"), {
      onStep: (s) => {
        const tag = tagAt(out);
        ok(tag === "a" || tag === "b", `at ${s} the output is ${tag}`);
        seen.push(`${s}:${tag}`);
      },
    });
    ok(seen.includes("link-made:a") && seen.includes("swapped:b"), seen.join(" "));
  });
});

/**
 * Runs a write in a child process that is killed with SIGKILL at `step`; returns when it is dead.
 * `force` and a pre-made output let the test choose which path the write takes.
 */
async function killedWrite(out: string, tag: string, step: WriteStep, force = false): Promise<void> {
  const module = new URL("./output_dir_fs.ts", import.meta.url).href;
  const code = `
    import { writeCheckpointDir } from ${JSON.stringify(module)};
    const enc = new TextEncoder();
    const tag = ${JSON.stringify(tag)};
    await writeCheckpointDir(${JSON.stringify(out)}, {
      "config.json": enc.encode('{"tag":"' + tag + '"}\\n'),
      "model.safetensors": enc.encode(("weights " + tag).repeat(100)),
    }, { force: ${force}, onStep: async (s) => {
      if (s !== ${JSON.stringify(step)}) return;
      await Deno.stdout.write(enc.encode("at\\n"));
      await new Promise((r) => setTimeout(r, 60_000));
    } });
    await Deno.stdout.write(enc.encode("finished\\n"));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const said = dec.decode(value ?? new Uint8Array());
  child.kill("SIGKILL");
  reader.releaseLock();
  await child.stdout.cancel();
  const err = await new Response(child.stderr).text();
  const status = await child.status;
  ok(said.startsWith("at"), `the child reached ${step} (said "${said}", stderr ${err})`);
  deepStrictEqual(status.signal, "SIGKILL");
}

Deno.test({
  name:
    "writeCheckpointDir() killed with SIGKILL at any step leaves the old or new checkpoint; the next write cleans up",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withTempDir(async (dir) => {
      for (const step of STEPS) {
        const out = join(dir, step);
        await writeCheckpointDir(out, files("old"));
        await killedWrite(out, "new", step);
        const tag = tagAt(out);
        ok(tag === (step === "swapped" ? "new" : "old"), `killed at ${step}: the output is ${tag}`);
        ok(names(dir).some((n) => n.startsWith(`.${step}.`) && n !== Deno.readLinkSync(out)), "a leftover to clean");
        await writeCheckpointDir(out, files("next"));
        deepStrictEqual(tagAt(out), "next");
        deepStrictEqual(names(dir).filter((n) => n.includes(step)), [Deno.readLinkSync(out), step].sort());
      }
    });
  },
});

Deno.test({
  name: "writeCheckpointDir() killed while moving a user's folder aside puts it back on the next write",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, "P");
      await Deno.mkdir(out);
      Deno.writeTextFileSync(join(out, "thesis.tex"), "chapter 1");
      await killedWrite(out, "new", "old-moved", true);
      // the one moment the output is missing: the old folder sits at .P.prev-*
      ok(names(dir).some((n) => n.startsWith(".P.prev-")));
      await rejects(writeCheckpointDir(out, files("a")), /pass --force/);
      deepStrictEqual(names(out), ["thesis.tex"], "the next write put the folder back before anything else");
      await writeCheckpointDir(out, files("a"), { force: true });
      deepStrictEqual(tagAt(out), "a");
      deepStrictEqual(Deno.readTextFileSync(join(out, "thesis.tex")), "chapter 1");
      deepStrictEqual(names(dir), [Deno.readLinkSync(out), "P"].sort());
    });
  },
});

Deno.test("writeCheckpointDir() leaves alone a version folder whose writer is still running", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "ckpt");
    await writeCheckpointDir(out, files("a"));
    // another writer in the middle of a write: it holds the lock on its version folder
    const busy = join(dir, ".ckpt.ckpt-busy1");
    await Deno.mkdir(busy);
    const lock = await Deno.open(busy, { read: true });
    await lock.lock(true);
    const manifest = JSON.parse(Deno.readTextFileSync(join(out, OUTPUT_MANIFEST)));
    Deno.writeTextFileSync(join(busy, OUTPUT_MANIFEST), JSON.stringify({ ...manifest, complete: false }));
    Deno.writeTextFileSync(join(busy, "config.json"), "partial");
    await writeCheckpointDir(out, files("b"));
    ok(names(dir).includes(".ckpt.ckpt-busy1"), "its writer still runs: kept");
    lock.close();
    await writeCheckpointDir(out, files("b2"));
    ok(!names(dir).includes(".ckpt.ckpt-busy1"), "its writer is gone: cleaned");
    // a folder that merely looks like one of ours but has no manifest is kept too (unless empty)
    await Deno.mkdir(join(dir, ".ckpt.ckpt-user1"));
    Deno.writeTextFileSync(join(dir, ".ckpt.ckpt-user1", "keep.txt"), "mine");
    await writeCheckpointDir(out, files("c"));
    deepStrictEqual(Deno.readTextFileSync(join(dir, ".ckpt.ckpt-user1", "keep.txt")), "mine");
  });
});

Deno.test("openOutputFolder() refuses someone else's folder, never overwrites their files, cleans its temporaries", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "report");
    await Deno.mkdir(out);
    Deno.writeTextFileSync(join(out, "results.csv"), "1,2");
    await rejects(checkOutputFolder(out, ["report.json"], { flag: "--output-dir" }), /pass --force/);
    await rejects(openOutputFolder(out, ["report.json"], { flag: "--output-dir" }), /pass --force/);
    deepStrictEqual(names(out), ["results.csv"]);
    Deno.writeTextFileSync(join(out, "report.json"), "theirs");
    await rejects(
      openOutputFolder(out, ["report.json"], { force: true }),
      /"report.json" was not written by bertology/,
    );
    Deno.removeSync(join(out, "report.json"));
    const folder = await openOutputFolder(out, ["report.json"], { force: true });
    await folder.write("report.json", "{}\n");
    // a re-run needs no --force; a temporary file of a killed writer (a pid that is gone) is removed
    Deno.writeTextFileSync(join(out, ".report.json.tmp-999999999-dead1"), "partial");
    Deno.writeTextFileSync(join(out, ".other.tmp-999999999-dead1"), "not one of ours");
    await openOutputFolder(out, ["report.json"]);
    deepStrictEqual(names(out), [OUTPUT_MANIFEST, ".other.tmp-999999999-dead1", "report.json", "results.csv"]);
    await rejects(openOutputFolder(join(out, "results.csv"), ["report.json"], { force: true }), /existing file/);
    await rejects(openOutputFolder(dir, ["report"], { sources: [join(out, "results.csv")] }), /contains/);
    // a temporary file whose writer still runs (it holds the lock) is kept
    const live = join(out, ".report.json.tmp-1-live1");
    const file = await Deno.open(live, { createNew: true, write: true });
    await file.lock(true);
    await openOutputFolder(out, ["report.json"]);
    ok(names(out).includes(".report.json.tmp-1-live1"));
    file.close();
  });
});

Deno.test("writeFileAtomically() removes the temporary files of a killed writer of the same file (export), keeps a live one's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a writer killed mid-write (SIGKILL): its locked `.model.onnx.tmp-PID-ID` stays behind, unlocked once it is gone
    const dead = join(dir, ".model.onnx.tmp-4242-dead1");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = await Deno.open(${JSON.stringify(dead)}, { createNew: true, write: true });
         await f.lock(true); await f.write(new Uint8Array(1024)); console.log("locked");
         await new Promise(() => setInterval(() => {}, 1000));`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    ok((await reader.read()).value?.includes("locked"));
    // while it runs, its file is kept
    await writeFileAtomically(dir, "model.onnx", new Uint8Array([1]));
    ok(names(dir).includes(".model.onnx.tmp-4242-dead1"), "a live writer's file is kept");
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const other = join(dir, ".other.onnx.tmp-4242-dead2");
    Deno.writeTextFileSync(other, "another output's");
    await writeFileAtomically(dir, "model.onnx", new Uint8Array([2]));
    deepStrictEqual(names(dir), [".other.onnx.tmp-4242-dead2", "model.onnx"]);
    deepStrictEqual(Deno.readFileSync(join(dir, "model.onnx")), new Uint8Array([2]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
