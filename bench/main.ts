/**
 * Benchmarks: `deno task bench`. Each section is an async function that prints its own table.
 *
 * @module
 */
import { benchBert } from "./bert_bench.ts";
import { benchMatmul } from "./matmul_bench.ts";

const SECTIONS: [string, () => Promise<unknown>][] = [
  ["matmul", benchMatmul],
  ["bert-base", benchBert],
];

for (const [name, run] of SECTIONS) {
  console.log(`\n## ${name}`);
  await run();
}
