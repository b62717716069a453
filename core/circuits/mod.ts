/**
 * Circuits: how heads and MLPs work together. On the residual graph of a pre-norm model (`graph.ts`: nodes
 * `input`, `a{l}.h{h}`, `m{l}`, `logits`; each receiver — a head's q, k or v input, an MLP input, the logits —
 * reads its own residual copy): edge attribution patching and EAP-IG (`eap.ts`), faithfulness of a circuit by
 * edge-level patching (`faithfulness.ts`), path patching (`path_patching.ts`) and ACDC (`acdc.ts`). The metric
 * m is logit[target] − logit[distractor] at the last position (`metric.ts`). Post-norm encoders have no
 * residual sum for a receiver to read: they are refused with a pointer to the node-level methods.
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

export * from "./graph.ts";
export * from "./metric.ts";
export * from "./split_run.ts";
export * from "./eap.ts";
export * from "./faithfulness.ts";
export * from "./path_patching.ts";
export * from "./acdc.ts";
