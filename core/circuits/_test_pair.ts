/**
 * The prompt pair the circuit tests share: the fixture GPT-2 (3 layers, 4 heads, d_model 32) and a clean and a
 * corrupted prompt of 8 tokens that differ in one token (also what `tests/fixtures/hf/circuits_eap_reference.py`
 * runs).
 *
 * @module
 */

import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import type { Batch } from "../models/inputs.ts";
import type { TransformerModel } from "../models/model.ts";
import type { MetricSpec } from "./metric.ts";

/** The fixture model directory. */
export const GPT2_FIXTURE = "tests/fixtures/models/gpt2-tiny-random";

/** Token ids of the clean and the corrupted prompt, and m's logits. */
export const PAIR = {
  clean: [464, 3290, 290, 262, 3797, 1816, 284, 262],
  corrupted: [464, 3290, 290, 262, 5044, 1816, 284, 262],
  target: 1200,
  distractor: 77,
} as const;

/** A one-row batch of token ids. */
export function oneRow(ids: readonly number[]): Batch {
  return { batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) };
}

/** The fixture GPT-2 with the pair's batches and metric. */
export async function gpt2Pair(): Promise<
  { model: TransformerModel; clean: Batch; corrupted: Batch; metric: MetricSpec }
> {
  const { model } = await loadModel(localFiles(GPT2_FIXTURE), { tokenizer: false });
  return {
    model,
    clean: oneRow(PAIR.clean),
    corrupted: oneRow(PAIR.corrupted),
    metric: { target: PAIR.target, distractor: PAIR.distractor },
  };
}
