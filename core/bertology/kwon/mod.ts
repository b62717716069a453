/**
 * Kwon, Kim, Mahoney, Hassoun, Keutzer & Gholami 2022, "A Fast Post-Training Pruning Framework for
 * Transformers": retraining-free pruning of heads and MLP neurons to a FLOPs or latency budget, from the
 * mask gradients — Fisher importance (`fisher.ts`), the mask search (`search.ts`), the mask rearrangement
 * (`rearrange.ts`), layer-wise least-squares mask tuning (`tune.ts`), unit costs (`cost.ts`) and the pruned
 * checkpoint formats (`apply.ts`). `studies/budget_pruning.ts` runs the whole pipeline on a dataset.
 *
 * @example Usage
 * ```ts
 * import { collectMaskGradients, fisherImportance } from "@bertology/core/bertology/kwon";
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/bert-tiny-random"), { tokenizer: false });
 * const batch = { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([2, 45, 3]) };
 * const fisher = fisherImportance(collectMaskGradients(model, [{ batch, labels: new Int32Array([1]) }]));
 * fisher.neurons.length; // layers
 * ```
 *
 * @module
 */

export * from "./apply.ts";
export * from "./cost.ts";
export * from "./fisher.ts";
export * from "./rearrange.ts";
export * from "./search.ts";
export * from "./tune.ts";
