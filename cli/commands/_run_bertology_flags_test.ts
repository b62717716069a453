import { deepStrictEqual, throws } from "node:assert/strict";
import { UsageError } from "../_common.ts";
import { fromRunBertologyFlags } from "./_run_bertology_flags.ts";

Deno.test("fromRunBertologyFlags() renames HF's spellings, both --flag value and --flag=value", () => {
  deepStrictEqual(
    fromRunBertologyFlags([
      "--model_name_or_path",
      "m",
      "--task_name=sst-2",
      "--data_dir",
      "glue/SST-2",
      "--max_seq_length",
      "64",
      "--try_masking",
      "--masking_threshold=0.8",
      "--masking_amount",
      "0.2",
      "--dont_normalize_importance_by_layer",
      "--dont_normalize_global_importance",
      "--output_dir",
      "out",
      "--overwrite_output_dir",
    ]),
    [
      "--model",
      "m",
      "--task=sst-2",
      "--data-dir",
      "glue/SST-2",
      "--max-seq-length",
      "64",
      "--try-masking",
      "--masking-threshold=0.8",
      "--masking-amount",
      "0.2",
      "--dont-normalize-importance-by-layer",
      "--dont-normalize-global-importance",
      "--output-dir",
      "out",
      "--force",
    ],
  );
});

Deno.test("fromRunBertologyFlags() drops PyTorch-only flags with a note and keeps everything else", () => {
  const notes: string[] = [];
  const args = ["--cache_dir", "~/.cache", "--seed=42", "--no_cuda", "--batch-size", "8", "--json", "--weird_flag"];
  deepStrictEqual(fromRunBertologyFlags(args, (s) => notes.push(s)), ["--batch-size", "8", "--json", "--weird_flag"]);
  deepStrictEqual(notes.map((n) => n.split(" ")[1]), ["--cache_dir", "--seed", "--no_cuda"]);
  throws(
    () => fromRunBertologyFlags(["--seed"]),
    (e) => e instanceof UsageError && /--seed needs a value/.test(e.message),
  );
  throws(
    () => fromRunBertologyFlags(["--tokenizer_name", "bert-base-uncased"]),
    (e) => e instanceof UsageError && /--tokenizer_name .*not supported.*--model folder/.test(e.message),
  );
});
