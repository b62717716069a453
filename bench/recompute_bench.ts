/**
 * Recomputation (issue 24): a BERT-base-shaped head-importance batch of 8 × 128, F32, with every block's
 * activations kept (`recompute: "off"`) and with each block recomputed from its input when its backward runs
 * (`"on"`). Peak RSS of each is measured in a child process (`_recompute_child.ts`: load + one batch, VmHWM);
 * the time ratio on / off in this process, the two passes interleaved over rounds on one model (median of 3,
 * 1 thread), as wall time and as the process's CPU time (user + system: steadier than wall time when other
 * processes share the cores). Targets: peak RSS with recomputation ≤ 700 MB, its time ≤ 1.35 × the stored pass's.
 *
 * MB here are MiB (2^20 bytes).
 *
 * Run alone: `deno run --allow-all bench/recompute_bench.ts`.
 *
 * @module
 */

import { attentionEntropyMeter } from "@bertology/core/bertology";
import { writeSafetensors } from "@bertology/core/checkpoint";
import { createWasmKernels } from "@bertology/core/kernels";
import { type RecomputeMode, TransformerModel } from "@bertology/core/models";
import { randomBertBaseWeights } from "./bert_bench.ts";
import { importanceBatch } from "./_recompute_child.ts";
import { cpuUsage } from "node:process";

/** What {@linkcode benchRecompute} measures. */
export interface RecomputeBench {
  /** Peak RSS of load + one importance batch, in MB, without (`off`) and with (`on`) recomputation. */
  recompute_peak_rss_mb: { off: number; on: number };
  /** Median milliseconds of the importance batch at 1 thread, interleaved in one process. */
  recompute_importance_ms: { off: number; on: number };
  /** Median CPU milliseconds (user + system) of the importance batch, same rounds. */
  recompute_importance_cpu_ms: { off: number; on: number };
  /** `on` time ÷ `off` time, wall (target ≤ 1.35). */
  recompute_time_ratio: number;
  /** `on` ÷ `off`, CPU time. */
  recompute_cpu_ratio: number;
  /** Blocks the recomputing pass ran twice (all but the last). */
  recompute_blocks: number;
  /** The batch: rows × positions. */
  recompute_batch: [number, number];
}

const [B, T] = [8, 128];
const TARGET_MB = 700, TARGET_RATIO = 1.35;

/** Runs `_recompute_child.ts` on the checkpoint folder and returns what it printed. */
async function child(dir: string, mode: "on" | "off"): Promise<Record<string, number>> {
  const url = new URL("./_recompute_child.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    // all access: Deno grants /proc/self/status (VmHWM, the peak) only with it
    args: ["run", "--allow-all", url.pathname, dir, mode, String(B), String(T)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`recompute child (${mode}) exited ${code}: ${new TextDecoder().decode(stderr)}`);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

/**
 * Measures peak RSS in child processes and the time ratio in this one, prints the rows and returns the figures.
 *
 * @returns the figures ({@linkcode RecomputeBench})
 */
export async function benchRecompute(): Promise<RecomputeBench> {
  const { config, weights } = randomBertBaseWeights();
  const root = await Deno.makeTempDir({ prefix: "bertology-recompute-" });
  const progress = (what: string) => console.error(`  … ${what}`);
  let peaks: Record<"off" | "on", Record<string, number>>;
  try {
    await Deno.writeTextFile(`${root}/config.json`, JSON.stringify(config.raw));
    const tensors = [...weights].map(([name, t]) => ({ name, shape: [...t.shape], data: t.data }));
    await Deno.writeFile(`${root}/model.safetensors`, writeSafetensors(tensors, { dtype: "F32" }));
    progress("peak RSS without recomputation (child process)");
    const off = await child(root, "off");
    progress("peak RSS with recomputation (child process)");
    const on = await child(root, "on");
    peaks = { off, on };
  } finally {
    await Deno.remove(root, { recursive: true });
  }

  const model = new TransformerModel(config, weights, createWasmKernels({ threads: 1 }));
  const meter = attentionEntropyMeter(model);
  const batch = importanceBatch(B, T, config.vocabSize), labels = new Int32Array(B);
  let blocks = 0;
  const pass = (recompute: RecomputeMode) => {
    const cpu = cpuUsage(), t = performance.now();
    const r = model.run({ batch, labels, names: ["hook_head_mask_grad"], observe: meter.observe, recompute });
    const wall = performance.now() - t, used = cpuUsage(cpu);
    if (recompute === "on") blocks = r.recomputedBlocks ?? 0;
    return { wall, cpu: (used.user + used.system) / 1000 };
  };
  progress("timing the importance pass with and without recomputation, interleaved (1 thread)");
  pass("off"), pass("on"); // warm-up: the memory grows to the stored pass's size once
  const times = { off: [] as { wall: number; cpu: number }[], on: [] as { wall: number; cpu: number }[] };
  for (let i = 0; i < 3; i++) {
    times.off.push(pass("off"));
    times.on.push(pass("on"));
  }
  const ms = { off: median(times.off.map((t) => t.wall)), on: median(times.on.map((t) => t.wall)) };
  const cpuMs = { off: median(times.off.map((t) => t.cpu)), on: median(times.on.map((t) => t.cpu)) };
  const ratio = ms.on / ms.off, cpuRatio = cpuMs.on / cpuMs.off;
  const rss = { off: round(peaks.off.peak_rss_mb!), on: round(peaks.on.peak_rss_mb!) };
  console.log(
    `BERT-base-shaped importance batch ${B} × ${T}, F32 (load + one batch, peak RSS in a child process each; ` +
      `time: median of 3 interleaved rounds, 1 thread):\n` +
      `  activations kept:   peak RSS ${rss.off} MB, ${ms.off.toFixed(0)} ms (CPU ${cpuMs.off.toFixed(0)} ms)\n` +
      `  recomputed (${blocks} of ${config.layers} blocks): peak RSS ${rss.on} MB (target ≤ ${TARGET_MB} MB → ${
        rss.on <= TARGET_MB ? "met" : "MISSED"
      }), ${ms.on.toFixed(0)} ms (CPU ${cpuMs.on.toFixed(0)} ms) → ${ratio.toFixed(2)}× the time, ${
        cpuRatio.toFixed(2)
      }× the CPU time (target ≤ ${TARGET_RATIO}× → ${
        Math.max(ratio, cpuRatio) <= TARGET_RATIO ? "met" : "MISSED"
      }); memory ${(rss.on / rss.off).toFixed(2)}× the stored pass's`,
  );
  return {
    recompute_peak_rss_mb: rss,
    recompute_importance_ms: { off: round(ms.off), on: round(ms.on) },
    recompute_importance_cpu_ms: { off: round(cpuMs.off), on: round(cpuMs.on) },
    recompute_time_ratio: Math.round(ratio * 1000) / 1000,
    recompute_cpu_ratio: Math.round(cpuRatio * 1000) / 1000,
    recompute_blocks: blocks,
    recompute_batch: [B, T],
  };
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.main) await benchRecompute();
