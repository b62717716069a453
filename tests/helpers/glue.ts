/**
 * Test helpers: small GLUE folders written on the fly.
 *
 * @module
 */

import { join } from "node:path";

/**
 * A tiny SST-2 folder under `dir` (train and dev TSVs of short word lists, labels alternating): enough for the
 * budget mode, which samples the train split and scores the dev split.
 *
 * @param dir the folder to hold `SST-2/`
 * @param sizes train and dev rows
 * @returns `dir`
 */
export function tinySst2(dir: string, sizes = { train: 40, dev: 12 }): string {
  const words = ["good", "bad", "fine", "awful", "great", "dull", "fun", "sad", "nice", "poor"];
  const rows = (n: number, off: number) =>
    Array.from({ length: n }, (_, i) => {
      const w = Array.from({ length: 2 + ((i + off) % 5) }, (_, k) => words[(i * 3 + k + off) % words.length]);
      return `${w.join(" ")}\t${(i + off) % 2}`;
    });
  Deno.mkdirSync(join(dir, "SST-2"), { recursive: true });
  Deno.writeTextFileSync(
    join(dir, "SST-2", "train.tsv"),
    ["sentence\tlabel", ...rows(sizes.train, 0)].join("\n") + "\n",
  );
  Deno.writeTextFileSync(join(dir, "SST-2", "dev.tsv"), ["sentence\tlabel", ...rows(sizes.dev, 7)].join("\n") + "\n");
  return dir;
}
