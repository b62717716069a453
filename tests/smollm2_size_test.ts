/**
 * Size (decoder issue, item 6; recomputation issue's claim): a Llama checkpoint of SmolLM2-135M's shape — 30
 * layers, hidden 576, 9 query heads over 3 kv heads, vocabulary 49,152, random F16 weights — loads with
 * `dtype: "f16"`, runs a forward of 256 tokens and an importance batch of 1 × 256 (head-mask gradient under the
 * next-token loss) inside the 4 GiB of wasm32 memory; and the recomputation planner, run on the first block only,
 * finds that an importance batch of 8 × 256 does not fit with every block's activations kept (so `auto`
 * recomputes) while 6 × 256 does. The full 8 × 256 pass, stored (it runs out of memory) and recomputed (it fits),
 * is `deno task bench --only smollm2`: about two minutes, too slow for a test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { computeHeadImportance } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel, WASM32_LIMIT_MB } from "@bertology/core/models";
import { planImportance, spreadBatch, writeSmolLM2 } from "./helpers/smollm2.ts";

const WASM32_LIMIT_BYTES = WASM32_LIMIT_MB * 2 ** 20;
const T = 256;

Deno.test("SmolLM2-135M-shaped Llama: f16 load, a 256-token forward and an importance batch fit wasm32; 8 × 256 needs recomputation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bertology-smollm2-" });
  try {
    const { parameters } = await writeSmolLM2(dir, 20);
    assert.equal(parameters, 134_515_008); // SmolLM2-135M's count (tied embeddings)
    const { model } = await loadModel(localFiles(dir), { tokenizer: false, dtype: "f16" });
    const c = model.config;
    assert.deepEqual([c.layers, c.hidden, c.heads, c.kvHeads, c.headDim, c.vocabSize], [30, 576, 9, 3, 64, 49152]);
    const memory = () => model.kernels.mem.memory.buffer.byteLength;
    // the weights stay F16 in kernel memory: less than the F32 copy alone would take
    assert.ok(memory() < parameters * 4, `kernel memory after load ${memory()} B holds F32 weights`);

    const forward = model.run({ batch: spreadBatch(1, T, c.vocabSize), names: ["logits"] });
    assert.deepEqual(forward.logits!.shape, [1, T, c.vocabSize]);
    assert.ok(forward.logits!.data.every(Number.isFinite), "forward: non-finite logits");
    assert.ok(memory() < WASM32_LIMIT_BYTES, `forward: kernel memory ${memory()} B`);

    const imp = computeHeadImportance(model, [{ batch: spreadBatch(1, T, c.vocabSize), labels: "lm" }]);
    assert.ok(Number.isFinite(imp.loss) && imp.loss > 0, `importance: loss ${imp.loss}`);
    assert.equal(imp.totalTokens, T);
    for (const t of [imp.importanceRaw, imp.entropy]) assert.ok(t.data.every(Number.isFinite));
    assert.ok(imp.importanceRaw.data.some((v) => v > 0), "importance: every head's gradient is zero");
    assert.ok(memory() < WASM32_LIMIT_BYTES, `importance: kernel memory ${memory()} B`);

    // the planner under the wasm32 limit: 6 rows of 256 keep every block's activations, 8 rows cannot
    const fits = planImportance(model, spreadBatch(6, T, c.vocabSize), WASM32_LIMIT_MB);
    assert.ok(fits.storedEstimateBytes < WASM32_LIMIT_BYTES, `6 × ${T}: stored estimate ${fits.storedEstimateBytes} B`);
    assert.equal(fits.recomputes, false);
    const over = planImportance(model, spreadBatch(8, T, c.vocabSize), WASM32_LIMIT_MB);
    assert.ok(over.storedEstimateBytes > WASM32_LIMIT_BYTES, `8 × ${T}: stored estimate ${over.storedEstimateBytes} B`);
    assert.equal(over.recomputes, true);
    // with recomputation the pass keeps each block's [B, T, C] input, one block's activations and gradients, and
    // the head: the planner's own figures put that well under the limit
    const blockOutput = 8 * T * c.hidden * 4;
    const recomputed = over.baseBytes + c.layers * blockOutput + 2 * over.blockBytes + over.headBytes;
    assert.ok(recomputed < WASM32_LIMIT_BYTES / 2, `8 × ${T}: recomputed estimate ${recomputed} B`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
