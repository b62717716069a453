import { deepStrictEqual, ok } from "node:assert/strict";
import { OPS } from "./mod.ts";

Deno.test("every op module registers under its own name with WASM, trace and ONNX rules", () => {
  for (const [key, def] of Object.entries(OPS)) {
    deepStrictEqual(def.name, key);
    for (const rule of [def.wasm, def.trace, def.onnx]) ok(typeof rule === "function", `${key}: a rule is missing`);
  }
  // only ops that come before the first attention may lack a backward rule
  deepStrictEqual(Object.values(OPS).filter((d) => d.onnxBackward === undefined).map((d) => d.name), ["embedding"]);
});
