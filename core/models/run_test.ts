import assert from "node:assert/strict";
import { createWasmKernels } from "../kernels/wasm_kernels.ts";
import { type Act, Run } from "./run.ts";

/** A recording run through one block y = x + h with h = 2x (h's own backward left out: only dy/dx via the residual). */
function blockRun(keep: string[]) {
  const k = createWasmKernels();
  const run = new Run(k, { backward: true, keep: new Set(keep) });
  const x = run.act([4]);
  k.mem.f32(x.ptr, 4).set([1, 2, 3, 4]);
  let inner = 0;
  const y = run.scoped([4], () => {
    const h = run.hook("h", run.act([4]));
    k.scale(h.ptr, x.ptr, 2, 4);
    const out: Act = run.act([4]);
    k.add(out.ptr, x.ptr, h.ptr, 4);
    run.onBackward(() => {
      const dOut = run.gradOf(out);
      k.add(run.gradOf(x), run.gradOf(x), dOut, 4); // residual
      inner = run.gradOf(h);
      k.add(inner, inner, dOut, 4);
    });
    return out;
  }, x);
  return { k, run, x, y, innerGrad: () => inner };
}

Deno.test("Run.scoped() when recording: the block's backward frees its gradient buffers, the input's survives", () => {
  const { k, run, x, y, innerGrad } = blockRun([]);
  k.fill(run.gradOf(y), 1, 4);
  run.backward();
  assert.ok(innerGrad() >= k.mem.mark(), "the inner gradient lies above the top: freed");
  assert.ok(run.gradOf(x) < k.mem.mark(), "the input's gradient was placed below the block's");
  assert.deepEqual([...k.mem.f32(run.gradOf(x), 4)], [1, 1, 1, 1]);
  run.dispose();
});

Deno.test("Run.scoped() when recording keeps a block's gradients when one of them is kept by name", () => {
  const { k, run, y, innerGrad } = blockRun(["h_grad"]);
  k.fill(run.gradOf(y), 1, 4);
  run.backward();
  assert.ok(innerGrad() < k.mem.mark(), "kept: still allocated");
  assert.deepEqual([...run.cache.get("h_grad")!.data], [1, 1, 1, 1]);
  run.dispose();
});
