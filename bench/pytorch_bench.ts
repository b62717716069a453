/**
 * The PyTorch CPU reference, run in the same bench run when `--pytorch PYTHON` names a Python with torch and
 * transformers (never a CI or runtime dependency): `bench/pytorch_reference.py` times the same BERT-base shape
 * (forward batch 1 and the frozen-weight importance pass batch 8, seq 128, at 1 and 2 threads), and this section
 * prints ours against it from the figures the `bert-base` section measured.
 *
 * @module
 */
import type { Figures } from "./figures.ts";

/** What the reference measured (`pytorch` in the `--json` figures). */
export interface PytorchFigures {
  /** Median forward ms, batch 1, seq 128, by threads (`1t`, `2t`). */
  forward_ms: Record<string, number>;
  /** Importance-pass examples per second, batch 8, seq 128, by threads. */
  importance_examples_per_s: Record<string, number>;
  /** torch's version. */
  torch: string;
  /** transformers' version. */
  transformers: string;
}

const SCRIPT = new URL("./pytorch_reference.py", import.meta.url).pathname;

/**
 * Runs the reference script and prints ours (from `ours`, the figures so far) against it.
 *
 * @param python the Python to run it with
 * @param ours the figures of the sections before (the `bert-base` section's `forward_ms`, `importance_examples_per_s`)
 * @returns `{ pytorch }`
 * @throws {Error} with the script's output when it fails (torch or transformers missing)
 */
export async function benchPytorch(python: string, ours: Figures): Promise<{ pytorch: PytorchFigures }> {
  const { code, stdout, stderr } = await new Deno.Command(python, { args: [SCRIPT], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0) {
    throw new Error(`--pytorch: ${python} ${SCRIPT} failed (exit ${code}):\n${new TextDecoder().decode(stderr)}`);
  }
  const pytorch = JSON.parse(text.split("\n").pop()!) as PytorchFigures;
  const fwd = (ours.forward_ms ?? {}) as Record<string, number>;
  const imp = (ours.importance_examples_per_s ?? {}) as Record<string, number>;
  const line = (what: string, theirs: number | undefined, mine: number | undefined, unit: string, higher: boolean) =>
    `  ${what}: PyTorch ${theirs?.toFixed(unit === "ms" ? 0 : 2)} ${unit}` +
    (mine === undefined || theirs === undefined
      ? ""
      : `, ours ${mine.toFixed(unit === "ms" ? 0 : 2)} ${unit} → ours ${
        (higher ? mine / theirs : theirs / mine).toFixed(2)
      }× PyTorch's speed`);
  console.log(
    `PyTorch ${pytorch.torch} + transformers ${pytorch.transformers} CPU (native, this machine's vector width):\n` +
      [
        line("forward b1 s128, 1 thread", pytorch.forward_ms["1t"], fwd.ours_1t, "ms", false),
        line("forward b1 s128, 2 threads", pytorch.forward_ms["2t"], fwd.ours_2t, "ms", false),
        line("importance b8 s128, 1 thread", pytorch.importance_examples_per_s["1t"], imp.ours_1t, "ex/s", true),
        line("importance b8 s128, 2 threads", pytorch.importance_examples_per_s["2t"], imp.ours_2t, "ex/s", true),
        line(
          "target: ours 2 threads vs PyTorch 1 thread, importance",
          pytorch.importance_examples_per_s["1t"],
          imp.ours_2t,
          "ex/s",
          true,
        ),
      ].join("\n"),
  );
  return { pytorch };
}
