/**
 * The demo's "pruning to a budget" study on the bundled BERT: dev accuracy against the encoder's FLOPs for
 * Michel et al.'s iterative head masking (each step of the demo's masking run), Kwon et al.'s search over
 * heads only, and Kwon et al.'s search over heads and MLP neurons — each Kwon model really pruned, and every
 * final model timed on this engine against the original (median of interleaved passes). The numbers behind
 * `report/budget_section.ts`.
 *
 * @module
 */

import type { MaskingStep } from "@bertology/core/bertology";
import { applyMasks, encoderFlops, flopsPerHead, flopsPerNeuron } from "@bertology/core/bertology/kwon";
import { headsFromMask, pruneWeights } from "@bertology/core/bertology";
import { glueTask } from "@bertology/core/data";
import { readGlueExamples } from "@bertology/core/data/read-files";
import { createWasmKernels } from "@bertology/core/kernels";
import { type LoadedModel, TransformerModel } from "@bertology/core/models";
import {
  buildStudyDataset,
  maskedPass,
  median,
  pruneToBudget,
  scoreTask,
  type StudyDataset,
  taskSpec,
  trainingSample,
} from "@bertology/core/studies";
import type { BudgetPoint, BudgetStudy } from "./report/budget_section.ts";

/** Options of {@linkcode budgetPruningStudy}. */
export interface BudgetStudyOptions {
  /** GLUE folder holding `SST-2/train.tsv`. */
  dataDir: string;
  /** Training examples sampled for the Fisher pass (default 1,024). */
  sample?: number | undefined;
  /** Examples the least-squares tuning fits on (default 256). */
  tuneSample?: number | undefined;
  /** FLOPs fractions of the heads + neurons search (default 0.8, 0.6, 0.4). */
  jointFractions?: number[] | undefined;
  /** FLOPs fractions of the heads-only search (default 0.95, 0.85, 0.75; below the MLPs' share none fits). */
  headFractions?: number[] | undefined;
  /** Timed passes per model (default 5). */
  repeats?: number | undefined;
  /** Progress lines. */
  log?: ((s: string) => void) | undefined;
}

/**
 * Runs the study (see the module doc).
 *
 * @param bert the loaded BERT classifier
 * @param dev the scored dev set
 * @param masking the demo's Michel masking run: its steps and final mask
 * @param opts data folder, sample sizes, fractions
 * @returns the points of the three curves and their speeds
 */
export async function budgetPruningStudy(
  bert: LoadedModel,
  dev: StudyDataset,
  masking: { steps: readonly MaskingStep[]; headMask: number[][] },
  opts: BudgetStudyOptions,
): Promise<BudgetStudy> {
  const log = opts.log ?? (() => {});
  const model = bert.model, c = model.config;
  const t = glueTask("sst-2");
  const train = await readGlueExamples(opts.dataDir, t, "train");
  const sampleSize = opts.sample ?? 1024;
  const sample = buildStudyDataset(model, bert.tokenizer!, {
    name: "SST-2 train sample",
    task: t.name,
    outputMode: t.outputMode,
    labels: [...t.labels],
    examples: trainingSample(train, sampleSize, 0),
  }, { batchSize: 32, maxSeqLength: 128 });
  const score = scoreTask({ ...taskSpec(model, dev), metric: "acc" });
  const speedBatches = dev.batches.slice(0, 4);
  const kernels = createWasmKernels();
  const passSeconds = (m: TransformerModel) => {
    const s = performance.now();
    for (const b of speedBatches) m.run({ batch: b.batch });
    return (performance.now() - s) / 1000;
  };
  const repeats = opts.repeats ?? 5;
  /** Median seconds of the original and of `m`, interleaved so that load changes hit both alike. */
  const speedOf = (m: TransformerModel) => {
    passSeconds(m);
    const a: number[] = [], b: number[] = [];
    for (let i = 0; i < repeats; i++) a.push(passSeconds(model)), b.push(passSeconds(m));
    return { original: median(a), pruned: median(b) };
  };

  let tokens = 0;
  for (const { batch } of sample.batches) tokens += batch.attentionMask!.reduce((x, y) => x + y, 0);
  const seqLen = tokens / sample.examples.length;
  const full = encoderFlops(c, new Array(c.layers).fill(c.heads), c.intermediateSizes, seqLen);
  const mlpShare = c.intermediateSizes.reduce((a, n) => a + n * flopsPerNeuron(seqLen, c.hidden), 0) / full;

  // Michel et al.: every masking step, FLOPs of its kept heads; the final mask pruned and timed
  const michel: BudgetPoint[] = masking.steps.map((s) => ({
    fraction: (s.headsKept * flopsPerHead(seqLen, c.hidden, c.headDim)) / full + mlpShare,
    accuracy: s.score,
    heads: s.headsKept,
    neurons: c.intermediateSizes.reduce((a, b) => a + b, 0),
  }));
  const michelPruned = pruneWeights(c, model.params.toTensors(), headsFromMask(masking.headMask));
  const michelSpeed = speedOf(new TransformerModel(michelPruned.config, michelPruned.weights, kernels));
  // the final mask is the last accepted step (a later step fell below the threshold): that model is timed
  const finalKept = masking.headMask.flat().reduce((a, b) => a + b, 0);
  const at = michel.findLastIndex((p) => p.heads === finalKept);
  if (at >= 0) michel[at] = { ...michel[at]!, speed: michelSpeed };
  log(`  Michel masking: ${michel.length} steps; final model ${fmtSpeed(michelSpeed)}`);

  const kwon = (
    units: "heads" | "heads+neurons",
    fractions: number[],
    gradients?: ReturnType<typeof pruneToBudget>["gradients"],
  ) => {
    const out: BudgetPoint[] = [];
    let grads = gradients;
    for (const fraction of fractions) {
      if (units === "heads" && fraction < mlpShare) continue;
      const r = pruneToBudget(model, sample.batches, { kind: "flops", fraction }, {
        units,
        tuneSample: opts.tuneSample ?? 256,
        ...(grads ? { gradients: grads } : {}),
      });
      grads = r.gradients;
      const p = applyMasks(c, model.params.toTensors(), r.masks, "bertology");
      const pruned = new TransformerModel(p.config, p.weights, kernels);
      const accuracy = score(maskedPass(pruned, dev.batches));
      const speed = speedOf(pruned);
      const point: BudgetPoint = {
        fraction: r.flops.fraction,
        accuracy,
        heads: r.headsPerLayer.reduce((a, b) => a + b, 0),
        neurons: r.neuronsPerLayer.reduce((a, b) => a + b, 0),
        speed,
        seconds: r.seconds,
      };
      log(
        `  Kwon ${units} flops=${fraction}: accuracy ${accuracy.toFixed(4)}, ${point.heads} heads, ${point.neurons} ` +
          `neurons, ${fmtSpeed(speed)}`,
      );
      out.push(point);
    }
    return { points: out, gradients: grads };
  };
  const joint = kwon("heads+neurons", opts.jointFractions ?? [0.8, 0.6, 0.4]);
  const headsOnly = kwon("heads", opts.headFractions ?? [0.95, 0.85, 0.75], joint.gradients);
  return {
    model: bert.model.config.family,
    seqLen,
    mlpShare,
    sample: sample.examples.length,
    tuneSample: opts.tuneSample ?? 256,
    repeats,
    speedExamples: speedBatches.reduce((a, b) => a + b.batch.batchSize, 0),
    originalAccuracy: masking.steps[0]?.score ?? NaN,
    michel,
    kwonHeads: headsOnly.points,
    kwonJoint: joint.points,
  };
}

function fmtSpeed(s: { original: number; pruned: number }): string {
  return `${s.original.toFixed(3)} s → ${s.pruned.toFixed(3)} s (${(s.original / s.pruned).toFixed(2)}×)`;
}
