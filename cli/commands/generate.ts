/**
 * `bertology generate --model DIR (--prompt S | --ids 1,403,…) [--max-new-tokens N] [--temperature T --top-k K
 * --top-p P --seed S] [--no-cache] [--ignore-eos] [--json]`: a causal language model continues a prompt — greedy
 * at temperature 0, else seeded sampling — its text streamed to stdout as each token comes, then the ids.
 *
 * @module
 */

import type { GeneratedToken } from "@bertology/core/generate";
import { DTYPE_OPTION, dtypeFlag, numberFlag, openModel, parseFlags, required, UsageError } from "../_common.ts";

/** Help text. */
export const GENERATE_HELP =
  `bertology generate --model DIR (--prompt S | --ids 1,403,…) [--max-new-tokens 20] [--temperature 0]
                   [--top-k K] [--top-p P] [--seed 0] [--no-cache] [--ignore-eos] [--json] [--offline] [--dtype f32|f16]
  Continues a prompt with a causal language model (GPT-2, OpenAI GPT and the other decoder families): the text
  (prompt and continuation, special tokens skipped) is streamed to stdout as each token comes, then a line
  "ids: …" with every id, the prompt's first. --prompt is text (encoded as the model's tokenizer does, special
  tokens included); --ids gives the prompt's token ids exactly. Greedy at --temperature 0 (the default);
  above 0, tokens are drawn from softmax(logits / T), among the --top-k most likely and the most likely whose
  probabilities reach --top-p, by a generator seeded with --seed (the same seed, the same tokens). Stops after
  --max-new-tokens or at an end-of-sequence id (generation_config.json, else config.json) unless --ignore-eos.
  A KV cache holds the keys and values of every position run so far, so each step runs one token; --no-cache
  runs the whole sequence at every step (the same tokens; for checking). --json prints {"ids", "text"} at the end
  instead of streaming.`;

/** Runs the command; returns the exit code. */
export async function generateCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    prompt: { type: "string" },
    ids: { type: "string" },
    "max-new-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    seed: { type: "string" },
    "no-cache": { type: "boolean" },
    "ignore-eos": { type: "boolean" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  if ((values.prompt === undefined) === (values.ids === undefined)) {
    throw new UsageError("give the prompt as --prompt TEXT or as --ids 1,403,… (one of them)");
  }
  const promptIds = values.ids === undefined ? undefined : parseIds(values.ids);
  const maxNewTokens = numberFlag(values["max-new-tokens"], "max-new-tokens", 20, true);
  if (maxNewTokens < 1) throw new UsageError(`--max-new-tokens must be at least 1, got ${maxNewTokens}`);
  const temperature = numberFlag(values.temperature, "temperature", 0);
  if (temperature < 0) throw new UsageError(`--temperature must be ≥ 0 (0 = greedy), got ${temperature}`);
  const topK = numberFlag(values["top-k"], "top-k", 0, true);
  if (topK < 0) throw new UsageError(`--top-k must be ≥ 0 (0 = no limit), got ${topK}`);
  const topP = numberFlag(values["top-p"], "top-p", 1);
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`--top-p must be in (0, 1] (1 = no limit), got ${topP}`);
  const seed = numberFlag(values.seed, "seed", 0, true);
  if (temperature === 0) {
    for (const flag of ["top-k", "top-p", "seed"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for sampling: give --temperature above 0`);
    }
  }

  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (model.task !== "lm") {
    throw new UsageError(
      `${modelDir}/config.json describes a ${model.family.displayName} ${model.task} model; generate needs a ` +
        `causal language model`,
    );
  }
  const { vocabSize: V, maxPositions } = model.config;
  const bad = promptIds?.find((id) => id >= V);
  if (bad !== undefined) throw new UsageError(`--ids: id ${bad} is outside the vocabulary (0..${V - 1})`);
  const prompt = promptIds ?? tokenizer!.encode(values.prompt!).ids;
  if (prompt.length === 0) throw new UsageError("--prompt encodes to no tokens");
  const most = maxPositions - prompt.length + 1;
  if (maxNewTokens > most) {
    throw new UsageError(
      `--max-new-tokens ${maxNewTokens} after a prompt of ${prompt.length} tokens passes the model's ${maxPositions} ` +
        `positions (at most ${Math.max(0, most)})`,
    );
  }

  const json = values.json === true;
  const stdout = new TextEncoder();
  const write = (s: string) => void Deno.stdout.writeSync(stdout.encode(s));
  let printed = json ? "" : tokenizer!.decode(prompt, { skipSpecialTokens: true });
  if (!json) write(printed);
  const result = await model.generate({
    prompt,
    tokenizer,
    maxNewTokens,
    temperature,
    topK,
    topP,
    seed,
    stopAtEos: values["ignore-eos"] !== true,
    cache: values["no-cache"] !== true,
    onToken: json ? undefined : (t: GeneratedToken) => {
      write(t.text);
      printed += t.text;
    },
  });
  const text = result.text ?? "";
  if (json) {
    console.log(JSON.stringify({ ids: result.ids, text }));
    return 0;
  }
  // a last piece held back (an incomplete character at the end) comes now
  write(`${text.startsWith(printed) ? text.slice(printed.length) : ""}\n`);
  console.log(`ids: ${result.ids.join(",")}`);
  return 0;
}

/**
 * `--ids 1,403,…` as token ids.
 *
 * @throws {UsageError} naming the flag, for anything but comma-separated non-negative integers
 */
function parseIds(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const ids = parts.map(Number);
  const bad = parts.findIndex((s, i) => s === "" || !Number.isInteger(ids[i]) || ids[i]! < 0);
  if (bad >= 0) {
    throw new UsageError(`--ids must be comma-separated token ids (1,403,…), got "${parts[bad]}" in "${value}"`);
  }
  return ids;
}
