/**
 * BERT-base-shaped model benchmarks (random weights; 12 layers, 12 heads, hidden 768, intermediate 3072):
 * forward time at batch 1, seq 128 (target ≤ 800 ms; onnxruntime-web measured 792 ms on this machine when
 * the target was set), and examples per second of the importance pass (forward + backward to the head mask)
 * at batch 8, seq 128.
 *
 * @module
 */

import { computeHeadImportance } from "../core/bertology/importance.ts";
import { createWasmKernels } from "../core/kernels/wasm_kernels.ts";
import { bertHeadShapes, bertShapes } from "../core/models/bert.ts";
import { parseConfig } from "../core/models/config.ts";
import type { Batch } from "../core/models/inputs.ts";
import { TransformerModel } from "../core/models/model.ts";
import type { Tensor } from "../core/tensor.ts";

/** A BERT-base-shaped classifier with seeded random weights (std 0.02, LayerNorm 1/0). */
export function randomBertBase(): TransformerModel {
  const config = parseConfig({
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    num_labels: 2,
  }, "bert-base config");
  let seed = 12345;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.07; // ~N(0, 0.02)-sized
  const weights = new Map<string, Tensor>();
  for (const [name, shape] of [...bertShapes(config), ...bertHeadShapes(config)]) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith("LayerNorm.weight")) data.fill(1);
    else if (!name.endsWith("bias")) { for (let i = 0; i < data.length; i++) data[i] = rand(); }
    weights.set(name, { shape, data });
  }
  return new TransformerModel(config, weights, createWasmKernels());
}

function randomBatch(batchSize: number, seqLen: number): Batch {
  const ids = new Int32Array(batchSize * seqLen);
  for (let i = 0; i < ids.length; i++) ids[i] = 1000 + ((i * 7919) % 29000);
  return { batchSize, seqLen, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs both measurements and prints a table. */
export function benchBert(): Promise<Record<string, number>> {
  const model = randomBertBase();
  const one = randomBatch(1, 128);
  model.run({ batch: one }); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    model.run({ batch: one });
    times.push(performance.now() - t);
  }
  const forwardMs = median(times);
  const eight = randomBatch(8, 128);
  const labelled = [{ batch: eight, labels: new Int32Array(8).fill(1) }];
  computeHeadImportance(model, labelled); // warm-up
  const impTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    computeHeadImportance(model, labelled);
    impTimes.push(performance.now() - t);
  }
  const impMs = median(impTimes);
  const rows = {
    forward_ms_b1_s128: forwardMs,
    forward_target_ms: 800,
    onnxruntime_web_forward_ms_reference: 792,
    importance_ms_b8_s128: impMs,
    importance_examples_per_s: 8 / (impMs / 1000),
  };
  console.log(
    `BERT-base forward, batch 1, seq 128 (single thread, ${model.kernels.name}): ${forwardMs.toFixed(0)} ms ` +
      `(target ≤ 800 ms; onnxruntime-web measured 792 ms here) → ${(792 / forwardMs).toFixed(2)}× ORT's time`,
  );
  console.log(
    `Importance pass (forward + backward to the head mask), batch 8, seq 128: ${impMs.toFixed(0)} ms ` +
      `→ ${(8 / (impMs / 1000)).toFixed(2)} examples/s`,
  );
  return Promise.resolve(rows);
}
