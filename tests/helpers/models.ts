/**
 * Test helper: small random models built in the test (no checkpoint on disk).
 *
 * @module
 */

import { localFiles } from "@bertology/core/checkpoint/deno";
import { createWasmKernels } from "@bertology/core/kernels";
import { loadModel, TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import { initWeights, newConfig } from "@bertology/core/training";
import { fixtureModel } from "./goldens.ts";

/**
 * A random 2-layer, 4-head, hidden-16 BERT regressor (one output, problem_type "regression", no dropout) over
 * the bert-tiny-random fixture's vocabulary, with that fixture's tokenizer; `seed` picks the weights.
 */
export async function randomBertRegressor(seed: number): Promise<{ model: TransformerModel; tokenizer: Tokenizer }> {
  const { tokenizer } = await loadModel(localFiles(fixtureModel("bert-tiny-random")));
  const { config } = newConfig({
    family: "bert",
    layers: 2,
    heads: 4,
    hidden: 16,
    vocabSize: tokenizer!.vocabSize,
    maxPositions: 64,
    problemType: "regression",
    dropout: 0,
  });
  return { model: new TransformerModel(config, initWeights(config, seed), createWasmKernels()), tokenizer: tokenizer! };
}
