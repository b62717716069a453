/**
 * One measurement of `recompute_bench.ts`, in its own process so that its peak RSS is its own: loads a checkpoint
 * folder (F32) with `recompute` on or off, runs one head-importance batch (the head-mask gradient and the entropy
 * meter, as `computeHeadImportance` does) and prints the peak RSS, the pass's time and how many blocks it
 * recomputed, as JSON.
 *
 * Usage: `deno run --allow-all bench/_recompute_child.ts DIR on|off BATCH SEQ` (all access: Deno reads
 * /proc/self/status only with it).
 *
 * @module
 */

import { attentionEntropyMeter } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { type Batch, checkRecompute, loadModel } from "@bertology/core/models";
import { peakRssMb } from "./_memory_child.ts";

/**
 * A batch of `batchSize` × `seqLen` token ids spread over the vocabulary, every position real.
 *
 * @param batchSize rows
 * @param seqLen positions per row
 * @param vocab the model's vocabulary size
 */
export function importanceBatch(batchSize: number, seqLen: number, vocab: number): Batch {
  const ids = Int32Array.from({ length: batchSize * seqLen }, (_, i) => 1000 + ((i * 7919) % (vocab - 1000)));
  return { batchSize, seqLen, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
}

if (import.meta.main) {
  const [dir, mode, batchArg, seqArg] = Deno.args;
  if (dir === undefined || (mode !== "on" && mode !== "off")) {
    throw new Error("usage: _recompute_child.ts DIR on|off BATCH SEQ");
  }
  const B = Number(batchArg ?? 8), T = Number(seqArg ?? 128);
  const { model } = await loadModel(localFiles(dir), { tokenizer: false, recompute: checkRecompute(mode, "mode") });
  const afterLoad = peakRssMb();
  const meter = attentionEntropyMeter(model);
  const t = performance.now();
  const r = model.run({
    batch: importanceBatch(B, T, model.config.vocabSize),
    labels: new Int32Array(B),
    names: ["hook_head_mask_grad"],
    observe: meter.observe,
  });
  const ms = performance.now() - t;
  console.log(JSON.stringify({
    after_load_mb: afterLoad,
    peak_rss_mb: peakRssMb(),
    ms,
    recomputed_blocks: r.recomputedBlocks,
    kernel_memory_mb: model.kernels.mem.memory.buffer.byteLength / 2 ** 20,
  }));
}
