/**
 * `bertology head-roles --model DIR [--ids FILE.json | --repeat-len 40 --rows 20 --seed S]`: previous-token,
 * duplicate-token and induction scores of every head on rows of BOS + r + r (core `analysis/head_roles.ts`), and
 * for a language model the next-token loss on the first and the second repeat; for an encoder, Clark et al.'s
 * attention sinks ([CLS], [SEP], punctuation).
 *
 * @module
 */

import {
  type AttentionInput,
  type AttentionSinks,
  attentionSinks,
  headRoles,
  repeatedRowTokens,
  repeatedTokenRows,
  separatorIds,
  tokenUnitFlags,
} from "@bertology/core/analysis";
import type { TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import {
  DTYPE_OPTION,
  dtypeFlag,
  formatTable,
  numberFlag,
  openModel,
  parseFlags,
  readJsonFile,
  required,
  UsageError,
} from "../_common.ts";

/** Help text. */
export const HEAD_ROLES_HELP =
  `bertology head-roles --model DIR [--ids FILE.json | --repeat-len 40 --rows 20 --seed 0] [--sink-text FILE]
                     [--json] [--offline] [--dtype f32|f16]
  Head roles on repeated random tokens (the induction-head literature; TransformerLens's detectors): rows of
  BOS + r + r, r a seeded sequence of --repeat-len random non-special tokens, and per head the mean attention over
  rows and over the query positions t of the second repeat on the previous token A[t, t−1] (previous-token
  heads), on the same token one repeat earlier A[t, t−len] (duplicate-token heads) and on the token after it
  A[t, t−len+1] (induction heads). A language model also gets its mean next-token loss on the first repeat
  (nothing to copy) and on the second (in-context copying). BOS is the token the tokenizer's template starts a
  sequence with, else the config's bos_token_id (or eos_token_id); special tokens are never drawn.
  --ids FILE.json takes the exact rows instead: a JSON list of lists of token ids, each BOS + r + r.
  An encoder (a tokenizer whose template closes text with a separator: [SEP], </s>) also gets its attention sinks,
  Clark et al. (2019)'s statistics as attention-stats computes them: per head the mean attention, over every
  (example, query) pair, on the first token ([CLS]), on the separators ([SEP]) and on "." and ",". They are
  measured on the rows closed with the template's separator ([CLS] r r [SEP]), where "." and "," are rare draws,
  or with --sink-text FILE on text: one example per line (a tab splits a pair), encoded with the template and cut
  to the model's length. A pruned model has no sinks (they compare every head).
  --json prints {"previous_token", "duplicate_token", "induction"} (each [layers][heads], null for a pruned head),
  "loss_first_repeat", "loss_second_repeat" (language models), "repeat_len", "rows", and for an encoder "sinks":
  {"cls", "sep", "punct" (each [layers][heads]), "examples", "inputs" (the rows, or the --sink-text file)}.`;

/** What the sinks were measured on, and the measurement. */
interface SinkReport extends AttentionSinks {
  /** "rows closed with …" or the --sink-text file. */
  inputs: string;
}

/**
 * Clark's attention sinks of an encoder, on the rows closed with the template's separator or on a text file;
 * undefined (with the reason) for a model without separators or with pruned heads.
 *
 * @throws {UsageError} for --sink-text on a model without separators; {Error} naming the file and line for bad text
 */
function encoderSinks(
  model: TransformerModel,
  tokenizer: Tokenizer | undefined,
  rows: readonly number[][],
  sinkText: string | undefined,
  modelDir: string,
): SinkReport | string {
  const separators = tokenizer ? separatorIds(tokenizer) : new Set<number>();
  if (tokenizer === undefined || separators.size === 0) {
    if (sinkText !== undefined) {
      throw new UsageError(
        `--sink-text: ${modelDir}'s tokenizer adds no separator token ([SEP]): attention sinks are an encoder's`,
      );
    }
    return "no separator token in the template: no attention sinks";
  }
  if (model.config.prunedHeads.some((p) => p.length > 0)) {
    return "attention sinks left out: they compare every head, and this model has pruned heads";
  }
  let inputs: AttentionInput[], what: string;
  const maxLength = model.config.maxPositions;
  if (sinkText === undefined) {
    const closing = tokenizer.encode("").ids.slice(1);
    inputs = rows.map((row) => ({ ids: [...row, ...closing] }));
    const long = inputs.find((x) => x.ids.length > maxLength);
    if (long !== undefined) {
      throw new UsageError(
        `A row closed with its separator has ${long.ids.length} tokens, more than the model's ${maxLength}: ` +
          `shorten --repeat-len, or measure the sinks on text with --sink-text FILE`,
      );
    }
    what = `the rows closed with ${tokenizer.decode(closing).trim() || "the template's end"}`;
  } else {
    let text: string;
    try {
      text = Deno.readTextFileSync(sinkText);
    } catch (e) {
      throw new Error(`Cannot read --sink-text ${sinkText}: ${(e as Error).message}`);
    }
    inputs = [];
    text.split(/\r?\n/).forEach((line) => {
      if (line.trim() === "") return;
      const [a, b, ...rest] = line.split("\t");
      if (rest.length > 0) throw new Error(`${sinkText}:${inputs.length + 1}: more than two tab-separated texts`);
      const e = tokenizer.encode(a!, b, { maxLength });
      inputs.push({ ids: e.ids, tokenTypeIds: e.tokenTypeIds });
    });
    if (inputs.length === 0) throw new Error(`${sinkText} holds no text (one example per line)`);
    what = sinkText;
  }
  const sinks = attentionSinks(model, inputs, inputs.map((x) => tokenUnitFlags(tokenizer, x.ids)), {
    padId: tokenizer.padId,
  });
  return { ...sinks, inputs: what };
}

/** Runs the command; returns the exit code. */
export async function headRolesCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    ids: { type: "string" },
    "repeat-len": { type: "string" },
    rows: { type: "string" },
    seed: { type: "string" },
    "sink-text": { type: "string" },
    json: { type: "boolean" },
    offline: { type: "boolean" },
    ...DTYPE_OPTION,
  });
  const modelDir = required(values.model, "model");
  const generated = ["repeat-len", "rows", "seed"].filter((f) => values[f as keyof typeof values] !== undefined);
  if (values.ids !== undefined && generated.length > 0) {
    throw new UsageError(`--ids gives the rows: --${generated[0]} is for generated rows`);
  }
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  let rows: number[][];
  if (values.ids !== undefined) {
    const v = readJsonFile(values.ids);
    if (!Array.isArray(v) || v.length === 0 || !v.every((r) => Array.isArray(r) && r.every(Number.isInteger))) {
      throw new Error(`${values.ids}: expected a non-empty JSON list of lists of token ids`);
    }
    rows = v as number[][];
    const bad = rows.flat().find((id) => id < 0 || id >= model.config.vocabSize);
    if (bad !== undefined) {
      throw new Error(`${values.ids}: token id ${bad} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
    }
  } else {
    const repeatLen = numberFlag(values["repeat-len"], "repeat-len", 40, true);
    const count = numberFlag(values.rows, "rows", 20, true);
    if (repeatLen < 1 || count < 1) throw new UsageError("--repeat-len and --rows must be positive integers");
    if (1 + 2 * repeatLen > model.config.maxPositions) {
      throw new UsageError(
        `--repeat-len ${repeatLen}: a row of ${
          1 + 2 * repeatLen
        } tokens is longer than the model's ${model.config.maxPositions}`,
      );
    }
    const special = repeatedRowTokens(model.config.raw, tokenizer);
    if (special === undefined) {
      throw new Error(
        `${modelDir}: no BOS token (no template, no bos_token_id or eos_token_id in config.json): pass --ids`,
      );
    }
    rows = repeatedTokenRows(model.config.vocabSize, {
      repeatLen,
      rows: count,
      seed: numberFlag(values.seed, "seed", 0, true),
      bos: special.bos,
      exclude: special.exclude,
    });
  }
  const r = headRoles(model, rows);
  const sinks = encoderSinks(model, tokenizer, rows, values["sink-text"], modelDir);
  const { layers: L, heads: H } = r;
  const grid = (a: Float64Array) =>
    Array.from(
      { length: L },
      (_, l) => Array.from(a.subarray(l * H, (l + 1) * H), (x) => (Number.isNaN(x) ? null : x)),
    );
  if (values.json) {
    console.log(JSON.stringify({
      previous_token: grid(r.previousToken),
      duplicate_token: grid(r.duplicateToken),
      induction: grid(r.induction),
      ...(r.lossFirstRepeat !== undefined
        ? { loss_first_repeat: r.lossFirstRepeat, loss_second_repeat: r.lossSecondRepeat }
        : {}),
      repeat_len: r.repeatLen,
      rows: r.rows,
      ...(typeof sinks === "object"
        ? {
          sinks: {
            cls: grid(sinks.cls),
            sep: grid(sinks.sep),
            punct: grid(sinks.punct),
            examples: sinks.examples,
            inputs: sinks.inputs,
          },
        }
        : {}),
    }));
    return 0;
  }
  console.log(
    `${r.rows} rows of BOS + r + r, len(r) = ${r.repeatLen}; mean attention over the second repeat's queries`,
  );
  console.log(formatTable("Previous-token score A[t, t-1]", r.previousToken, L, H, 3));
  console.log(formatTable("Duplicate-token score A[t, t-len]", r.duplicateToken, L, H, 3));
  console.log(formatTable("Induction score A[t, t-len+1]", r.induction, L, H, 3));
  const top = [...r.induction.keys()].filter((i) => !Number.isNaN(r.induction[i]!)).sort((a, b) =>
    r.induction[b]! - r.induction[a]!
  );
  console.log(
    `Top induction heads (layer.head): ${
      top.slice(0, 5).map((i) => `${Math.floor(i / H)}.${i % H} (${r.induction[i]!.toFixed(3)})`).join(", ")
    }`,
  );
  if (r.lossFirstRepeat !== undefined) {
    console.log(
      `Next-token loss: first repeat ${r.lossFirstRepeat.toFixed(3)} nats, second repeat ${
        r.lossSecondRepeat!.toFixed(3)
      } nats`,
    );
  }
  if (typeof sinks === "string") {
    if (!sinks.startsWith("no separator")) console.log(sinks);
    return 0;
  }
  console.log(`Attention sinks (Clark et al. 2019) over ${sinks.examples} examples: ${sinks.inputs}`);
  console.log(formatTable("Attention on [CLS] (the first token)", sinks.cls, L, H, 3));
  console.log(formatTable("Attention on [SEP] (the separators)", sinks.sep, L, H, 3));
  console.log(formatTable('Attention on "." and ","', sinks.punct, L, H, 3));
  for (const [what, a] of [["[CLS]", sinks.cls], ["[SEP]", sinks.sep], ["punctuation", sinks.punct]] as const) {
    const i = a.indexOf(Math.max(...a));
    console.log(`Most ${what}-focused head: ${Math.floor(i / H)}.${i % H} (${a[i]!.toFixed(3)})`);
  }
  return 0;
}
