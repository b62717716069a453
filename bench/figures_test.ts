import { deepStrictEqual, throws } from "node:assert/strict";
import { mergeFigures, parseBenchArgs } from "./figures.ts";

Deno.test("mergeFigures() merges sections key by key and leaves absent sections and rows out", () => {
  const figures = {};
  mergeFigures(figures, { forward_ms: { ours_1t: 700 }, importance_examples_per_s: { ours_1t: 3 } });
  mergeFigures(figures, { forward_ms: { ort_web_1t: 900 }, rows: [{ name: "x" }], skipped: undefined });
  mergeFigures(figures, undefined);
  mergeFigures(figures, [{ name: "a table" }]);
  mergeFigures(figures, { study_s: { ours: 10, padded_128: 40 } });
  deepStrictEqual(figures, {
    forward_ms: { ours_1t: 700, ort_web_1t: 900 },
    importance_examples_per_s: { ours_1t: 3 },
    study_s: { ours: 10, padded_128: 40 },
  });
});

Deno.test("parseBenchArgs() reads --json, --only, --study-subset and --pytorch, and names a bad flag", () => {
  const none = { json: undefined, only: undefined, studySubset: undefined, pytorch: undefined, backend: undefined };
  deepStrictEqual(parseBenchArgs([]), none);
  deepStrictEqual(parseBenchArgs(["--json", "f.json", "--only", "matmul,study", "--study-subset", "64"]), {
    json: "f.json",
    only: new Set(["matmul", "study"]),
    studySubset: 64,
    pytorch: undefined,
    backend: undefined,
  });
  deepStrictEqual(parseBenchArgs(["--backend", "ort-webgpu,ort-node"]), { ...none, backend: "ort-webgpu,ort-node" });
  deepStrictEqual(parseBenchArgs(["--pytorch", "/venv/bin/python"]), { ...none, pytorch: "/venv/bin/python" });
  throws(() => parseBenchArgs(["--pytorch"]), /--pytorch needs a value/);
  throws(() => parseBenchArgs(["--jsn", "f"]), /got --jsn/);
  throws(() => parseBenchArgs(["--json"]), /--json needs a value/);
  throws(() => parseBenchArgs(["--study-subset", "0"]), /--study-subset must be a positive integer/);
});
