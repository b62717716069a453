/**
 * BERT-base-shaped model benchmarks (random weights; 12 layers, 12 heads, hidden 768, intermediate 3072):
 * forward time at batch 1, seq 128 next to onnxruntime-web running the same encoder (same weights) in the same
 * run (target ≤ 800 ms), and examples per second of the importance pass (forward + backward to the head mask)
 * at batch 8, seq 128.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import { computeHeadImportance } from "@bertology/core/bertology";
import { createWasmKernels } from "@bertology/core/kernels";
import { type Batch, type ModelConfig, parseConfig, TransformerModel } from "@bertology/core/models";
import { parameterShapes } from "@bertology/core/training";
import type { Tensor } from "@bertology/core";
import { bertEncoderOnnx } from "./_onnx_bert.ts";

/** A BERT-base-shaped classifier with seeded random weights (std 0.02, LayerNorm 1/0). */
export function randomBertBase(): TransformerModel {
  const { config, weights } = randomBertBaseWeights();
  return new TransformerModel(config, weights, createWasmKernels());
}

/** The config and seeded random weights of {@linkcode randomBertBase}. */
export function randomBertBaseWeights(): { config: ModelConfig; weights: Map<string, Tensor> } {
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
  for (const [name, shape] of parameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith("LayerNorm.weight")) data.fill(1);
    else if (!name.endsWith("bias")) { for (let i = 0; i < data.length; i++) data[i] = rand(); }
    weights.set(name, { shape, data });
  }
  return { config, weights };
}

function randomBatch(batchSize: number, seqLen: number): Batch {
  const ids = new Int32Array(batchSize * seqLen);
  for (let i = 0; i < ids.length; i++) ids[i] = 1000 + ((i * 7919) % 29000);
  return { batchSize, seqLen, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs both measurements, onnxruntime-web's forward in the same run, and prints them. */
export async function benchBert(): Promise<Record<string, number>> {
  const { config, weights } = randomBertBaseWeights();
  const model = new TransformerModel(config, weights, createWasmKernels());
  const T = 128;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(bertEncoderOnnx(weights, config.layers, config.heads, T), {
    executionProviders: ["wasm"],
  });
  const xData = new Float32Array(T * config.hidden);
  for (let i = 0; i < xData.length; i++) xData[i] = Math.sin(i) * 0.5;
  const x = new ort.Tensor("float32", xData, [T, config.hidden]);
  const one = randomBatch(1, T);
  // warm up both, then interleave rounds so background load hits both alike
  model.run({ batch: one });
  await session.run({ x });
  const ours: number[] = [], theirs: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    model.run({ batch: one });
    ours.push(performance.now() - t);
    t = performance.now();
    await session.run({ x });
    theirs.push(performance.now() - t);
  }
  await session.release();
  const forwardMs = median(ours), ortMs = median(theirs);

  const eight = randomBatch(8, T);
  const labelled = [{ batch: eight, labels: new Int32Array(8).fill(1) }];
  computeHeadImportance(model, labelled); // warm-up
  const impTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    computeHeadImportance(model, labelled);
    impTimes.push(performance.now() - t);
  }
  const impMs = median(impTimes);
  console.log(
    `BERT-base forward, batch 1, seq ${T}, single thread, median of 5 interleaved rounds:\n` +
      `  ours (${model.kernels.name}, embeddings → classifier): ${forwardMs.toFixed(0)} ms\n` +
      `  onnxruntime-web 1.30 wasm (encoder only, same weights): ${ortMs.toFixed(0)} ms\n` +
      `  ratio ORT time / ours: ${(ortMs / forwardMs).toFixed(2)}× (target: ours ≤ 800 ms)`,
  );
  console.log(
    `Importance pass (forward + backward to the head mask), batch 8, seq ${T}: ${impMs.toFixed(0)} ms → ` +
      `${(8 / (impMs / 1000)).toFixed(2)} examples/s`,
  );
  return {
    forward_ms_b1_s128: forwardMs,
    onnxruntime_web_forward_ms: ortMs,
    importance_ms_b8_s128: impMs,
    importance_examples_per_s: 8 / (impMs / 1000),
  };
}
