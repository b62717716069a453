/**
 * The architecture's rules, checked on the source tree: packages meet only through their exports, no module
 * reaches into another package's `_private` files, and no code outside `core/models/` switches on a family name.
 */
import { deepStrictEqual, ok } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const PACKAGES = ["core", "cli", "web"];

function* tsFiles(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !["fixtures", "static", "node_modules"].includes(e.name)) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

/** Every relative import of a file, resolved against the repository root. */
function imports(file: string): string[] {
  const src = Deno.readTextFileSync(`${ROOT}${file}`);
  const out: string[] = [];
  for (const m of src.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
    const url = new URL(m[1]!, `file://${ROOT}${file}`);
    out.push(url.pathname.slice(ROOT.length));
  }
  return out;
}

const packageOf = (path: string) => PACKAGES.find((p) => path.startsWith(`${p}/`));

Deno.test("packages import each other through their exports, never by relative paths", () => {
  const bad: string[] = [];
  for (const dir of ["cli", "web", "bench", "tests"]) {
    for (const f of tsFiles(dir)) {
      for (const target of imports(f)) {
        const from = packageOf(f), to = packageOf(target);
        if (to !== undefined && to !== from && !(dir === "tests" && to === "web")) bad.push(`${f} → ${target}`);
      }
    }
  }
  deepStrictEqual(bad, []);
});

Deno.test("no module imports another package's _private file", () => {
  const bad: string[] = [];
  for (const dir of ["core", "cli", "web", "bench", "tests"]) {
    for (const f of tsFiles(dir)) {
      for (const target of imports(f)) {
        const name = target.split("/").pop()!;
        if (name.startsWith("_") && packageOf(target) !== packageOf(f)) bad.push(`${f} → ${target}`);
      }
    }
  }
  deepStrictEqual(bad, []);
});

Deno.test("outside core/models/, no non-test code switches on a family name", () => {
  const bad: string[] = [];
  const families =
    /(===|!==|==|!=)\s*"(bert|gpt2|openai-gpt|distilbert|roberta)"|"(bert|gpt2|openai-gpt)"\s*(===|!==)|case\s+"(bert|gpt2|openai-gpt)"/;
  for (const dir of ["core", "cli", "web", "bench"]) {
    for (const f of tsFiles(dir)) {
      if (f.startsWith("core/models/") || f.endsWith("_test.ts")) continue;
      Deno.readTextFileSync(`${ROOT}${f}`).split("\n").forEach((line, i) => {
        if (families.test(line)) bad.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  deepStrictEqual(bad, []);
});

Deno.test("core's imports resolve without an import map, and each npm package has one version in the tree", () => {
  const bad: string[] = [];
  const versions = new Map<string, Set<string>>();
  for (const dir of ["core", "cli", "web", "bench", "tests"]) {
    for (const f of tsFiles(dir)) {
      const src = Deno.readTextFileSync(`${ROOT}${f}`);
      const code = src.split("\n").filter((line) => !/^\s*(\*|\/\/)/.test(line)).join("\n"); // not JSDoc examples
      for (const m of code.matchAll(/^\s*(?:import|export|\}).*\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"/gm)) {
        const spec = m[1] ?? m[2]!;
        if (dir === "core" && !/^(\.|node:|npm:)/.test(spec)) {
          bad.push(`${f} → ${spec} (a bare name needs an import map)`);
        }
      }
      for (const m of src.matchAll(/"npm:(@?[^@"/]+(?:\/[^@"/]+)?)@([^"/]+)/g)) {
        versions.set(m[1]!, (versions.get(m[1]!) ?? new Set()).add(m[2]!));
      }
    }
  }
  for (const [name, v] of versions) if (v.size > 1) bad.push(`npm:${name} at versions ${[...v].join(", ")}`);
  deepStrictEqual(bad, []);
  ok(versions.has("onnxruntime-web"), "the scan sees the npm: specifiers");
});
