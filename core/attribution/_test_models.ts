/**
 * Models and inputs the attribution tests share: the fixture BERT and GPT-2 and the bundled SST-2 BERT,
 * each loaded once per test file, with a short input that suits its tokenizer.
 *
 * @module
 */

import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import type { TransformerModel } from "../models/model.ts";
import type { Tokenizer } from "../tokenizers/types.ts";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import type { AttributionInput } from "./input.ts";

/** A loaded test model with a short input. */
export interface TestModel {
  /** Where it came from. */
  name: string;
  /** The model. */
  model: TransformerModel;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** A short input. */
  input: AttributionInput;
  /** The same input with one token swapped (same length). */
  corrupted: AttributionInput;
}

const TEXTS: Record<string, [string, string]> = {
  "bert-tiny-random": ["the film is a gripping tale", "the film is a boring tale"],
  "gpt2-tiny-random": ["the film is a gripping tale of", "the film is a boring tale of"],
  "models/bert-sst2": ["a gripping , beautifully made film", "a boring , beautifully made film"],
  "models/gpt2-sst2": ["a gripping , beautifully made", "a boring , beautifully made"],
};

/**
 * Loads a test model: a fixture name (`bert-tiny-random`) or a bundled one (`models/bert-sst2`).
 *
 * @throws {Error} when the two texts do not encode to the same length
 */
export async function testModel(name: string): Promise<TestModel> {
  const dir = name.startsWith("models/") ? new URL(`../../${name}`, import.meta.url).pathname : fixtureModel(name);
  const { model, tokenizer } = await loadModel(localFiles(dir));
  const [a, b] = TEXTS[name]!;
  const enc = (s: string) => {
    const e = tokenizer!.encode(s);
    return { inputIds: e.ids, tokenTypeIds: e.tokenTypeIds };
  };
  const input = enc(a), corrupted = enc(b);
  if (input.inputIds.length !== corrupted.inputIds.length) throw new Error(`${name}: test texts differ in length`);
  return { name, model, tokenizer: tokenizer!, input, corrupted };
}
