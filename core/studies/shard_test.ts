import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseShard, resolveShard, shardFolderName, ShardSpecError, shardUnits } from "./shard.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("parseShard() reads I/N and refuses an index outside 0 … N − 1", () => {
  deepStrictEqual(parseShard("0/1"), { index: 0, count: 1 });
  deepStrictEqual(parseShard("3/4"), { index: 3, count: 4 });
  throws(() => parseShard("4/4"), /shard index must be an integer from 0 to 3, got 4/);
  throws(() => parseShard("1/0"), /shard count must be an integer from 1/);
  throws(() => parseShard("2"), /--shard must be I\/N/);
  throws(() => parseShard("-1/4"), ShardSpecError);
});

Deno.test("resolveShard() takes the index from a Kubernetes Indexed Job or a Slurm array, only when asked", () => {
  strictEqual(resolveShard({ env: envOf({ JOB_COMPLETION_INDEX: "2" }) }), undefined); // the variable alone
  deepStrictEqual(resolveShard({ shards: "4", env: envOf({ JOB_COMPLETION_INDEX: "2" }) }), { index: 2, count: 4 });
  deepStrictEqual(
    resolveShard({
      shards: "3",
      env: envOf({ SLURM_ARRAY_TASK_ID: "7", SLURM_ARRAY_TASK_MIN: "5", SLURM_ARRAY_TASK_COUNT: "3" }),
    }),
    { index: 2, count: 3 },
  );
  deepStrictEqual(
    resolveShard({ shards: "auto", env: envOf({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "5" }) }),
    { index: 1, count: 5 },
  );
  deepStrictEqual(resolveShard({ shard: "1/2", env: envOf({ JOB_COMPLETION_INDEX: "0" }) }), { index: 1, count: 2 });
});

Deno.test("resolveShard() refuses what cannot be one shard, saying why", () => {
  throws(() => resolveShard({ shards: "4", env: envOf({}) }), /neither is set: give --shard I\/4 instead/);
  throws(
    () => resolveShard({ shards: "4", env: envOf({ JOB_COMPLETION_INDEX: "4" }) }),
    /JOB_COMPLETION_INDEX: the shard index must be an integer from 0 to 3, got 4/,
  );
  throws(
    () => resolveShard({ shards: "4", env: envOf({ JOB_COMPLETION_INDEX: "x" }) }),
    /JOB_COMPLETION_INDEX must be a non-negative integer, got "x"/,
  );
  throws(
    () => resolveShard({ shards: "4", env: envOf({ SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "8" }) }),
    /--shards 4 but this Slurm array has 8 tasks/,
  );
  throws(
    () => resolveShard({ shards: "4", env: envOf({ JOB_COMPLETION_INDEX: "1", SLURM_ARRAY_TASK_ID: "2" }) }),
    /disagree/,
  );
  throws(
    () => resolveShard({ shards: "auto", env: envOf({ JOB_COMPLETION_INDEX: "1" }) }),
    /SLURM_ARRAY_TASK_COUNT, which is not set/,
  );
  throws(() => resolveShard({ shard: "0/2", shards: "2" }), /either --shard I\/N or --shards N/);
  throws(() => resolveShard({ shards: "four" }), /--shards must be a positive integer or auto/);
});

Deno.test("shardUnits() splits round-robin: the shards cover every unit exactly once", () => {
  const units = Array.from({ length: 11 }, (_, i) => `b${i}`);
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) seen.push(...shardUnits(units, { index: i, count: 4 }).indices);
  deepStrictEqual(seen.sort((a, b) => a - b), units.map((_, i) => i));
  deepStrictEqual(shardUnits(units, { index: 3, count: 4 }).items, ["b3", "b7"]);
  strictEqual(shardUnits(units, undefined).items.length, 11);
  strictEqual(shardFolderName({ index: 12, count: 100 }), "shard-12-of-100");
});
