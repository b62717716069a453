import { ok, strictEqual } from "node:assert";
import { ORT_VENDOR_FILES, ORT_VENDOR_PREFIX, ortDistDir, withOrtVendorFiles } from "./_ort_vendor.ts";

const passed: string[] = [];
const fetch = withOrtVendorFiles((r) => {
  passed.push(new URL(r.url).pathname);
  return Promise.resolve(new Response("app"));
}, ortDistDir());
const get = (path: string, method = "GET") => fetch(new Request(`http://localhost${path}`, { method }));

Deno.test("vendor route: the whitelisted onnxruntime-web files, with their types", async () => {
  for (const [name, type] of Object.entries(ORT_VENDOR_FILES)) {
    const res = await get(`${ORT_VENDOR_PREFIX}${name}`, "HEAD");
    strictEqual(res.status, 200, name);
    strictEqual(res.headers.get("content-type"), type);
    ok(Number(res.headers.get("content-length")) > 10_000, name);
  }
  const wasm = await get(`${ORT_VENDOR_PREFIX}ort-wasm-simd-threaded.wasm`);
  const head = new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4);
  strictEqual(String.fromCharCode(...head.subarray(1)), "asm", "a WebAssembly module");
});

Deno.test("vendor route: anything else under /vendor/ is a 404, traversal included; other paths pass", async () => {
  for (
    const path of [
      "/vendor/onnxruntime-web/%2e%2e/package.json",
      "/vendor/onnxruntime-web/..%2f..%2fpackage.json",
      "/vendor/onnxruntime-web/ort.node.min.mjs",
      "/vendor/onnxruntime-web/",
      "/vendor/onnxruntime-web/constructor",
      "/vendor/x",
    ]
  ) {
    const res = await get(path);
    strictEqual(res.status, 404, path);
    strictEqual((await res.json()).error, "not_found");
  }
  strictEqual((await get(`${ORT_VENDOR_PREFIX}ort.wasm.bundle.min.mjs`, "POST")).status, 405);
  strictEqual(await (await get("/api/model")).text(), "app");
  // a URL resolves its dot segments: this one leaves /vendor/ and goes to the app (whose answer is a 404)
  strictEqual(await (await get("/vendor/onnxruntime-web/../../package.json")).text(), "app");
  strictEqual(passed.join(), "/api/model,/package.json");
});
