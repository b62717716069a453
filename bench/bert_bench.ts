/**
 * BERT-base-shaped model benchmarks (random weights; 12 layers, 12 heads, hidden 768, intermediate 3072): the
 * same model, embeddings → classifier, through our WASM engine and through its ONNX export
 * (`@bertology/core/export`) on onnxruntime-web wasm at 1 and 2 threads and onnxruntime-node (native CPU) at
 * 1 and 2 threads, interleaved in one run, ours at 1 and 2 threads too (the kernel worker pool): forward time
 * at batch 1, seq 128 (target ≤ 800 ms for ours) and the importance pass (forward + backward to the head mask)
 * at batch 8, seq 128. Printed as ratios, and returned ({@linkcode BertBenchFigures}).
 *
 * @module
 */

import { computeHeadImportance } from "@bertology/core/bertology";
import { exportOnnx } from "@bertology/core/export";
import { createWasmKernels } from "@bertology/core/kernels";
import { type Batch, type ModelConfig, parseConfig, TransformerModel } from "@bertology/core/models";
import { parameterShapes } from "@bertology/core/training";
import type { Tensor } from "@bertology/core";

/**
 * A BERT-base-shaped classifier with seeded random weights (std 0.02, LayerNorm 1/0).
 *
 * @param threads Kernel threads (default 1); with more, close the pool when done (`model.kernels.close()`).
 */
export function randomBertBase(threads = 1): TransformerModel {
  const { config, weights } = randomBertBaseWeights();
  return new TransformerModel(config, weights, createWasmKernels({ threads }));
}

/**
 * What {@linkcode benchBert} measured, by runtime: `ours_1t`, `ours_2t`, `ort_web_1t`, `ort_web_2t`,
 * `ort_node_1t`, `ort_node_2t` (absent where a runtime did not run: onnxruntime-node missing, onnxruntime-web's
 * gradient graph is timed at 1 thread only).
 */
export interface BertBenchFigures {
  /** Median forward milliseconds, batch 1, seq 128. */
  forward_ms: Record<string, number>;
  /** Importance pass (forward + backward to the head mask) examples per second, batch 8, seq 128. */
  importance_examples_per_s: Record<string, number>;
  /** How many threads `ours_2t` really got (1 where workers cannot run). */
  ours_2t_threads: number;
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

/** A batch of `batchSize` × `seqLen` token ids spread over the vocabulary, every position real. */
export function randomBatch(batchSize: number, seqLen: number): Batch {
  const ids = new Int32Array(batchSize * seqLen);
  for (let i = 0; i < ids.length; i++) ids[i] = 1000 + ((i * 7919) % 29000);
  return { batchSize, seqLen, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One input of an exported graph, as plain arrays (for a worker or an ONNX Runtime tensor). */
export type Feed = { type: "int64" | "float32"; data: BigInt64Array | Float32Array; dims: number[] };

/** The exported graph's inputs for a batch (labels when `withLabels`). */
export function feedsOf(batch: Batch, config: ModelConfig, withLabels: boolean): Record<string, Feed> {
  const dims = [batch.batchSize, batch.seqLen];
  const ints = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a), (v) => BigInt(v));
  const feeds: Record<string, Feed> = {
    input_ids: { type: "int64", data: ints(batch.inputIds), dims },
    attention_mask: { type: "int64", data: ints(batch.attentionMask!), dims },
    token_type_ids: { type: "int64", data: new BigInt64Array(dims[0]! * dims[1]!), dims },
    head_mask: {
      type: "float32",
      data: new Float32Array(config.layers * config.heads).fill(1),
      dims: [config.layers, config.heads],
    },
  };
  if (withLabels) {
    feeds.labels = { type: "int64", data: new BigInt64Array(batch.batchSize).fill(1n), dims: [batch.batchSize] };
  }
  return feeds;
}

/** An onnxruntime-web wasm runtime at a fixed thread count, in its own worker. */
class OrtWebWorker {
  readonly #worker: Worker;
  #pending: ((m: { ok?: boolean; ms?: number; error?: string }) => void) | undefined;

  constructor() {
    this.#worker = new Worker(new URL("./_ort_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e) => this.#pending?.(e.data);
    // a worker that fails to start or throws must fail the bench, not leave it waiting
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#pending?.({ error: `onnxruntime-web worker: ${e.message}` });
    };
  }

  #call(message: unknown, transfer: Transferable[] = []): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending = (m) => (m.error !== undefined ? reject(new Error(m.error)) : resolve(m.ms ?? 0));
      this.#worker.postMessage(message, transfer);
    });
  }

  init(threads: number): Promise<number> {
    return this.#call({ init: { threads } });
  }
  load(key: string, bytes: Uint8Array): Promise<number> {
    return this.#call({ load: { key, bytes } });
  }
  run(key: string, feeds: Record<string, Feed>): Promise<number> {
    return this.#call({ run: { key, feeds } });
  }
  close(): void {
    this.#worker.terminate();
  }
}

/** onnxruntime-node sessions at a thread count, timed in this thread; `undefined` when it cannot load. */
async function ortNode(): Promise<typeof import("npm:onnxruntime-node@1.30.0") | undefined> {
  try {
    return await import("npm:onnxruntime-node@1.30.0");
  } catch (e) {
    console.log(`  onnxruntime-node not available (${(e as Error).message}): its rows are skipped`);
    return undefined;
  }
}

/** Runs the measurements, every runtime in the same run, interleaved, prints them and returns them. */
export async function benchBert(): Promise<BertBenchFigures> {
  const { config, weights } = randomBertBaseWeights();
  const model = new TransformerModel(config, weights, createWasmKernels({ threads: 1 }));
  const model2 = new TransformerModel(config, weights, createWasmKernels({ threads: 2 }));
  try {
    return await measure(config, weights, model, model2);
  } finally {
    model2.kernels.close(); // the pool's workers would keep the process alive
  }
}

async function measure(
  config: ModelConfig,
  weights: Map<string, Tensor>,
  model: TransformerModel,
  model2: TransformerModel,
): Promise<BertBenchFigures> {
  const T = 128;
  const progress = (what: string) => console.error(`  … ${what}`);
  progress("exporting the model to ONNX (forward, and forward + head-mask gradient)");
  const forwardOnnx = exportOnnx({ config, weights }, { outputs: ["logits"] }).bytes;
  const gradOnnx = exportOnnx({ config, weights }, { outputs: ["logits"], grad: "head_mask" }).bytes;

  // runtimes: name → one timed forward (and importance) call
  const one = randomBatch(1, T), eight = randomBatch(8, T);
  const fwdFeeds = feedsOf(one, config, false), impFeeds = feedsOf(eight, config, true);
  const workers: OrtWebWorker[] = [];
  // [printed name, one timed call, key in the returned figures]
  type Timed = [string, () => Promise<number>, string];
  const forward: Timed[] = [];
  const importance: Timed[] = [];
  for (const threads of [1, 2]) {
    progress(`loading onnxruntime-web wasm at ${threads} thread(s) in a worker`);
    const w = new OrtWebWorker();
    workers.push(w);
    await w.init(threads);
    await w.load("forward", forwardOnnx);
    forward.push([
      `onnxruntime-web 1.30 wasm, ${threads} thread${threads > 1 ? "s" : ""}`,
      () => w.run("forward", fwdFeeds),
      `ort_web_${threads}t`,
    ]);
    if (threads === 1) {
      await w.load("grad", gradOnnx);
      importance.push(["onnxruntime-web 1.30 wasm, 1 thread", () => w.run("grad", impFeeds), "ort_web_1t"]);
    }
  }
  const node = await ortNode();
  const nodeSessions: Array<{ release(): Promise<void> }> = [];
  if (node) {
    node.env.logLevel = "error";
    const tensors = (feeds: Record<string, Feed>) =>
      Object.fromEntries(
        Object.entries(feeds).map(([k, f]) => [
          k,
          f.type === "int64"
            ? new node.Tensor("int64", f.data as BigInt64Array, f.dims)
            : new node.Tensor("float32", f.data as Float32Array, f.dims),
        ]),
      );
    const fwdT = tensors(fwdFeeds), impT = tensors(impFeeds);
    for (const threads of [1, 2]) {
      progress(`loading onnxruntime-node at ${threads} thread(s)`);
      // no spinning: an idle onnxruntime thread pool spins for a while after each run, which on a 2-core VM takes
      // the core the next runtime in the interleaved rounds (ours included) is timed on
      const opts = {
        executionProviders: ["cpu"],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
      };
      const s = await node.InferenceSession.create(forwardOnnx, opts);
      nodeSessions.push(s);
      forward.push([`onnxruntime-node 1.30 cpu, ${threads} thread${threads > 1 ? "s" : ""}`, async () => {
        const t = performance.now();
        await s.run(fwdT);
        return performance.now() - t;
      }, `ort_node_${threads}t`]);
      const g = await node.InferenceSession.create(gradOnnx, opts);
      nodeSessions.push(g);
      importance.push([`onnxruntime-node 1.30 cpu, ${threads} thread${threads > 1 ? "s" : ""}`, async () => {
        const t = performance.now();
        await g.run(impT);
        return performance.now() - t;
      }, `ort_node_${threads}t`]);
    }
  }

  // forward: warm up everything, then interleave rounds so background load hits all alike
  const oursForward = (m: TransformerModel) => () => {
    const t = performance.now();
    m.run({ batch: one });
    return Promise.resolve(performance.now() - t);
  };
  const ours: Timed[] = [
    [`ours (${model.kernels.name}), 1 thread`, oursForward(model), "ours_1t"],
    [`ours (${model2.kernels.name}), ${model2.kernels.threads} threads`, oursForward(model2), "ours_2t"],
  ];
  const all: Timed[] = [...ours, ...forward];
  const times = all.map(() => [] as number[]);
  progress("timing the forward passes");
  for (const [, f] of all) await f();
  for (let i = 0; i < 5; i++) for (let j = 0; j < all.length; j++) times[j]!.push(await all[j]![1]());
  const fwd = times.map(median);
  const forwardMs = fwd[0]!, ortMs = fwd[2]!;
  console.log(
    `BERT-base forward (embeddings → classifier, the same weights), batch 1, seq ${T}, median of 5 interleaved rounds:\n` +
      all.map(([name], j) =>
        `  ${name}: ${fwd[j]!.toFixed(0)} ms${
          j === 0 ? " (target: ≤ 800 ms)" : `  → time / ours ${(fwd[j]! / forwardMs).toFixed(2)}×`
        }`
      ).join("\n") +
      `\n  ratio ORT time / ours: ${
        (ortMs / forwardMs).toFixed(2)
      }× (onnxruntime-web wasm, 1 thread, vs ours, 1 thread)` +
      `\n  ours 2 threads vs 1: ${(forwardMs / fwd[1]!).toFixed(2)}× faster; ` +
      `onnxruntime-web 2 threads / ours 2 threads: ${(fwd[3]! / fwd[1]!).toFixed(2)}×`,
  );

  const labelled = [{ batch: eight, labels: new Int32Array(8).fill(1) }];
  const oursImportance = (m: TransformerModel) => () => {
    const t = performance.now();
    computeHeadImportance(m, labelled);
    return Promise.resolve(performance.now() - t);
  };
  const allImp: Timed[] = [
    ["ours, 1 thread", oursImportance(model), "ours_1t"],
    [`ours, ${model2.kernels.threads} threads`, oursImportance(model2), "ours_2t"],
    ...importance,
  ];
  const impTimes = allImp.map(() => [] as number[]);
  progress("timing the importance passes");
  for (const [, f] of allImp) await f();
  for (let i = 0; i < 3; i++) for (let j = 0; j < allImp.length; j++) impTimes[j]!.push(await allImp[j]![1]());
  const imp = impTimes.map(median);
  for (const w of workers) w.close();
  for (const s of nodeSessions) await s.release();

  const impMs = imp[0]!;
  console.log(
    `Importance pass (forward + backward to the head mask), batch 8, seq ${T}: ${impMs.toFixed(0)} ms → ` +
      `${(8 / (impMs / 1000)).toFixed(2)} examples/s (ours, 1 thread)\n` +
      allImp.slice(1).map(([name], j) =>
        `  ${name}${j === 0 ? "" : " (exported gradient graph)"}: ${imp[j + 1]!.toFixed(0)} ms → ` +
        `${(8 / (imp[j + 1]! / 1000)).toFixed(2)} examples/s, time / ours 1 thread ${(imp[j + 1]! / impMs).toFixed(2)}×`
      ).join("\n"),
  );
  const figures: BertBenchFigures = {
    forward_ms: {},
    importance_examples_per_s: {},
    ours_2t_threads: model2.kernels.threads,
  };
  all.forEach(([, , key], j) => (figures.forward_ms[key] = fwd[j]!));
  allImp.forEach(([, , key], j) => (figures.importance_examples_per_s[key] = 8 / (imp[j]! / 1000)));
  return figures;
}
