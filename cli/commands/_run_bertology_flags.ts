/**
 * HF `run_bertology.py`'s flag spellings for `bertology heads`, so a command copied from HF's docs runs:
 * the underscore names become ours, and flags that only steer PyTorch (device, seed, caches) are accepted
 * and dropped with a note, since nothing here depends on them.
 *
 * @module
 */

import { UsageError } from "../_common.ts";

/** HF's flag → ours (a flag HF spells like us apart from `_` is listed too, so every HF name is known). */
export const RUN_BERTOLOGY_ALIASES: Readonly<Record<string, string>> = {
  data_dir: "data-dir",
  model_name_or_path: "model",
  task_name: "task",
  output_dir: "output-dir",
  max_seq_length: "max-seq-length",
  batch_size: "batch-size",
  data_subset: "data-subset",
  try_masking: "try-masking",
  masking_threshold: "masking-threshold",
  masking_amount: "masking-amount",
  metric_name: "metric-name",
  dont_normalize_importance_by_layer: "dont-normalize-importance-by-layer",
  dont_normalize_global_importance: "dont-normalize-global-importance",
  // HF refuses a non-empty output folder without it; ours asks for --force in the same case
  overwrite_output_dir: "force",
};

/**
 * HF flags with no effect here (whether they take a value): CUDA and distributed settings, the seed (importance
 * and masking are deterministic), and HF's download and feature caches (models come from `--model`).
 */
const IGNORED: Readonly<Record<string, boolean>> = {
  cache_dir: true,
  seed: true,
  local_rank: true,
  server_ip: true,
  server_port: true,
  no_cuda: false,
  overwrite_cache: false,
};

/** HF flags that would change what is computed, which `heads` cannot honour: the reason to give. */
const REFUSED: Readonly<Record<string, string>> = {
  config_name: "put the config.json to use in the --model folder",
  tokenizer_name: "put the tokenizer files to use in the --model folder",
};

/**
 * Rewrites HF `run_bertology.py` spellings in `args` to `heads`' own (`--data_dir X` → `--data-dir X`,
 * `--task_name=sst-2` → `--task=sst-2`), drops the flags that have no effect here, and leaves every other
 * argument as it is.
 *
 * @param args the command's arguments
 * @param note told about each dropped flag
 * @returns the arguments in `heads`' spelling
 * @throws {UsageError} for an HF flag that would change the result and cannot be honoured (`--config_name`,
 *   `--tokenizer_name`), or a dropped flag missing its value
 */
export function fromRunBertologyFlags(args: readonly string[], note: (s: string) => void = () => {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z_]+)(=.*)?$/.exec(arg);
    const name = m?.[1];
    if (m === null || name === undefined) {
      out.push(arg);
      continue;
    }
    const alias = RUN_BERTOLOGY_ALIASES[name];
    if (alias !== undefined) {
      out.push(`--${alias}${m[2] ?? ""}`);
      continue;
    }
    const reason = REFUSED[name];
    if (reason !== undefined) throw new UsageError(`--${name} (run_bertology.py) is not supported: ${reason}`);
    const takesValue = IGNORED[name];
    if (takesValue === undefined) {
      out.push(arg);
      continue;
    }
    if (takesValue && m[2] === undefined) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    note(`note: --${name} (run_bertology.py) has no effect here and is ignored`);
  }
  return out;
}
