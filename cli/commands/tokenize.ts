/**
 * `bertology tokenize --model DIR (--text STR [--text-pair STR] | --texts FILE.json)`: prints one JSON line per
 * text, `{"text", "ids"}` (pairs add `text_pair` and `token_type_ids`), exactly as HF's fast tokenizer.
 *
 * @module
 */

import { openTokenizer, parseFlags, readJsonFile, UsageError } from "../_common.ts";

/** Help text. */
export const TOKENIZE_HELP =
  `bertology tokenize --model DIR (--text STR [--text-pair STR] | --texts FILE.json) [--offline]
  Prints JSON lines {"text": …, "ids": […]} (pairs add "text_pair" and "token_type_ids").
  A texts file is a JSON array of strings.`;

/** Runs the command; returns the exit code. */
export async function tokenizeCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    model: { type: "string" },
    text: { type: "string" },
    "text-pair": { type: "string" },
    texts: { type: "string" },
    offline: { type: "boolean" },
  });
  if (!values.model) throw new UsageError("--model is required");
  if ((values.text === undefined) === (values.texts === undefined)) {
    throw new UsageError("give exactly one of --text or --texts");
  }
  if (values["text-pair"] !== undefined && values.text === undefined) throw new UsageError("--text-pair needs --text");
  let texts: string[];
  if (values.texts !== undefined) {
    const parsed = readJsonFile(values.texts);
    if (!Array.isArray(parsed) || parsed.some((t) => typeof t !== "string")) {
      throw new Error(`${values.texts}: expected a JSON array of strings`);
    }
    texts = parsed as string[];
  } else texts = [values.text!];
  const tokenizer = await openTokenizer(values.model, { offline: values.offline }); // never the weights
  const lines: string[] = [];
  for (const text of texts) {
    const pair = values["text-pair"];
    const e = tokenizer.encode(text, pair);
    lines.push(
      JSON.stringify(
        pair === undefined
          ? { text, ids: e.ids }
          : { text, text_pair: pair, ids: e.ids, token_type_ids: e.tokenTypeIds },
      ),
    );
  }
  console.log(lines.join("\n"));
  return 0;
}
