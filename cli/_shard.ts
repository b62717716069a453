/**
 * What the sharded commands share: the `--shard I/N` / `--shards N` flags (the index from a Kubernetes Indexed
 * Job or a Slurm array), the settings a shard's fingerprint covers, and writing a shard's partial results
 * atomically into its own folder `OUT/shard-I-of-N/` (so shards on many machines never write the same file,
 * and a restarted pod redoes only its own shard — or nothing, when its file is already there and matches).
 *
 * @module
 */

import { join } from "node:path";
import { openOutputFolder } from "@bertology/core/checkpoint/deno";
import {
  parsePartial,
  PARTIAL_FILE,
  type PartialResult,
  partialToJson,
  resolveShard,
  type Shard,
  shardFolderName,
  ShardSpecError,
} from "@bertology/core/studies";
import { UsageError } from "./_common.ts";

/** The sharding flags, for a command's `parseFlags` options. */
export const SHARD_FLAGS = {
  shard: { type: "string" },
  shards: { type: "string" },
} as const;

/** The help lines of the sharding flags. */
export const SHARD_HELP =
  `  --shard I/N         run shard I (0 … N − 1) of the study and write its partial results to OUT/shard-I-of-N/
                      (sums and counts; \`bertology merge\` combines the N folders into this command's files)
  --shards N|auto     the same, with I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID
                      (a Slurm array; auto: N from SLURM_ARRAY_TASK_COUNT). A shard whose partial.json is already
                      there from the same run is not run again`;

/**
 * The shard the flags (and the job engine's variables) name, or undefined for a whole run.
 *
 * @throws {UsageError} with the reason, when it cannot be worked out
 */
export function commandShard(values: { shard?: string | undefined; shards?: string | undefined }): Shard | undefined {
  try {
    return resolveShard({ shard: values.shard, shards: values.shards, env: (name) => Deno.env.get(name) });
  } catch (e) {
    if (e instanceof ShardSpecError) throw new UsageError(e.message);
    throw e;
  }
}

/** Flags that say where to write, how to print or which shard to run: they never change a shard's numbers. */
const NOT_SETTINGS = new Set(["shard", "shards", "round", "previous", "output-dir", "out", "force", "json", "offline"]);

/**
 * The settings a shard's fingerprint covers: every parsed flag but those in {@linkcode NOT_SETTINGS}.
 *
 * @param values The parsed flags.
 * @returns The settings.
 */
export function studySettings(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => !NOT_SETTINGS.has(k) && v !== undefined));
}

/**
 * Whether `folder` already holds this shard's partial results from the same run (same fingerprint, shard and
 * round): a restarted pod then has nothing left to do.
 */
export async function shardAlreadyDone(
  folder: string,
  expected: Pick<PartialResult, "fingerprint" | "shard" | "round">,
): Promise<boolean> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(folder, PARTIAL_FILE));
  } catch {
    return false;
  }
  try {
    const p = parsePartial(text, join(folder, PARTIAL_FILE));
    return p.fingerprint === expected.fingerprint && p.shard.index === expected.shard.index &&
      p.shard.count === expected.shard.count && p.round === expected.round;
  } catch {
    return false; // unreadable: run the shard again and replace it
  }
}

/**
 * The folder of a shard's partial results: `OUT/shard-I-of-N`, or `OUT/round-K/shard-I-of-N` for a round.
 */
export function shardFolder(outDir: string, shard: Shard, round?: number): string {
  return round === undefined
    ? join(outDir, shardFolderName(shard))
    : join(outDir, `round-${round}`, shardFolderName(shard));
}

/**
 * Writes a shard's partial results into its folder, atomically (a temporary file renamed into place, through
 * `openOutputFolder`): a shard killed midway leaves no `partial.json`, never half of one. Files too large for
 * JSON (a probe shard's word features) go beside it, each atomically and before it, so that a `partial.json`
 * in place means its files are too (it records their digests, which merge checks).
 *
 * @param folder The shard's folder ({@linkcode shardFolder}).
 * @param partial The partial results.
 * @param output The sources it must not overwrite and whether to force a foreign folder.
 * @param files Files written beside `partial.json`, by name.
 */
export async function writeShardPartial(
  folder: string,
  partial: PartialResult<unknown>,
  output: { sources: string[]; force?: boolean | undefined },
  files: Record<string, Uint8Array> = {},
): Promise<void> {
  const out = await openOutputFolder(folder, [...Object.keys(files), PARTIAL_FILE], {
    ...output,
    flag: "--output-dir",
  });
  for (const [name, bytes] of Object.entries(files)) await out.write(name, bytes);
  await out.write(PARTIAL_FILE, partialToJson(partial));
}
