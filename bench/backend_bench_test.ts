import { deepStrictEqual, throws } from "node:assert/strict";
import { describeAdapter, parseBackendList } from "./backend_bench.ts";

Deno.test("describeAdapter() reports a software adapter as such, never as a GPU", () => {
  const llvmpipe = describeAdapter({ vendor: "65541", device: "0", description: "llvmpipe (LLVM 15.0.6, 256 bits)" });
  deepStrictEqual(llvmpipe.gpu, false);
  deepStrictEqual(
    llvmpipe.ran.startsWith('WebGPU adapter "llvmpipe (LLVM 15.0.6, 256 bits), vendor 65541" — a software adapter'),
    true,
  );
  deepStrictEqual(describeAdapter({ description: "SwiftShader Device (Subzero)" }).gpu, false);
  deepStrictEqual(describeAdapter({ description: "Microsoft Basic Render Driver" }).gpu, false);
  // a fallback adapter is software whatever it calls itself
  deepStrictEqual(
    describeAdapter({ vendor: "nvidia", description: "NVIDIA H100", isFallbackAdapter: true }).gpu,
    false,
  );
  const h100 = describeAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H100 80GB HBM3" });
  deepStrictEqual(h100.gpu, true);
  deepStrictEqual(h100.ran.includes("— a GPU"), true);
});

Deno.test("parseBackendList() takes the ONNX Runtime backends and names anything else", () => {
  deepStrictEqual(parseBackendList("ort-webgpu,ort-node,ort-wasm"), ["ort-webgpu", "ort-node", "ort-wasm"]);
  throws(() => parseBackendList("ort-webgpu,cuda"), /--backend: "cuda" is not an ONNX Runtime backend/);
  throws(() => parseBackendList("wasm"), /--backend: "wasm" is not an ONNX Runtime backend/);
});
