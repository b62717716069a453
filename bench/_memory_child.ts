/**
 * One measurement of `memory_bench.ts`, run in its own process so that its peak RSS is its own: loads a
 * checkpoint folder with `--dtype`, runs one analysis (a forward keeping every hidden state and attention at
 * batch 1 × 128, then one head-importance batch), and prints the process's peak RSS after each stage as JSON.
 *
 * Usage: `deno run --allow-all bench/_memory_child.ts DIR f32|f16 [IMPORTANCE_BATCH]` (all access: Deno reads
 * /proc/self/status only with it).
 *
 * @module
 */

import { computeHeadImportance } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { type Batch, loadModel, WEIGHT_DTYPES, type WeightDtype } from "@bertology/core/models";

/** The process's peak resident set (VmHWM) in MB, from /proc (Linux); `Deno.memoryUsage().rss` elsewhere. */
export function peakRssMb(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    // not Linux (or no access): the current RSS is the best this process can say
  }
  return Deno.memoryUsage().rss / 2 ** 20;
}

function batchOf(batchSize: number, seqLen: number, vocab: number): Batch {
  const ids = Int32Array.from({ length: batchSize * seqLen }, (_, i) => 1000 + ((i * 7919) % (vocab - 1000)));
  return { batchSize, seqLen, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
}

if (import.meta.main) {
  const [dir, dtype, importanceBatch] = Deno.args;
  if (dir === undefined || !(WEIGHT_DTYPES as readonly string[]).includes(dtype ?? "")) {
    throw new Error("usage: _memory_child.ts DIR f32|f16 [IMPORTANCE_BATCH]");
  }
  const B = Number(importanceBatch ?? 1);
  const { model } = await loadModel(localFiles(dir), { tokenizer: false, dtype: dtype as WeightDtype });
  const afterLoad = peakRssMb();
  const L = model.config.layers;
  const names = [
    ...Array.from({ length: L + 1 }, (_, i) => `hidden_states.${i}`),
    ...Array.from({ length: L }, (_, l) => `attentions.${l}`),
  ];
  model.run({ batch: batchOf(1, 128, model.config.vocabSize), names });
  const afterForward = peakRssMb();
  computeHeadImportance(model, [{ batch: batchOf(B, 128, model.config.vocabSize), labels: new Int32Array(B) }]);
  const afterImportance = peakRssMb();
  console.log(JSON.stringify({
    stored_weights_mb: model.params.storedBytes() / 2 ** 20,
    after_load_mb: afterLoad,
    after_forward_mb: afterForward,
    peak_rss_mb: afterImportance,
  }));
}
