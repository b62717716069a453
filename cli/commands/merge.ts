/**
 * `bertology merge DIR… --output-dir OUT`: combines the partial results of a sharded study (`heads`,
 * `attention-stats`, `syntax`, … run with `--shard I/N`) into the files one run of the command writes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { openOutputFolder } from "@bertology/core/checkpoint/deno";
import { checkShardSet, parsePartial, PARTIAL_FILE, SHARD_FOLDER, type ShardFile } from "@bertology/core/studies";
import { UsageError } from "../_common.ts";
import { HEADS_MERGE_OUTPUTS, mergeHeadsShards } from "./heads.ts";
import { ATTENTION_STATS_OUTPUTS, mergeAttentionStatsShards } from "./attention_stats.ts";
import { checkSyntaxShards, mergeSyntaxShards, SYNTAX_OUTPUTS } from "./syntax.ts";
import { mergeProbeShards, PROBE_OUTPUTS } from "./probe.ts";

/** Help text. */
export const MERGE_HELP = `bertology merge DIR… --output-dir OUT [--force] [--json]
  Combines the shards of one sharded study into the files a single run of its command writes (equal to them
  within 1e-6: the shards keep float64 sums and counts, merge adds them and divides once). Each DIR is a
  shard's folder (holding partial.json) or a folder of them (OUT of the sharded command: shard-0-of-N/ …).
  Refused, with the reason: shards of different runs (another command line, model or data), of different
  studies or rounds, a shard given twice, a missing shard. A masking round (heads --try-masking --round K)
  merges into masking_rounds.json, which round K + 1 reads; the last round also writes head_mask.npy and
  report.json.
  Studies: heads (head_importance.npy, attn_entropy.npy, report.json), heads-masking (+ head_mask.npy,
  masking_rounds.json), attention-stats (attention_stats.json), syntax (syntax.json), probe (probe.json: the
  shards' word features, joined, train the probes).
  --output-dir OUT    where the files go; created if missing; a non-empty OUT bertology did not write is
                      refused unless --force (which never replaces a file it did not write)`;

/** Each study's merge: the files it may write, and how. */
const MERGERS: Record<
  string,
  {
    outputs: readonly string[];
    merge: (
      shards: ShardFile[],
      log: (s: string) => void,
    ) => Record<string, Uint8Array | string> | Promise<Record<string, Uint8Array | string>>;
    /** Refuses, in the study's own words, shards that must not be merged (before the generic set checks). */
    check?: (shards: ShardFile[]) => void;
  }
> = {
  heads: { outputs: HEADS_MERGE_OUTPUTS, merge: mergeHeadsShards },
  "heads-masking": { outputs: HEADS_MERGE_OUTPUTS, merge: mergeHeadsShards },
  "attention-stats": { outputs: ATTENTION_STATS_OUTPUTS, merge: mergeAttentionStatsShards },
  syntax: { outputs: SYNTAX_OUTPUTS, merge: mergeSyntaxShards, check: checkSyntaxShards },
  probe: { outputs: PROBE_OUTPUTS, merge: mergeProbeShards },
};

/** The partial-results files under `dir`: its own, or those of its `shard-I-of-N` folders. */
export async function partialFiles(dir: string): Promise<string[]> {
  const own = join(dir, PARTIAL_FILE);
  try {
    if ((await Deno.stat(own)).isFile) return [own];
  } catch { /* not a shard folder itself */ }
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && SHARD_FOLDER.test(e.name)) {
        const f = join(dir, e.name, PARTIAL_FILE);
        try {
          if ((await Deno.stat(f)).isFile) found.push(f);
        } catch { /* a shard still running, or killed: reported as missing by the set check */ }
      }
    }
  } catch (e) {
    throw new Error(`Cannot read ${dir}: ${(e as Error).message}`);
  }
  if (found.length === 0) {
    throw new Error(`${dir} holds no partial results (no ${PARTIAL_FILE}, no shard-I-of-N folder with one)`);
  }
  return found.sort();
}

/** Runs the command; returns the exit code. */
export async function mergeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "output-dir": { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals: dirs } = parsed;
  if (dirs.length === 0) throw new UsageError("name the shards' folders: bertology merge DIR… --output-dir OUT");
  const outDir = values["output-dir"];
  if (!outDir) throw new UsageError("--output-dir is required");
  const log = (s: string) => values.json ? console.error(s) : console.log(s);
  const files = (await Promise.all(dirs.map(partialFiles))).flat();
  const shards: ShardFile[] = [];
  for (const file of files) shards.push({ file, partial: parsePartial(await Deno.readTextFile(file), file) });
  const study0 = shards[0]?.partial.study ?? "";
  if (shards.every((s) => s.partial.study === study0)) MERGERS[study0]?.check?.(shards);
  const ordered = checkShardSet(shards);
  const study = ordered[0]!.partial.study;
  const merger = MERGERS[study];
  if (!merger) {
    throw new Error(`${ordered[0]!.file} is a "${study}" study, which this bertology cannot merge`);
  }
  const round = ordered[0]!.partial.round;
  log(`${study}${round !== undefined ? ` round ${round}` : ""}: ${ordered.length} shards`);
  const written = await merger.merge(ordered, log);
  const out = await openOutputFolder(outDir, merger.outputs, {
    force: values.force,
    sources: dirs,
    flag: "--output-dir",
  });
  for (const [name, bytes] of Object.entries(written)) await out.write(name, bytes);
  log(`wrote ${Object.keys(written).map((n) => join(outDir, n)).join(", ")}`);
  if (values.json) console.log(JSON.stringify({ study, round, shards: ordered.length, files: Object.keys(written) }));
  return 0;
}
