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

/** A fixture model of another family with a prompt pair that differs in one token. */
export interface FamilyPair {
  /** The model directory. */
  dir: string;
  /** Token ids of the clean and the corrupted prompt. */
  clean: readonly number[];
  corrupted: readonly number[];
  /** m's logits. */
  target: number;
  distractor: number;
}

/**
 * The pairs the circuit identity tests run beyond GPT-2: grouped-query Llama (the tiny random fixture: 4 query
 * heads, 2 kv heads; stories260K: 8 query heads, 4 kv heads, on the name-swap pair "Lily and Tim went to the
 * park. Tim gave the ball to" / "… Lily gave the ball to", target "Lily", distractor "Tim"), GPT-NeoX (parallel
 * residual, rotary) and GPT-Neo (a local-attention layer). The Llama fixture's pair is also what
 * `tests/fixtures/hf/circuits_eap_llama_reference.py` runs.
 */
export const FAMILY_PAIRS: Readonly<Record<string, FamilyPair>> = {
  "llama-tiny-random": {
    dir: "tests/fixtures/families/models/llama-tiny-random",
    clean: [1, 37, 101, 250, 73, 88, 300, 12],
    corrupted: [1, 37, 101, 250, 73, 88, 300, 410],
    target: 200,
    distractor: 77,
  },
  stories260k: {
    dir: "models/stories260k",
    clean: [1, 317, 269, 326, 263, 377, 267, 265, 282, 295, 433, 426, 326, 298, 412, 360, 265, 268, 388, 267],
    corrupted: [1, 317, 269, 326, 263, 377, 267, 265, 282, 295, 433, 426, 317, 298, 412, 360, 265, 268, 388, 267],
    target: 317,
    distractor: 326,
  },
  "gpt-neox-tiny-random": {
    dir: "tests/fixtures/families/models/gpt-neox-tiny-random",
    clean: [464, 3290, 290, 262, 3797, 1816, 284, 262],
    corrupted: [464, 3290, 290, 262, 2044, 1816, 284, 262],
    target: 1200,
    distractor: 77,
  },
  "gpt-neo-tiny-random": {
    dir: "tests/fixtures/families/models/gpt-neo-tiny-random",
    clean: [464, 3290, 290, 262, 3797, 1816, 284, 262],
    corrupted: [464, 3290, 290, 262, 2044, 1816, 284, 262],
    target: 1200,
    distractor: 77,
  },
};

/** A family pair's model, batches and metric. */
export async function familyPair(name: string): Promise<
  { model: TransformerModel; clean: Batch; corrupted: Batch; metric: MetricSpec }
> {
  const pair = FAMILY_PAIRS[name]!;
  const { model } = await loadModel(localFiles(pair.dir), { tokenizer: false });
  return {
    model,
    clean: oneRow(pair.clean),
    corrupted: oneRow(pair.corrupted),
    metric: { target: pair.target, distractor: pair.distractor },
  };
}
