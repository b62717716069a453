/**
 * Benchmarks: `deno task bench`. Each section is an async function that prints its own table.
 *
 * @module
 */
import { benchBert } from "./bert_bench.ts";
import { benchMatmul } from "./matmul_bench.ts";
import { benchMemory } from "./memory_bench.ts";

// bert-base first: its onnxruntime-web runs in workers, and a worker's onnxruntime-web never finishes loading once
// this thread has started its own (measured with Deno 2.9.6 and onnxruntime-web 1.30); the other order works
const SECTIONS: [string, () => Promise<unknown>][] = [
  ["bert-base", benchBert],
  ["matmul", benchMatmul],
  ["memory", () => benchMemory()],
];

for (const [name, run] of SECTIONS) {
  console.log(`\n## ${name}`);
  await run();
}
