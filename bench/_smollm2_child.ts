/**
 * One measurement of `smollm2_bench.ts`, in its own process so that its memory is its own: loads the
 * SmolLM2-shaped checkpoint folder with F16 weights and runs one next-token importance batch (head-mask gradient)
 * with `recompute` on, off or auto (auto under the wasm32 limit), then prints as JSON whether it ran, the kernel
 * memory it grew to (its peak: a wasm memory never shrinks), the peak RSS, its time and the blocks it recomputed —
 * or the error that stopped it (a stored pass past 4 GiB cannot grow the memory).
 *
 * Usage: `deno run --allow-all bench/_smollm2_child.ts DIR on|off|auto BATCH SEQ`.
 *
 * @module
 */

import { localFiles } from "@bertology/core/checkpoint/deno";
import { checkRecompute, loadModel, WASM32_LIMIT_MB } from "@bertology/core/models";
import { peakRssMb } from "./_memory_child.ts";
import { spreadBatch } from "../tests/helpers/smollm2.ts";

if (import.meta.main) {
  const [dir, mode, batchArg, seqArg] = Deno.args;
  if (dir === undefined || batchArg === undefined || seqArg === undefined) {
    throw new Error("usage: _smollm2_child.ts DIR on|off|auto BATCH SEQ");
  }
  const { model } = await loadModel(localFiles(dir), {
    tokenizer: false,
    dtype: "f16",
    recompute: checkRecompute(mode, "mode"),
    memoryBudgetMB: WASM32_LIMIT_MB,
  });
  const batch = spreadBatch(Number(batchArg), Number(seqArg), model.config.vocabSize);
  const t = performance.now();
  let outcome: Record<string, unknown>;
  try {
    const r = model.run({ batch, labels: "lm", names: ["hook_head_mask_grad"] });
    outcome = { ran: true, loss: r.loss, recomputed_blocks: r.recomputedBlocks };
  } catch (e) {
    outcome = { ran: false, error: (e as Error).message };
  }
  console.log(JSON.stringify({
    ...outcome,
    ms: performance.now() - t,
    kernel_memory_mb: model.kernels.mem.memory.buffer.byteLength / 2 ** 20,
    peak_rss_mb: peakRssMb(),
  }));
}
