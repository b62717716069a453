/**
 * Edge attribution patching (issue 21): EAP over every edge of a 12-layer GPT-2-small-shaped model (d_model 768,
 * 12 heads, vocabulary 50257; HF's initialisation, seeded random weights made here) for one prompt pair of 16
 * tokens, at 2 kernel threads: one clean and one corrupted pass recording sender outputs and one clean forward
 * + backward with every receiver reading its own residual copy (32 k edges). Median of 3. Target: < 10 s.
 *
 * Run alone: `deno run --allow-all bench/circuits_bench.ts`.
 *
 * @module
 */

import { edgeAttribution } from "@bertology/core/circuits";
import { createWasmKernels } from "@bertology/core/kernels";
import { TransformerModel } from "@bertology/core/models";
import { initWeights, newConfig } from "@bertology/core/training";

/** What {@linkcode benchCircuits} measures. */
export interface CircuitsBench {
  /** Median milliseconds of EAP over every edge, one pair, 2 threads. */
  eap_ms: { ours_2t: number };
  /** How many edges were scored. */
  eap_edges: number;
  /** Prompt tokens. */
  eap_tokens: number;
}

const T = 16, TARGET_MS = 10_000;

/** Builds the model, times EAP, prints the row and returns the figures. */
export function benchCircuits(): CircuitsBench {
  const { config } = newConfig({
    family: "gpt2",
    layers: 12,
    heads: 12,
    hidden: 768,
    vocabSize: 50257,
    maxPositions: 1024,
  });
  const model = new TransformerModel(config, initWeights(config, 2021), createWasmKernels({ threads: 2 }));
  try {
    const ids = Array.from({ length: T }, (_, t) => (t * 7919 + 13) % 50257);
    const clean = { batchSize: 1, seqLen: T, inputIds: Int32Array.from(ids) };
    const corrupted = { batchSize: 1, seqLen: T, inputIds: Int32Array.from(ids.map((id, t) => (t === 5 ? 4242 : id))) };
    const metric = { target: 1000, distractor: 2000 };
    let edges = 0;
    const times: number[] = [];
    edgeAttribution(model, clean, corrupted, metric); // warm-up
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      edges = edgeAttribution(model, clean, corrupted, metric).graph.edgeCount;
      times.push(performance.now() - t0);
    }
    const ms = times.sort((a, b) => a - b)[1]!;
    console.log(
      `EAP, every edge (${edges}) of a 12-layer GPT-2-small-shaped model, ${T} tokens, 2 threads: ${
        (ms / 1000).toFixed(2)
      } s (target < ${TARGET_MS / 1000} s) ${ms < TARGET_MS ? "ok" : "OVER"}`,
    );
    return { eap_ms: { ours_2t: Math.round(ms) }, eap_edges: edges, eap_tokens: T };
  } finally {
    model.kernels.close(); // the pool's workers would keep the process alive
  }
}

if (import.meta.main) benchCircuits();
