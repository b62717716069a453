/**
 * Circuits: how heads and MLPs work together, from the model's own hooks, patches and gradients and its
 * weights found through the family's description (no family is named here). The metric m is
 * logit[target] − logit[distractor] at the last position (`metric.ts`).
 *
 * - Node-level: direct logit attribution (`dla.ts`: each head's, MLP's and bias's share of m), attribution
 *   patching beside exact activation patching (`atp.ts`), Q-, K- and V-composition scores (`composition.ts`).
 * - On the residual graph of a pre-norm model (`graph.ts`: nodes `input`, `a{l}.h{h}`, `m{l}`, `logits`; each
 *   receiver — a head's q, k or v input, an MLP input, the logits — reads its own residual copy, `split_run.ts`):
 *   edge attribution patching and EAP-IG (`eap.ts`), faithfulness of a circuit by edge-level patching
 *   (`faithfulness.ts`), path patching (`path_patching.ts`) and ACDC (`acdc.ts`). Post-norm encoders have no
 *   residual sum for a receiver to read: they are refused with a pointer to the node-level methods.
 *
 * @example Node-level methods
 * ```ts
 * import { attributionPatching, compositionScores, directLogitAttribution } from "@bertology/core/circuits";
 * import { loadModel } from "@bertology/core/models";
 * import { localFiles } from "@bertology/core/checkpoint/deno";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const clean = { inputIds: [27, 70, 82] }, corrupted = { inputIds: [27, 71, 82] };
 * const dla = directLogitAttribution(model, clean, { target: 5, distractor: 9 });
 * dla.sum - dla.metric; // ≈ 0: the parts sum to m
 * attributionPatching(model, clean, corrupted, { target: 5, distractor: 9 }).pearson;
 * compositionScores(model).V.shape; // [layers, heads, layers, heads]
 * ```
 *
 * @example EAP on the fixture GPT-2
 * ```ts
 * import { edgeAttribution, faithfulnessAtK } from "./mod.ts";
 * import { loadModel } from "../models/load.ts";
 * import { localFiles } from "../checkpoint/local_files.ts";
 * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
 * const row = (ids: number[]) => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });
 * const clean = row([464, 3290, 290, 262]), corrupted = row([464, 5044, 290, 262]);
 * const eap = edgeAttribution(model, clean, corrupted, { target: 1200, distractor: 77 });
 * const [f] = faithfulnessAtK(model, clean, eap.metric, eap.corrupted, eap.clean.metric, eap.scores, [10]);
 * f!.k; // 10
 * ```
 *
 * @module
 */

export * from "./metric.ts";
export * from "./readout.ts";
export * from "./dla.ts";
export * from "./atp.ts";
export * from "./composition.ts";
export * from "./graph.ts";
export * from "./split_run.ts";
export * from "./eap.ts";
export * from "./faithfulness.ts";
export * from "./path_patching.ts";
export * from "./acdc.ts";
