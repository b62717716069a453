/**
 * SmolLM2-135M-shaped Llama (decoder issue, item 6; recomputation issue's wasm32 claim): random F16 weights
 * (`tests/helpers/smollm2.ts`), loaded with `dtype: "f16"`.
 *
 * - Forward (1 × 256, logits) and an importance batch (1 × 256, head-mask gradient under the next-token loss):
 *   ours at 1 thread vs onnxruntime-web 1.30 wasm at 1 thread on our export of the same model (`exportOnnx`,
 *   F16 initializers cast to F32 in the graph), interleaved in one run, median of 3; printed as ratios.
 * - The importance batch that needs recomputation: 8 × 256, in child processes (`_smollm2_child.ts`), with every
 *   block's activations kept (`recompute: "off"`) and with `auto` under the wasm32 limit; each prints whether it
 *   ran, the kernel memory it grew to and its time, beside the planner's estimate of the stored pass.
 *
 * MB here are MiB (2^20 bytes). Run alone: `deno run --allow-all bench/smollm2_bench.ts`.
 *
 * @module
 */

import { computeHeadImportance } from "@bertology/core/bertology";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { exportOnnx } from "@bertology/core/export";
import { type Batch, loadModel, type ModelConfig, WASM32_LIMIT_MB } from "@bertology/core/models";
import type { Feed } from "./bert_bench.ts";
import { planImportance, spreadBatch, writeSmolLM2 } from "../tests/helpers/smollm2.ts";

/** What {@linkcode benchSmolLM2} measures. */
export interface SmolLM2Bench {
  /** Median forward milliseconds, 1 × 256: `ours_1t`, `ort_web_1t` (absent when it could not run). */
  smollm2_forward_ms: Record<string, number>;
  /** Median importance-batch milliseconds, 1 × 256: `ours_1t`, `ort_web_1t` (absent when it could not run). */
  smollm2_importance_ms: Record<string, number>;
  /** onnxruntime-web's time ÷ ours: `forward`, `importance`. */
  smollm2_ort_web_ratio: Record<string, number>;
  /** Why onnxruntime-web did not run, when it did not. */
  smollm2_ort_web_unavailable?: string;
  /** The batch that needs recomputation to fit wasm32: rows × positions. */
  smollm2_recompute_batch: [number, number];
  /** That batch: kernel memory grown to (MB), ran or not, blocks recomputed, ms — stored (`off`) and `auto`. */
  smollm2_recompute_runs: Record<string, { ran: boolean; kernel_memory_mb: number; ms: number; blocks?: number }>;
  /** The planner's estimate of that batch's stored pass, MB. */
  smollm2_stored_estimate_mb: number;
}

const T = 256, BIG_BATCH = 8;
const SEED = 2025;

/** onnxruntime-web wasm at 1 thread in its own worker (`_ort_worker.ts`): load a graph, time a run. */
class OrtWebWorker {
  readonly #worker = new Worker(new URL("./_ort_worker.ts", import.meta.url), { type: "module" });
  #pending: ((m: { ok?: boolean; ms?: number; error?: string }) => void) | undefined;

  constructor() {
    this.#worker.onmessage = (e) => this.#pending?.(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#pending?.({ error: `onnxruntime-web worker: ${e.message}` });
    };
  }

  call(message: unknown, transfer: Transferable[] = []): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending = (m) => (m.error !== undefined ? reject(new Error(m.error)) : resolve(m.ms ?? 0));
      this.#worker.postMessage(message, transfer);
    });
  }

  close(): void {
    this.#worker.terminate();
  }
}

/** The exported graph's inputs: ids, mask, an all-ones head mask (next-token loss: no labels input). */
function feedsOf(batch: Batch, config: ModelConfig): Record<string, Feed> {
  const dims = [batch.batchSize, batch.seqLen];
  const ints = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a), (v) => BigInt(v));
  return {
    input_ids: { type: "int64", data: ints(batch.inputIds), dims },
    attention_mask: { type: "int64", data: ints(batch.attentionMask!), dims },
    head_mask: {
      type: "float32",
      data: new Float32Array(config.layers * config.heads).fill(1),
      dims: [config.layers, config.heads],
    },
  };
}

/** Runs `_smollm2_child.ts` on the checkpoint folder and returns what it printed. */
async function child(dir: string, mode: "off" | "auto", rows: number): Promise<Record<string, unknown>> {
  const url = new URL("./_smollm2_child.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", url.pathname, dir, mode, String(rows), String(T)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`smollm2 child (${mode}) exited ${code}: ${new TextDecoder().decode(stderr)}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Writes the checkpoint, times ours and onnxruntime-web on it, runs the big importance batch both ways in child
 * processes, prints the rows and returns the figures.
 *
 * @returns the figures ({@linkcode SmolLM2Bench})
 */
export async function benchSmolLM2(): Promise<SmolLM2Bench> {
  const progress = (what: string) => console.error(`  … ${what}`);
  const dir = await Deno.makeTempDir({ prefix: "bertology-smollm2-bench-" });
  try {
    progress("writing the SmolLM2-135M-shaped checkpoint (F16, random weights)");
    const { parameters, bytes } = await writeSmolLM2(dir, SEED);
    const { model } = await loadModel(localFiles(dir), { tokenizer: false, dtype: "f16", threads: 1 });
    const c = model.config, afterLoad = model.kernels.mem.mark();
    const one = spreadBatch(1, T, c.vocabSize);

    // onnxruntime-web on our export of the same model, in a worker (it is started before anything else runs)
    let ort: OrtWebWorker | undefined, unavailable: string | undefined;
    try {
      progress("exporting to ONNX (F16 initializers) and loading it in onnxruntime-web (1 thread, worker)");
      ort = new OrtWebWorker();
      await ort.call({ init: { threads: 1 } });
      const forwardOnnx = exportOnnx(model, { dtype: "f16", outputs: ["logits"] }).bytes;
      await ort.call({ load: { key: "forward", bytes: forwardOnnx } }, [forwardOnnx.buffer as ArrayBuffer]);
      const gradOnnx = exportOnnx(model, { dtype: "f16", outputs: [], grad: "head_mask" }).bytes;
      await ort.call({ load: { key: "grad", bytes: gradOnnx } }, [gradOnnx.buffer as ArrayBuffer]);
    } catch (e) {
      unavailable = (e as Error).message;
      ort?.close();
      ort = undefined;
      console.log(`  onnxruntime-web could not run the model: ${unavailable}`);
    }
    const feeds = feedsOf(one, c);
    type Timed = [string, () => Promise<number>];
    const timed = (f: () => void) => () => {
      const t = performance.now();
      f();
      return Promise.resolve(performance.now() - t);
    };
    const forward: Timed[] = [["ours_1t", timed(() => model.run({ batch: one, names: ["logits"] }))]];
    const importance: Timed[] = [
      ["ours_1t", timed(() => computeHeadImportance(model, [{ batch: one, labels: "lm" }], { computeEntropy: false }))],
    ];
    if (ort) {
      forward.push(["ort_web_1t", () => ort!.call({ run: { key: "forward", feeds } })]);
      importance.push(["ort_web_1t", () => ort!.call({ run: { key: "grad", feeds } })]);
    }
    const rounds = async (runs: Timed[], what: string) => {
      progress(`timing ${what}: a warm-up and 3 interleaved rounds`);
      const times = runs.map(() => [] as number[]);
      for (const [, f] of runs) await f();
      for (let i = 0; i < 3; i++) for (let j = 0; j < runs.length; j++) times[j]!.push(await runs[j]![1]());
      return Object.fromEntries(runs.map(([key], j) => [key, Math.round(median(times[j]!))]));
    };
    const forwardMs = await rounds(forward, "the forward (1 × 256)");
    const importanceMs = await rounds(importance, "the importance batch (1 × 256)");
    ort?.close();
    const ratio: Record<string, number> = {};
    if (forwardMs.ort_web_1t !== undefined) ratio.forward = forwardMs.ort_web_1t / forwardMs.ours_1t!;
    if (importanceMs.ort_web_1t !== undefined) ratio.importance = importanceMs.ort_web_1t / importanceMs.ours_1t!;

    const plan = planImportance(model, spreadBatch(BIG_BATCH, T, c.vocabSize), WASM32_LIMIT_MB);
    model.kernels.close();
    progress(`the ${BIG_BATCH} × ${T} importance batch with every block's activations kept (child process)`);
    const off = await child(dir, "off", BIG_BATCH);
    progress(`the ${BIG_BATCH} × ${T} importance batch with recompute auto under the wasm32 limit (child process)`);
    const auto = await child(dir, "auto", BIG_BATCH);
    const run = (r: Record<string, unknown>) => ({
      ran: r.ran === true,
      kernel_memory_mb: Math.round(r.kernel_memory_mb as number),
      ms: Math.round(r.ms as number),
      ...(typeof r.recomputed_blocks === "number" ? { blocks: r.recomputed_blocks } : {}),
    });
    const runs = { off: run(off), auto: run(auto) };
    const said = (key: "off" | "auto", r: Record<string, unknown>) =>
      r.ran === true
        ? `ran in ${runs[key].ms} ms, ${runs[key].blocks} blocks recomputed, kernel memory grew to ${
          runs[key].kernel_memory_mb
        } MB`
        : `failed after ${runs[key].ms} ms at ${runs[key].kernel_memory_mb} MB of kernel memory: ${r.error}`;

    const ortRow = (row: Record<string, number>, key: string) =>
      row.ort_web_1t === undefined
        ? `onnxruntime-web did not run (${unavailable})`
        : `onnxruntime-web 1.30 wasm, 1 thread ${row.ort_web_1t} ms → ORT time / ours ${ratio[key]!.toFixed(2)}×`;
    console.log(
      `SmolLM2-135M-shaped Llama (${(parameters / 1e6).toFixed(1)}M parameters, ${mb(bytes)} MB F16 file, ` +
        `our kernel memory after load ${mb(afterLoad)} MB), median of 3 interleaved rounds:\n` +
        `  forward 1 × ${T} (logits): ours, 1 thread, F16 weights ${forwardMs.ours_1t} ms; ${
          ortRow(forwardMs, "forward")
        }\n` +
        `  importance batch 1 × ${T} (head-mask gradient, next-token loss): ours ${importanceMs.ours_1t} ms; ${
          ortRow(importanceMs, "importance")
        }\n` +
        `  importance batch ${BIG_BATCH} × ${T} under the wasm32 limit (${WASM32_LIMIT_MB} MB): planner's estimate ` +
        `of the stored pass ${mb(plan.storedEstimateBytes)} MB (${mb(plan.baseBytes)} base + ${c.layers + 1} × ${
          mb(plan.blockBytes)
        } block + ${mb(plan.headBytes)} head) → ${plan.recomputes ? "recompute" : "keep"}\n` +
        `    activations kept: ${said("off", off)}\n` +
        `    recompute auto:   ${said("auto", auto)}`,
    );
    return {
      smollm2_forward_ms: forwardMs,
      smollm2_importance_ms: importanceMs,
      smollm2_ort_web_ratio: ratio,
      ...(unavailable !== undefined ? { smollm2_ort_web_unavailable: unavailable } : {}),
      smollm2_recompute_batch: [BIG_BATCH, T],
      smollm2_recompute_runs: runs,
      smollm2_stored_estimate_mb: mb(plan.storedEstimateBytes),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await benchSmolLM2();
