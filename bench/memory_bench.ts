/**
 * Peak memory of a BERT-base analysis (issue 10's memory targets): a BERT-base-shaped checkpoint with random
 * weights is written as F32 and as F16 safetensors to a temporary folder, and each is loaded and analysed in a
 * child process (`_memory_child.ts`: load, a forward keeping every hidden state and attention at batch 1 × 128,
 * one head-importance batch), whose peak RSS (VmHWM) is reported. Targets: F32 ≤ 1.25 × the weight file +
 * 150 MB; F16 ≤ 512 MB (a Deno Deploy isolate). The F32 file is loaded with `--dtype f32`, the F16 file with
 * `--dtype f16`.
 *
 * MB here are MiB (2^20 bytes), for the weights and the targets too.
 *
 * Run alone: `deno run --allow-read --allow-write --allow-run bench/memory_bench.ts [IMPORTANCE_BATCH]`.
 *
 * @module
 */

import { writeSafetensors } from "@bertology/core/checkpoint";
import { randomBertBaseWeights } from "./bert_bench.ts";

/** What {@linkcode benchMemory} measures, in MB (2^20 bytes). */
export interface MemoryBench {
  /** Peak RSS of the child process, per loading dtype. */
  peak_rss_mb: { f32: number; f16: number };
  /** Size of the weight file loaded, per dtype. */
  weights_mb: { f32: number; f16: number };
  /** The targets: 1.25 × the F32 file + 150 MB, and 512 MB. */
  target_mb: { f32: number; f16: number };
  /** Peak RSS right after loading (before any run), per dtype. */
  after_load_mb: { f32: number; f16: number };
  /** Peak RSS after the forward (before the importance batch), per dtype. */
  after_forward_mb: { f32: number; f16: number };
  /** The head-importance batch size used. */
  importance_batch: number;
}

/** Runs `_memory_child.ts` on one folder and returns what it printed. */
async function measure(dir: string, dtype: "f32" | "f16", importanceBatch: number): Promise<Record<string, number>> {
  const child = new URL("./_memory_child.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // all access: Deno grants /proc/self/status (VmHWM, the peak) only with it
    args: ["run", "--allow-all", child.pathname, dir, dtype, String(importanceBatch)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`memory child (${dtype}) exited ${code}: ${err}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

/**
 * Writes the two checkpoints, measures each in a child process, prints a table and returns the figures.
 *
 * @param importanceBatch Rows of the head-importance batch (seq 128).
 * @returns Peak RSS and weight-file sizes per dtype.
 */
export async function benchMemory(importanceBatch = 1): Promise<MemoryBench> {
  const root = await Deno.makeTempDir({ prefix: "bertology-memory-" });
  try {
    const { config, weights } = randomBertBaseWeights();
    const sizes = { f32: 0, f16: 0 };
    for (const [dtype, stored] of [["f32", "F32"], ["f16", "F16"]] as const) {
      await Deno.mkdir(`${root}/${dtype}`);
      await Deno.writeTextFile(`${root}/${dtype}/config.json`, JSON.stringify(config.raw));
      const bytes = writeSafetensors([...weights].map(([name, t]) => ({ name, shape: [...t.shape], data: t.data })), {
        dtype: stored,
      });
      await Deno.writeFile(`${root}/${dtype}/model.safetensors`, bytes);
      sizes[dtype] = bytes.length / 2 ** 20;
    }
    weights.clear();
    const f32 = await measure(`${root}/f32`, "f32", importanceBatch);
    const f16 = await measure(`${root}/f16`, "f16", importanceBatch);
    const result: MemoryBench = {
      peak_rss_mb: { f32: round(f32.peak_rss_mb!), f16: round(f16.peak_rss_mb!) },
      weights_mb: { f32: round(sizes.f32), f16: round(sizes.f16) },
      target_mb: { f32: round(1.25 * sizes.f32 + 150), f16: 512 },
      after_load_mb: { f32: round(f32.after_load_mb!), f16: round(f16.after_load_mb!) },
      after_forward_mb: { f32: round(f32.after_forward_mb!), f16: round(f16.after_forward_mb!) },
      importance_batch: importanceBatch,
    };
    const row = (d: "f32" | "f16") =>
      `  ${d}: peak RSS ${result.peak_rss_mb[d]} MB (after load ${result.after_load_mb[d]}, after forward ${
        result.after_forward_mb[d]
      }), weights ${result.weights_mb[d]} MB, target ≤ ${result.target_mb[d]} MB → ${
        result.peak_rss_mb[d] <= result.target_mb[d] ? "met" : "MISSED"
      }`;
    console.log(
      `BERT-base-shaped, load + forward (all hidden states and attentions, 1 × 128) + importance (${importanceBatch} × 128)\n` +
        `${row("f32")}\n${row("f16")}\n${JSON.stringify({ peak_rss_mb: result.peak_rss_mb })}`,
    );
    return result;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}

if (import.meta.main) await benchMemory(Number(Deno.args[0] ?? 1));
