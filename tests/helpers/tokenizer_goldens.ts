/**
 * Test helpers (Deno only; not exported by `mod.ts`): fixture paths and golden comparison.
 *
 * @module
 */

import type { ModelFiles } from "@bertology/core/checkpoint";
import type { Tokenizer } from "@bertology/core/tokenizers";

/** Absolute path of `tests/fixtures/` + `rel`. */
export function fixture(rel: string): string {
  return new URL(`../fixtures/${rel}`, import.meta.url).pathname;
}

/** Reads a fixture as text. */
export function readFixture(rel: string): Promise<string> {
  return Deno.readTextFile(fixture(rel));
}

/** A golden line of `tokenize.*.jsonl`. */
export interface GoldenLine {
  text: string;
  text_pair?: string;
  ids: number[];
  token_type_ids?: number[];
}

/** Parses a `tokenize.*.jsonl` fixture. */
export async function readGolden(rel: string): Promise<GoldenLine[]> {
  return (await readFixture(rel)).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/**
 * Encodes every golden line and returns the number of mismatches (ids, and segment ids for pairs); prints
 * the first few.
 */
export function countMismatches(tok: Tokenizer, lines: GoldenLine[], label: string): number {
  let bad = 0;
  for (const g of lines) {
    const e = tok.encode(g.text, g.text_pair);
    const idsOk = e.ids.length === g.ids.length && e.ids.every((v, i) => v === g.ids[i]);
    const ttOk = g.token_type_ids === undefined ||
      (e.tokenTypeIds.length === g.token_type_ids.length && e.tokenTypeIds.every((v, i) => v === g.token_type_ids![i]));
    if (idsOk && ttOk) continue;
    bad++;
    if (bad <= 5) {
      console.log(
        `${label} mismatch on ${JSON.stringify(g.text)}${
          g.text_pair === undefined ? "" : " / " + JSON.stringify(g.text_pair)
        }\n` +
          `  got  ${JSON.stringify(e.ids)} ${JSON.stringify(e.tokenTypeIds)}\n  want ${JSON.stringify(g.ids)} ${
            JSON.stringify(g.token_type_ids ?? [])
          }`,
      );
    }
  }
  console.log(`${label}: ${lines.length - bad}/${lines.length} golden lines match`);
  return bad;
}

/** A {@linkcode ModelFiles} over a fixture folder. */
export function fixtureFiles(rel: string): ModelFiles {
  const dir = fixture(rel);
  return {
    location: dir,
    async read(name: string) {
      try {
        return await Deno.readFile(`${dir}/${name}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
    },
  };
}
