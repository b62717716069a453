/**
 * A fresh clone's first `deno task demo` downloads only what the demo uses — nothing from npm. `deno task`
 * installs every npm package named by the workspace's import maps and lockfile before it runs any task, so
 * neither may name one: npm packages are spelled `npm:name@version` where they are imported, the config turns
 * the lockfile off for the task runner, and the tasks pass `--lock=deno.lock` to the commands they run.
 */
import { deepStrictEqual, ok } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const readJson = (path: string) => JSON.parse(Deno.readTextFileSync(`${ROOT}${path}`));

Deno.test("the demo's module graph holds no npm package", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--lock=deno.lock", "cli/demo.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  deepStrictEqual(r.code, 0, new TextDecoder().decode(r.stderr));
  const info = JSON.parse(new TextDecoder().decode(r.stdout));
  ok(info.modules.length > 50, "the demo's graph was read");
  const npm = info.modules.filter((m: { kind?: string }) => m.kind === "npm").map((m: { specifier: string }) =>
    m.specifier
  );
  deepStrictEqual(npm, []);
});

Deno.test("deno task has no npm package to install before a task", () => {
  const root = readJson("deno.json");
  deepStrictEqual(root.lock, false, "deno.json: `deno task` installs every package of the lockfile");
  for (const path of ["deno.json", ...root.workspace.map((m: string) => `${m.replace(/^\.\//, "")}/deno.json`)]) {
    const npm = Object.values(readJson(path).imports ?? {}).filter((v) => String(v).startsWith("npm:"));
    deepStrictEqual(npm, [], `${path}: an npm package in the import map is installed by every deno task`);
  }
  for (const [name, command] of Object.entries(root.tasks as Record<string, string>)) {
    if (/^deno (run|test) /.test(command)) ok(command.includes("--lock=deno.lock"), `task ${name} uses the lockfile`);
  }
});
