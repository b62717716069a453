import assert from "node:assert/strict";
import { BackendUnavailable, isBackendName, loadOrt, nodeCudaInstalled } from "./ort_runtime.ts";

Deno.test("loadOrt('ort-node') asks for CUDA only where onnxruntime-node's CUDA library is installed", async () => {
  const { providers, label } = await loadOrt("ort-node");
  if (nodeCudaInstalled()) {
    assert.deepEqual([providers, label], [["cuda", "cpu"], "onnxruntime-node cuda"]);
  } else {
    assert.deepEqual([providers, label], [["cpu"], "onnxruntime-node cpu"]);
  }
});

Deno.test("loadOrt('ort-wasm') sets the thread count it labels; ort-webgpu without an adapter says why", async () => {
  assert.equal((await loadOrt("ort-wasm", 2)).label, "onnxruntime-web wasm (2 threads)");
  const nav = globalThis.navigator as unknown as { gpu?: unknown };
  const gpu = Object.getOwnPropertyDescriptor(Navigator.prototype, "gpu");
  Object.defineProperty(Navigator.prototype, "gpu", { configurable: true, get: () => undefined });
  try {
    assert.equal(nav.gpu, undefined);
    await assert.rejects(
      loadOrt("ort-webgpu"),
      (e) => e instanceof BackendUnavailable && /no navigator\.gpu/.test(e.message),
    );
  } finally {
    if (gpu) Object.defineProperty(Navigator.prototype, "gpu", gpu);
  }
  assert.ok(isBackendName("ort-node") && !isBackendName("cuda"));
});
