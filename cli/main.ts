/**
 * The `bertology` command: `deno task cli <command> …`.
 *
 * @module
 */

import {
  BACKWARD_COMMANDS,
  clearStage,
  didYouMean,
  MEMORY_HELP,
  takeMemoryFlags,
  takeThreadsFlag,
  THREADS_HELP,
  UsageError,
  withCommandMemory,
  withCommandThreads,
} from "./_common.ts";
import { ATTRIBUTE_HELP, attributeCommand } from "./commands/attribute.ts";
import { LOGIT_LENS_HELP, logitLensCommand } from "./commands/logit_lens.ts";
import { HEAD_ROLES_HELP, headRolesCommand } from "./commands/head_roles.ts";
import { PATCH_HELP, patchCommand } from "./commands/patch.ts";
import {
  ACDC_HELP,
  acdcCommand,
  EAP_HELP,
  eapCommand,
  PATH_PATCH_HELP,
  pathPatchCommand,
} from "./commands/circuits.ts";
import { DLA_HELP, dlaCommand } from "./commands/dla.ts";
import { ATP_HELP, atpCommand } from "./commands/atp.ts";
import { COMPOSITION_HELP, compositionCommand } from "./commands/composition.ts";
import { ATTENTION_STATS_HELP, attentionStatsCommand } from "./commands/attention_stats.ts";
import { DUMP_HELP, dumpCommand } from "./commands/dump.ts";
import { EXPORT_HELP, exportCommand } from "./commands/export.ts";
import { GENERATE_HELP, generateCommand } from "./commands/generate.ts";
import { HEADS_HELP, headsCommand } from "./commands/heads.ts";
import { MERGE_HELP, mergeCommand } from "./commands/merge.ts";
import { PROBE_HELP, probeCommand } from "./commands/probe.ts";
import { PRUNE_HELP, pruneCommand } from "./commands/prune.ts";
import { SYNTAX_HELP, syntaxCommand } from "./commands/syntax.ts";
import { TOKENIZE_HELP, tokenizeCommand } from "./commands/tokenize.ts";
import { TRAIN_HELP, trainCommand } from "./commands/train.ts";

/** A sub-command: its runner and help text. */
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run: (args: string[]) => Promise<number>;
  /** The usage text printed for `--help` and usage errors. */
  help: string;
}

/** Every sub-command by name. */
export const COMMANDS: Record<string, Command> = {
  tokenize: { run: tokenizeCommand, help: TOKENIZE_HELP, summary: "text → token ids, exactly as HF's tokenizer" },
  dump: {
    run: dumpCommand,
    help: DUMP_HELP,
    summary: "logits, hidden states, attentions (and loss, gradients) of a batch → safetensors",
  },
  heads: {
    run: headsCommand,
    help: HEADS_HELP,
    summary: "head importance, attention entropy, iterative masking, pruning comparison (run_bertology.py)",
  },
  export: {
    run: exportCommand,
    help: EXPORT_HELP,
    summary: "a model (pruned too) → ONNX, every hook an output, head mask in",
  },
  prune: { run: pruneCommand, help: PRUNE_HELP, summary: "remove heads for real and save a smaller checkpoint" },
  train: {
    run: trainCommand,
    help: TRAIN_HELP,
    summary: "train or fine-tune a classifier or a GPT language model; --from continues any checkpoint",
  },
  attribute: {
    run: attributeCommand,
    help: ATTRIBUTE_HELP,
    summary: "token attributions: saliency, gradient × input, integrated gradients, attention rollout and flow",
  },
  patch: {
    run: patchCommand,
    help: PATCH_HELP,
    summary: "activation patching per head and MLP (clean vs corrupted input); zero and mean head ablation",
  },
  "path-patch": {
    run: pathPatchCommand,
    help: PATH_PATCH_HELP,
    summary: "path patching: senders' corrupted outputs fed only to given receivers (pre-norm models)",
  },
  eap: {
    run: eapCommand,
    help: EAP_HELP,
    summary: "edge attribution patching and EAP-IG on the residual graph; faithfulness of top-k or given circuits",
  },
  acdc: {
    run: acdcCommand,
    help: ACDC_HELP,
    summary: "ACDC: prune edges from the logits backwards while the KL divergence stays under --tau",
  },
  dla: {
    run: dlaCommand,
    help: DLA_HELP,
    summary: "direct logit attribution of every head, MLP and bias to logit[target] − logit[distractor]",
  },
  atp: {
    run: atpCommand,
    help: ATP_HELP,
    summary: "attribution patching of every head and MLP in one backward, beside exact activation patching",
  },
  composition: {
    run: compositionCommand,
    help: COMPOSITION_HELP,
    summary: "Q-, K- and V-composition scores between heads (TransformerLens's), with a random baseline",
  },
  "logit-lens": {
    run: logitLensCommand,
    help: LOGIT_LENS_HELP,
    summary: "a language model's top next tokens after every layer (final LayerNorm + unembedding)",
  },
  generate: {
    run: generateCommand,
    help: GENERATE_HELP,
    summary: "continue a prompt with a language model: greedy or seeded sampling, streamed, KV cache",
  },
  "head-roles": {
    run: headRolesCommand,
    help: HEAD_ROLES_HELP,
    summary: "previous-token, duplicate-token and induction heads on repeated random tokens; in-context copying loss",
  },
  "attention-stats": {
    run: attentionStatsCommand,
    help: ATTENTION_STATS_HELP,
    summary: "what each head attends to (self, next, prev, [CLS], [SEP], punctuation, entropy), head distances, MDS",
  },
  syntax: {
    run: syntaxCommand,
    help: SYNTAX_HELP,
    summary: "syntactic heads on a CoNLL-U treebank: best head per dependency relation vs a fixed-offset baseline",
  },
  merge: {
    run: mergeCommand,
    help: MERGE_HELP,
    summary: "combine the shards of a sharded study (--shard I/N) into the files one run writes",
  },
  probe: {
    run: probeCommand,
    help: PROBE_HELP,
    summary: "linear and scalar-mix probes per layer on CoNLL-U (UPOS, dependency labels): accuracy, Δ, E_Δ, E_s",
  },
};

const USAGE =
  `bertology — read every hidden state and attention head of BERT, GPT and GPT-2; score, mask and prune heads.

usage: bertology <command> [flags]     (--help after a command for its flags)

commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(15)} ${c.summary}`).join("\n")}

--model takes a folder in Hugging Face layout or a hub id (org/name@revision; HF_ENDPOINT, HF_TOKEN,
BERTOLOGY_CACHE, --offline or HF_HUB_OFFLINE=1, BERTOLOGY_HUB_*_TIMEOUT; the README's "cache" has more). Every command
also takes:
${THREADS_HELP}`;

/**
 * Runs the CLI with `args`; returns the exit code (0 ok, 1 error, 2 usage error).
 *
 * @example Usage
 * ```ts ignore
 * const code = await main(["tokenize", "--model", "models/bert-sst2", "--text", "hello"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = didYouMean(name, Object.keys(COMMANDS));
    console.error(`bertology: unknown command "${name}"${near ? `; did you mean "${near}"?` : ""}\n\n${USAGE}`);
    return 2;
  }
  const backward = BACKWARD_COMMANDS.has(name);
  const help = `${command.help}\n\nevery command:\n${THREADS_HELP}` +
    (backward ? `\n\ncommands that run backward passes:\n${MEMORY_HELP}` : "");
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(help);
    return 0;
  }
  try {
    const { args: threadArgs, threads } = takeThreadsFlag(rest);
    const { args: commandArgs, memory } = backward ? takeMemoryFlags(threadArgs) : { args: threadArgs, memory: {} };
    return await withCommandThreads(threads, () => withCommandMemory(memory, () => command.run(commandArgs)));
  } catch (e) {
    clearStage(); // a stage line a command left on the terminal
    if (e instanceof UsageError) {
      console.error(`bertology ${name}: ${e.message}\n\n${help}`);
      return 2;
    }
    console.error(`bertology ${name}: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
