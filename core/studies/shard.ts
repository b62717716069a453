/**
 * Which part of a study one process runs: shard `index` of `count`, named by `--shard I/N`, or by a job
 * engine's own variables — a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with `--shards N`) or a Slurm
 * array (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`, `SLURM_ARRAY_TASK_COUNT`). A study splits its units
 * (the batches a single run would make, in the single run's order) round-robin: unit `u` belongs to shard
 * `u mod count`, so every shard makes the same batches as the single run and their sums add up to its sums.
 *
 * @module
 */

/** One shard of a study: `index` from 0 to `count` − 1. */
export interface Shard {
  /** This process's part, 0 … count − 1. */
  index: number;
  /** How many parts the study is split into. */
  count: number;
}

/** A shard that cannot be worked out from the flags and the environment; the message says why. */
export class ShardSpecError extends Error {}

/** The most shards a study may be split into (a bound on a typo, not on the machinery). */
export const MAX_SHARDS = 100_000;

/**
 * Parses `I/N` (`--shard 2/4`).
 *
 * @param text The flag's value.
 * @param flag The flag, for the message.
 * @returns The shard.
 * @throws {ShardSpecError} unless I and N are integers with 0 ≤ I < N ≤ {@linkcode MAX_SHARDS}
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { parseShard } from "./shard.ts";
 * deepStrictEqual(parseShard("2/4"), { index: 2, count: 4 });
 * ```
 */
export function parseShard(text: string, flag = "--shard"): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ShardSpecError(`${flag} must be I/N (shard I of N, I from 0 to N − 1), got "${text}"`);
  return checkShard(Number(m[1]), Number(m[2]), flag);
}

function checkShard(index: number, count: number, source: string): Shard {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ShardSpecError(`${source}: the shard count must be an integer from 1 to ${MAX_SHARDS}, got ${count}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new ShardSpecError(`${source}: the shard index must be an integer from 0 to ${count - 1}, got ${index}`);
  }
  return { index, count };
}

/** Where the shard may come from: the two flags, and the environment. */
export interface ShardSources {
  /** `--shard I/N`. */
  shard?: string | undefined;
  /** `--shards N` (the index from the job engine's variable), or `auto` (N from Slurm's count too). */
  shards?: string | undefined;
  /** Reads an environment variable (`Deno.env.get`); absent: nothing is read. */
  env?: ((name: string) => string | undefined) | undefined;
}

/**
 * Works out the shard of this process, or `undefined` for an unsharded run. `--shard I/N` names it; `--shards N`
 * reads the index from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) or `SLURM_ARRAY_TASK_ID` minus
 * `SLURM_ARRAY_TASK_MIN` (a Slurm array, whose count `SLURM_ARRAY_TASK_COUNT` must then be N); `--shards auto`
 * takes N from `SLURM_ARRAY_TASK_COUNT` as well. The variables alone never shard a run: a command that happens
 * to run inside a job is not split unless asked.
 *
 * @param sources The flags and the environment.
 * @returns The shard, or undefined when neither flag is given.
 * @throws {ShardSpecError} for both flags, a malformed value, a missing or out-of-range index, or a Slurm
 *   count that disagrees with N
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { resolveShard } from "./shard.ts";
 * const env = (name: string) => ({ JOB_COMPLETION_INDEX: "3" } as Record<string, string>)[name];
 * deepStrictEqual(resolveShard({ shards: "4", env }), { index: 3, count: 4 });
 * ```
 */
export function resolveShard(sources: ShardSources): Shard | undefined {
  const { shard, shards } = sources;
  if (shard !== undefined && shards !== undefined) {
    throw new ShardSpecError("give either --shard I/N or --shards N (the index from the job engine), not both");
  }
  if (shard !== undefined) return parseShard(shard);
  if (shards === undefined) return undefined;
  const env = sources.env ?? (() => undefined);
  const int = (name: string) => {
    const v = env(name);
    if (v === undefined || v === "") return undefined;
    if (!/^\d+$/.test(v.trim())) throw new ShardSpecError(`${name} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const k8s = int("JOB_COMPLETION_INDEX");
  const slurmId = int("SLURM_ARRAY_TASK_ID");
  const slurmCount = int("SLURM_ARRAY_TASK_COUNT");
  const slurmIndex = slurmId === undefined ? undefined : slurmId - (int("SLURM_ARRAY_TASK_MIN") ?? 0);
  let count: number;
  if (shards === "auto") {
    if (slurmCount === undefined) {
      throw new ShardSpecError(
        "--shards auto takes the count from SLURM_ARRAY_TASK_COUNT, which is not set: give --shards N (or --shard I/N)",
      );
    }
    count = slurmCount;
  } else {
    if (!/^\d+$/.test(shards)) throw new ShardSpecError(`--shards must be a positive integer or auto, got "${shards}"`);
    count = Number(shards);
  }
  if (k8s !== undefined && slurmIndex !== undefined && k8s !== slurmIndex) {
    throw new ShardSpecError(
      `JOB_COMPLETION_INDEX (${k8s}) and SLURM_ARRAY_TASK_ID (shard ${slurmIndex}) disagree: unset one of them`,
    );
  }
  if (k8s === undefined && slurmIndex !== undefined && slurmCount !== undefined && slurmCount !== count) {
    throw new ShardSpecError(
      `--shards ${count} but this Slurm array has ${slurmCount} tasks (SLURM_ARRAY_TASK_COUNT): submit it with ` +
        `--array=0-${count - 1} or pass --shards ${slurmCount}`,
    );
  }
  const index = k8s ?? slurmIndex;
  if (index === undefined) {
    throw new ShardSpecError(
      `--shards ${count} reads the shard index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or ` +
        `SLURM_ARRAY_TASK_ID (a Slurm array), and neither is set: give --shard I/${count} instead`,
    );
  }
  return checkShard(index, count, k8s !== undefined ? "JOB_COMPLETION_INDEX" : "SLURM_ARRAY_TASK_ID");
}

/**
 * The folder name of a shard's partial results, `shard-I-of-N` (what `bertology merge` looks for).
 *
 * @param shard The shard.
 * @returns Its folder name.
 * @example Usage
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { shardFolderName } from "./shard.ts";
 * strictEqual(shardFolderName({ index: 0, count: 4 }), "shard-0-of-4");
 * ```
 */
export function shardFolderName(shard: Shard): string {
  return `shard-${shard.index}-of-${shard.count}`;
}

/** Matches a {@linkcode shardFolderName}. */
export const SHARD_FOLDER = /^shard-(\d+)-of-(\d+)$/;

/**
 * The units of a study that belong to a shard, round-robin (unit u to shard u mod count), with their
 * positions in the whole list; every unit when `shard` is undefined.
 *
 * @param units Every unit of the study, in the single run's order.
 * @param shard The shard, or undefined for all.
 * @returns The shard's units and their indices in `units`.
 * @example Usage
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { shardUnits } from "./shard.ts";
 * deepStrictEqual(shardUnits(["a", "b", "c", "d", "e"], { index: 1, count: 2 }).indices, [1, 3]);
 * ```
 */
export function shardUnits<T>(units: readonly T[], shard: Shard | undefined): { items: T[]; indices: number[] } {
  const items: T[] = [], indices: number[] = [];
  units.forEach((u, i) => {
    if (shard === undefined || i % shard.count === shard.index) {
      items.push(u);
      indices.push(i);
    }
  });
  return { items, indices };
}
