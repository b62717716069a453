import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { didYouMean, Progress, type ProgressSink, showStage, withProgress } from "./_common.ts";
import { fixtureModel } from "../tests/helpers/goldens.ts";

/** A sink that records what a bar draws. */
function sink(terminal: boolean): ProgressSink & { text: string } {
  const s = { terminal, text: "", write: (t: string) => void (s.text += t) };
  return s;
}

Deno.test("Progress draws on a terminal and writes nothing otherwise", () => {
  const tty = sink(true), pipe = sink(false);
  for (const s of [tty, pipe]) {
    const bar = new Progress("probe", 10, s);
    bar.tick(3);
    bar.update(7);
    bar.end();
    showStage("export: writing x", s);
  }
  ok(tty.text.includes("probe ") && tty.text.includes("3/10") && tty.text.includes("7/10"), tty.text);
  ok(tty.text.includes("export: writing x …"));
  strictEqual(pipe.text, "");
});

Deno.test("withProgress() moves the bar through its callback and clears it, on a throw too", async () => {
  const s = sink(true);
  strictEqual(await withProgress("features", (on) => (on(1, 2), on(2, 2), 42), s), 42);
  ok(s.text.includes("1/2") && s.text.includes("2/2") && s.text.endsWith("\r\x1b[2K"), JSON.stringify(s.text));
  const t = sink(true);
  await rejects(withProgress("x", (on) => (on(1, 3), Promise.reject(new Error("boom"))), t), /boom/);
  ok(t.text.endsWith("\r\x1b[2K"));
});

Deno.test("didYouMean() finds typos and unique prefixes, and nothing far away", () => {
  deepStrictEqual(
    ["prbe", "atention-stats", "logitlens", "exprot", "sy", "zzz"].map((w) =>
      didYouMean(w, ["probe", "prune", "attention-stats", "logit-lens", "export", "syntax"])
    ),
    ["probe", "attention-stats", "logit-lens", "export", "syntax", undefined],
  );
});

/** Runs `bertology attention-stats` on the tiny BERT in a child process; `pty` runs it on a pseudo-terminal. */
async function attentionStats(pty: boolean): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const cli = new URL("./main.ts", import.meta.url).pathname;
    const args = [
      ...["run", "--allow-all", cli, "attention-stats", "--model", fixtureModel("bert-tiny-random")],
      ...["--task", "sst-2", "--data-dir", "data/glue", "--data-subset", "6", "--output-dir", dir],
    ];
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const command = pty
      ? new Deno.Command("script", { args: ["-qec", [Deno.execPath(), ...args].map(quote).join(" "), "/dev/null"] })
      : new Deno.Command(Deno.execPath(), { args });
    const r = await command.output();
    const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
    strictEqual(r.code, 0, text);
    return pty ? text : new TextDecoder().decode(r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const hasScript = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

Deno.test("a long command draws progress on a terminal and none when stderr is piped", async () => {
  const piped = await attentionStats(false);
  ok(!piped.includes("\r") && !piped.includes("█"), JSON.stringify(piped));
  if (!hasScript) {
    console.warn("skipped the terminal half: no /usr/bin/script to open a pseudo-terminal");
    return;
  }
  const tty = await attentionStats(true);
  ok(tty.includes("attention-stats ") && tty.includes("█") && tty.includes("6/6"), JSON.stringify(tty.slice(0, 400)));
});
