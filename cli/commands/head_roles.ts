/**
 * `bertology head-roles --model DIR [--ids FILE.json | --repeat-len 40 --rows 20 --seed S]`: previous-token,
 * duplicate-token and induction scores of every head on rows of BOS + r + r (core `analysis/head_roles.ts`), and
 * for a language model the next-token loss on the first and the second repeat.
 *
 * @module
 */

import { headRoles, repeatedTokenRows } from "@bertology/core/analysis";
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
  `bertology head-roles --model DIR [--ids FILE.json | --repeat-len 40 --rows 20 --seed 0] [--json] [--offline]
                     [--dtype f32|f16]
  Head roles on repeated random tokens (the induction-head literature; TransformerLens's detectors): rows of
  BOS + r + r, r a seeded sequence of --repeat-len random non-special tokens, and per head the mean attention over
  rows and over the query positions t of the second repeat on the previous token A[t, t−1] (previous-token
  heads), on the same token one repeat earlier A[t, t−len] (duplicate-token heads) and on the token after it
  A[t, t−len+1] (induction heads). A language model also gets its mean next-token loss on the first repeat
  (nothing to copy) and on the second (in-context copying). BOS is the token the tokenizer's template starts a
  sequence with, else the config's bos_token_id (or eos_token_id); special tokens are never drawn.
  --ids FILE.json takes the exact rows instead: a JSON list of lists of token ids, each BOS + r + r.
  --json prints {"previous_token", "duplicate_token", "induction"} (each [layers][heads], null for a pruned head),
  "loss_first_repeat", "loss_second_repeat" (language models), "repeat_len", "rows".`;

/** Runs the command; returns the exit code. */
export async function headRolesCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    ids: { type: "string" },
    "repeat-len": { type: "string" },
    rows: { type: "string" },
    seed: { type: "string" },
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
    const raw = model.config.raw;
    const ids = (k: string) => (Number.isInteger(raw[k]) ? [raw[k] as number] : []);
    const template = tokenizer ? tokenizer.encode("").ids : [];
    const bos = template[0] ?? ids("bos_token_id")[0] ?? ids("eos_token_id")[0];
    if (bos === undefined) {
      throw new Error(
        `${modelDir}: no BOS token (no template, no bos_token_id or eos_token_id in config.json): pass --ids`,
      );
    }
    const exclude = new Set([
      ...template,
      ...[
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "unk_token_id",
        "sep_token_id",
        "cls_token_id",
        "mask_token_id",
      ].flatMap(ids),
    ]);
    rows = repeatedTokenRows(model.config.vocabSize, {
      repeatLen,
      rows: count,
      seed: numberFlag(values.seed, "seed", 0, true),
      bos,
      exclude,
    });
  }
  const r = headRoles(model, rows);
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
  return 0;
}
