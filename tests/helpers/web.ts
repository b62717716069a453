/**
 * Test helpers: the fixture models, loaded once per test file, and request builders.
 *
 * @module
 */

import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import type { AppOptions } from "../../web/app.ts";

/** The tiny random BERT classifier fixture. */
export const BERT_DIR: string = decodeURIComponent(
  new URL("../fixtures/models/bert-tiny-random", import.meta.url).pathname,
);
/** The embedded model the analyzer serves by default (trained on SST-2; see its MODEL_CARD.md). */
export const EMBEDDED_BERT_DIR: string = decodeURIComponent(
  new URL("../../models/bert-sst2", import.meta.url).pathname,
);
/** The tiny random GPT-2 fixture. */
export const GPT2_DIR: string = decodeURIComponent(
  new URL("../fixtures/models/gpt2-tiny-random", import.meta.url).pathname,
);

/**
 * Loads a fixture as app options.
 *
 * @param dir the model folder
 * @returns model and tokenizer
 */
export async function fixture(dir: string): Promise<AppOptions> {
  const { model, tokenizer } = await loadModel(localFiles(dir));
  return { model, tokenizer: tokenizer!, name: dir.split("/").pop()! };
}

/**
 * A JSON POST request.
 *
 * @param path the path
 * @param body the body (a string is sent as is)
 * @param headers extra headers
 * @returns the request
 */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
