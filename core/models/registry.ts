/**
 * The model-family registry: HF `model_type` → its {@linkcode ModelFamily}. Adding a family (RoBERTa,
 * DistilBERT …) is one new file in this folder exporting its family object, plus one line here.
 *
 * @example Usage
 * ```ts
 * import { familyOf, parseConfig } from "./registry.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 }, "config.json");
 * config.headDim; // 4
 * familyOf(config).displayName; // "GPT-2"
 * ```
 *
 * @module
 */

import { albert } from "./albert.ts";
import { bert } from "./bert.ts";
import { type ModelConfig, parseConfigWith } from "./config.ts";
import type { ModelFamily } from "./family.ts";
import { distilbert } from "./distilbert.ts";
import { electra } from "./electra.ts";
import { gpt2 } from "./gpt2.ts";
import { gptNeo } from "./gpt_neo.ts";
import { gptNeox } from "./gpt_neox.ts";
import { llama, mistral, qwen2 } from "./llama.ts";
import { openaiGpt } from "./openai_gpt.ts";
import { camembert, roberta, xlmRoberta } from "./roberta.ts";

const REGISTRY: ReadonlyMap<string, ModelFamily> = new Map([
  [bert.modelType, bert],
  [gpt2.modelType, gpt2],
  [openaiGpt.modelType, openaiGpt],
  [roberta.modelType, roberta],
  [xlmRoberta.modelType, xlmRoberta],
  [camembert.modelType, camembert],
  [distilbert.modelType, distilbert],
  [albert.modelType, albert],
  [electra.modelType, electra],
  [gptNeo.modelType, gptNeo],
  [gptNeox.modelType, gptNeox],
  [llama.modelType, llama],
  [mistral.modelType, mistral],
  [qwen2.modelType, qwen2],
]);

/** The registered `model_type` values. */
export function modelTypes(): string[] {
  return [...REGISTRY.keys()];
}

/**
 * The family of a config (or of a `model_type`).
 *
 * @throws {Error} for a `model_type` nobody registered, listing the supported ones
 */
export function familyOf(configOrType: ModelConfig | string, source = "config.json"): ModelFamily {
  const type = typeof configOrType === "string" ? configOrType : configOrType.family;
  const f = REGISTRY.get(type);
  if (f === undefined) {
    throw new Error(
      `${source}: unknown model_type ${JSON.stringify(type).slice(0, 80)} (supported: ${modelTypes().join(", ")})`,
    );
  }
  return f;
}

/**
 * Checks a parsed `config.json` and returns the typed config, read by the family its `model_type` names.
 *
 * @param raw the parsed JSON
 * @param source where it came from, for error messages (e.g. "models/bert-sst2/config.json")
 * @throws {Error} naming `source` and the field, for an unknown `model_type`, a missing, non-integer or too
 *   large size, hidden size not divisible by heads, an unsupported activation, or malformed `pruned_heads`
 */
export function parseConfig(raw: unknown, source: string): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  if (typeof r.model_type !== "string") {
    throw new Error(`${source}: field "model_type" is missing or not a string (supported: ${modelTypes().join(", ")})`);
  }
  return parseConfigWith(familyOf(r.model_type, source), r, source);
}
