/**
 * What the circuit tests share: the Hugging Face reference (`tests/fixtures/hf/circuits_reference.py` and its
 * committed output) and the fixture models it was computed on, each loaded once per test file.
 *
 * @module
 */

import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import type { TransformerModel } from "../models/model.ts";
import { modelTypes } from "../models/registry.ts";
import { FIXTURES } from "../../tests/helpers/goldens.ts";

/** One model's reference numbers (see the script's doc for the definitions). */
export interface CircuitsReference {
  /** The fixture folder, relative to `tests/fixtures`. */
  model: string;
  /** Token ids of the clean input. */
  clean: number[];
  /** Token ids of the corrupted input. */
  corrupted: number[];
  /** The target token. */
  target: number;
  /** The distractor token. */
  distractor: number;
  /** The texts the ids come from (GPT-2). */
  text?: [string, string];
  /** Direct logit attribution on the clean input. */
  dla: {
    metric: number;
    embed: number;
    heads: number[][];
    mlps: number[];
    attn_bias: number[];
    constant: number;
    sum: number;
  };
  /** Attribution patching and exact patching. */
  atp: {
    metric_clean: number;
    metric_corrupted: number;
    heads: number[][];
    mlps: number[];
    exact: { heads: number[][]; mlps: number[] };
  };
  /** TransformerLens's composition scores, [L][H][L][H]. */
  composition: Record<"Q" | "K" | "V", number[][][][]>;
}

const REFERENCE_PATH = `${FIXTURES}hf/circuits_reference.out.json`;

/** The reference models, by their HF `model_type`. */
export type ReferenceName = "gpt2" | "llama" | "gpt_neox" | "gpt_neo";

/** The decoder families of the reference (GPT-2 first). */
export const REFERENCE_NAMES: readonly ReferenceName[] = ["gpt2", "llama", "gpt_neox", "gpt_neo"];

/** One model's reference. */
export function circuitsReference(name: ReferenceName): CircuitsReference {
  return JSON.parse(Deno.readTextFileSync(REFERENCE_PATH))[name];
}

/**
 * Whether the registry reads a reference's family yet: Llama, GPT-NeoX and GPT-Neo are being added beside this
 * work, and their cases run as soon as the family is registered.
 */
export function registered(name: ReferenceName): boolean {
  return modelTypes().includes(name);
}

const loaded = new Map<string, Promise<TransformerModel>>();

/** The model a reference was computed on (loaded once). */
export function referenceModel(ref: CircuitsReference): Promise<TransformerModel> {
  let m = loaded.get(ref.model);
  if (m === undefined) {
    m = loadModel(localFiles(`${FIXTURES}${ref.model}`), { tokenizer: false }).then((r) => r.model);
    loaded.set(ref.model, m);
  }
  return m;
}

/** |actual − expected| ≤ abs + rel·|expected| for every entry, or an error naming the first that is not. */
export function assertClose(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  abs: number,
  rel = 0,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: ${actual.length} values, expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= abs + rel * Math.abs(e))) {
      throw new Error(`${label}[${i}]: ${a}, expected ${e} (tolerance ${abs} + ${rel}·|expected|)`);
    }
  }
}
