/**
 * Test helper: runs the `bertology` CLI in-process with stdout and stderr captured.
 *
 * @module
 */

import { main } from "@bertology/cli";

/** Runs `bertology …args` and returns its exit code and output. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}
