import { strictEqual, throws } from "node:assert";
import { relinkKernelWorker } from "./build.ts";

Deno.test("relinkKernelWorker() points the pool at kernel_worker.js, and refuses a bundle without one reference", () => {
  const js = `const WORKER_URL = new URL("./_kernel_worker.ts", import.meta.url);`;
  strictEqual(relinkKernelWorker(js), `const WORKER_URL = new URL("./kernel_worker.js", import.meta.url);`);
  throws(
    () => relinkKernelWorker("no pool here"),
    /expected one new URL\("\.\/_kernel_worker\.ts", import\.meta\.url\), found 0/,
  );
  throws(() => relinkKernelWorker(js + js), /found 2/);
});
