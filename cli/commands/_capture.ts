/**
 * Test helper: runs the CLI in-process with stdout and stderr captured (internal to the command tests).
 *
 * @module
 */

import { main } from "../main.ts";

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
