/**
 * Benchmarks: `deno task bench`. Each section is an async function that prints its own table.
 *
 * @module
 */
import { benchMatmul } from "./matmul_bench.ts";

const SECTIONS: [string, () => Promise<unknown>][] = [
  ["matmul", benchMatmul],
];

for (const [name, run] of SECTIONS) {
  console.log(`\n## ${name}`);
  await run();
}
