import { deepStrictEqual } from "node:assert/strict";
import {
  fileTempName,
  isPlainName,
  isSameOrInside,
  linkTempName,
  OUTPUT_MANIFEST,
  parseOutputManifest,
  parseSiblingName,
  previousFolderName,
  versionFolderName,
} from "./output_dir.ts";

const manifest = {
  tool: "bertology",
  kind: "checkpoint",
  files: ["config.json", "model.safetensors"],
  complete: true,
  pid: 7,
  started: "2026-01-01T00:00:00.000Z",
};

Deno.test("parseOutputManifest() reads the tool's manifest and nothing else", () => {
  deepStrictEqual(parseOutputManifest(JSON.stringify(manifest)), manifest);
  for (
    const bad of [
      "not json",
      "null",
      "[]",
      JSON.stringify({ ...manifest, tool: "other" }),
      JSON.stringify({ ...manifest, kind: "zip" }),
      JSON.stringify({ ...manifest, complete: "yes" }),
      JSON.stringify({ ...manifest, pid: undefined }),
      // a crafted manifest may never point outside its folder or at the manifest itself
      JSON.stringify({ ...manifest, files: ["../thesis.tex"] }),
      JSON.stringify({ ...manifest, files: ["/etc/passwd"] }),
      JSON.stringify({ ...manifest, files: [".."] }),
      JSON.stringify({ ...manifest, files: [OUTPUT_MANIFEST] }),
      JSON.stringify({ ...manifest, files: [3] }),
    ]
  ) deepStrictEqual(parseOutputManifest(bad), undefined, bad);
});

Deno.test("isPlainName() accepts single entry names only", () => {
  deepStrictEqual(["config.json", ".hidden", "a b"].map(isPlainName), [true, true, true]);
  deepStrictEqual(["", ".", "..", "a/b", "a\\b", "a\0b", OUTPUT_MANIFEST].map(isPlainName), Array(7).fill(false));
});

Deno.test("parseSiblingName() reads back every sibling name and rejects others", () => {
  deepStrictEqual(parseSiblingName(versionFolderName("bert-sst2-pruned", "ab12")), {
    name: "bert-sst2-pruned",
    role: "ckpt",
  });
  deepStrictEqual(parseSiblingName(linkTempName("best", 42, "ab12")), { name: "best", role: "link", pid: 42 });
  deepStrictEqual(parseSiblingName(previousFolderName("P", "ab12")), { name: "P", role: "prev" });
  deepStrictEqual(parseSiblingName(fileTempName("report.json", 9, "x")), { name: "report.json", role: "tmp", pid: 9 });
  for (
    const other of ["notes.txt", ".best.ckpt-", ".best.link-ab12", ".best.ckpt-1-ab12", "..ckpt-ab12", ".a/b.ckpt-x"]
  ) {
    deepStrictEqual(parseSiblingName(other), undefined, other);
  }
});

Deno.test("isSameOrInside() compares whole path parts", () => {
  deepStrictEqual(isSameOrInside("/a/b", "/a/b"), true);
  deepStrictEqual(isSameOrInside("/a/b/c", "/a/b"), true);
  deepStrictEqual(isSameOrInside("/a/bc", "/a/b"), false);
  deepStrictEqual(isSameOrInside("/a", "/a/b"), false);
  deepStrictEqual(isSameOrInside("/x", "/"), true);
});
