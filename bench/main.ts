/**
 * Benchmarks: `deno task bench [--only NAME,…] [--json FILE] [--study-subset N] [--pytorch PYTHON] [--backend LIST]`. Each section is an async
 * function that prints its own table and returns its figures as an object; `--json FILE` writes every
 * section's figures merged into one object (a section that is skipped or returns nothing leaves its keys
 * out). The keys, BERT-base at seq 128 unless said:
 *
 * - `forward_ms` `{ours_1t, ours_2t, ort_web_1t, ort_web_2t, ort_node_1t, ort_node_2t}`,
 *   `importance_examples_per_s` `{ours_1t, ours_2t}` — section `bert-base`;
 * - `matmul_peak_fraction` (ours, relaxed SIMD, nn.Linear layout, over the three BERT-base projection shapes,
 *   ÷ the peak the build measures itself), `matmul_peak_gflops` `{relaxed, fixed}`, `matmul_gflops`
 *   `{relaxed, fixed}` — section `matmul`;
 * - `peak_rss_mb` `{f32, f16}` — section `memory` (left out while no such section is listed below);
 * - `recompute_peak_rss_mb` `{off, on}`, `recompute_importance_ms` `{off, on}`, `recompute_time_ratio`,
 *   `recompute_blocks`, `recompute_batch` — section `recompute` (an importance batch of 8 × 128 with every
 *   block's activations kept, and recomputed; `recompute_bench.ts`);
 * - `smollm2_forward_ms` / `smollm2_importance_ms` `{ours_1t, ort_web_1t}`, `smollm2_ort_web_ratio` `{forward,
 *   importance}`, `smollm2_recompute_batch`, `smollm2_recompute_runs` `{off, auto}`, `smollm2_stored_estimate_mb`
 *   — section `smollm2` (a SmolLM2-135M-shaped Llama, F16 weights, 1 × 256; the 8 × 256 importance batch that
 *   fits the wasm32 memory only with recomputation; `smollm2_bench.ts`);
 * - `study_s` `{ours, padded_128}` (importance + entropy over SST-2 dev: length-bucketed vs HF's padding to
 *   128) and `study_workload` `{examples, tokens, ours_positions, padded_positions}` — section `study`;
 * - `pytorch` `{forward_ms: {1t, 2t}, importance_examples_per_s: {1t, 2t}, torch, transformers}` — section
 *   `pytorch`, run only with `--pytorch PYTHON` (a Python with torch and transformers; `pytorch_bench.ts`);
 * - `backend_runs` `{ours_1t, <backend>: {ran, gpu, forward_ms, importance_examples_per_s, max_abs_diff,
 *   unavailable}}` — section `backends`, run only with `--backend ort-webgpu,ort-node` (the ONNX Runtime
 *   backends named, beside our engine, saying which adapter or execution provider ran; `backend_bench.ts`);
 * - `eap_ms` `{ours_2t}`, `eap_edges`, `eap_tokens` — section `circuits` (EAP over every edge of a 12-layer
 *   GPT-2-small-shaped model for one prompt pair of 16 tokens; `circuits_bench.ts`).
 *
 * @module
 */
import { benchBert } from "./bert_bench.ts";
import { benchMatmul } from "./matmul_bench.ts";
import { benchStudy } from "./study_bench.ts";
import { type Figures, mergeFigures, parseBenchArgs } from "./figures.ts";
import { benchMemory } from "./memory_bench.ts";
import { benchRecompute } from "./recompute_bench.ts";
import { benchBackends, parseBackendList } from "./backend_bench.ts";
import { benchPytorch } from "./pytorch_bench.ts";
import { benchCircuits } from "./circuits_bench.ts";
import { benchSmolLM2 } from "./smollm2_bench.ts";

const args = parseBenchArgs(Deno.args);

// bert-base first: its onnxruntime-web runs in workers, and a worker's onnxruntime-web never finishes loading once
// this thread has started its own (measured with Deno 2.9.6 and onnxruntime-web 1.30); the other order works
const SECTIONS: [string, () => Promise<unknown>][] = [
  ["bert-base", benchBert],
  ["matmul", benchMatmul],
  ["study", () => benchStudy({ subset: args.studySubset })],
  ["memory", () => benchMemory()],
  ["recompute", benchRecompute],
  ["circuits", () => Promise.resolve(benchCircuits())],
  ["smollm2", benchSmolLM2],
];

const figures: Figures = {};
// with --pytorch PYTHON: the PyTorch CPU reference, printed against the bert-base section's figures
if (args.pytorch !== undefined) {
  SECTIONS.push(["pytorch", () => benchPytorch(args.pytorch!, figures)]);
  args.only?.add("pytorch"); // asked for by its flag, whatever --only lists
}
// with --backend LIST: those ONNX Runtime backends beside ours, and what adapter or provider ran
if (args.backend !== undefined) {
  const backends = parseBackendList(args.backend);
  SECTIONS.push(["backends", () => benchBackends(backends)]);
  args.only?.add("backends");
}
const known = new Set(SECTIONS.map(([name]) => name));
for (const name of args.only ?? []) {
  if (!known.has(name)) throw new Error(`--only: no section "${name}" (sections: ${[...known].join(", ")})`);
}

for (const [name, run] of SECTIONS) {
  if (args.only && !args.only.has(name)) continue;
  console.log(`\n## ${name}`);
  mergeFigures(figures, await run());
}
if (args.json !== undefined) {
  Deno.writeTextFileSync(args.json, JSON.stringify(figures, null, 2) + "\n");
  console.log(`\nwrote ${args.json}`);
}
