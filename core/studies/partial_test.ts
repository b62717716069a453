import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  checkShardSet,
  decodeFloats,
  encodeFloats,
  makePartial,
  parsePartial,
  PARTIAL_VERSION,
  type PartialResult,
  partialToJson,
  type ShardFile,
} from "./partial.ts";

async function shardOf(index: number, count: number, over: Partial<PartialResult> = {}, settings = { task: "sst-2" }) {
  const covered = Array.from({ length: 8 }, (_, u) => u).filter((u) => u % count === index);
  const p = await makePartial({
    study: "heads",
    inputs: { settings, model: "m1", data: "d1" },
    shard: { index, count },
    units: { total: 8, covered },
    seconds: 1,
    context: {},
    sums: { x: encodeFloats([0.1 * index]) },
    ...over,
  });
  return { file: `out/shard-${index}-of-${count}/partial.json`, partial: p } as ShardFile;
}

Deno.test("encodeFloats() and decodeFloats() round-trip every float64 exactly, non-finite ones included", () => {
  const values = [0.1 + 0.2, 1 / 3, -0, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity, 123456789.123456789];
  const back = decodeFloats(JSON.parse(JSON.stringify(encodeFloats(values))), "t");
  values.forEach((v, i) => ok(Object.is(v, back[i]) || (v === 0 && back[i] === 0), `value ${i}: ${v} vs ${back[i]}`));
  throws(() => decodeFloats([1, "one"], "p.json sums.raw"), /p\.json sums\.raw\[1\] must be a number, got "one"/);
  throws(() => decodeFloats([1], "p.json sums.raw", 2), /has 1 values, expected 2/);
});

Deno.test("parsePartial() reads its own file and names the file and field of a bad one", async () => {
  const s = await shardOf(1, 4);
  deepStrictEqual(parsePartial(partialToJson(s.partial), s.file), s.partial);
  throws(() => parsePartial("{", "a.json"), /a\.json: not valid JSON/);
  throws(() => parsePartial('{"format":"x"}', "a.json"), /a\.json is not a bertology partial-results file/);
  const future = { ...s.partial, version: PARTIAL_VERSION + 1 };
  throws(
    () => parsePartial(JSON.stringify(future), "a.json"),
    /a\.json has partial-results version 2; this bertology reads version 1/,
  );
  const badShard = { ...s.partial, shard: { index: 4, count: 4 } };
  throws(() => parsePartial(JSON.stringify(badShard), "a.json"), /a\.json: field "shard" is missing or malformed/);
  const badUnits = { ...s.partial, units: { total: 8, covered: [9] } };
  throws(() => parsePartial(JSON.stringify(badUnits), "a.json"), /field "units"/);
});

Deno.test("checkShardSet() orders the N shards of one run and refuses any other set, with a sentence", async () => {
  const all = await Promise.all([2, 0, 3, 1].map((i) => shardOf(i, 4)));
  deepStrictEqual(checkShardSet(all).map((s) => s.partial.shard.index), [0, 1, 2, 3]);
  throws(() => checkShardSet(all.slice(0, 3)), /1 of the 4 shards is missing \(1\); run it \(--shard I\/4\)/);
  throws(() => checkShardSet([...all, all[0]!]), /Shard 2 of 4 is given twice/);
  const otherRun = await shardOf(1, 4, {}, { task: "mrpc" });
  throws(
    () => checkShardSet([all[0]!, all[1]!, all[2]!, otherRun]),
    /Refusing to merge out\/shard-1-of-4\/partial\.json with out\/shard-2-of-4\/partial\.json: they come from different runs \(--task is "mrpc" in one and "sst-2" in the other\)/,
  );
  const otherModel = await shardOf(1, 4, { inputs: { settings: { task: "sst-2" }, model: "m2", data: "d1" } });
  throws(() => checkShardSet([all[0]!, otherModel]), /different runs \(the model differs\)/);
  const otherCount = await shardOf(1, 2);
  throws(() => checkShardSet([all[1]!, otherCount]), /one was split into 2 shards, the other into 4/);
  const otherStudy = await shardOf(1, 4, { study: "syntax" });
  throws(() => checkShardSet([all[0]!, otherStudy]), /one is a "syntax" study, the other "heads"/);
  const overlap = await shardOf(1, 4, { units: { total: 8, covered: [1, 2] } });
  const [s2, s0, s3] = all;
  throws(() => checkShardSet([s0!, overlap, s2!, s3!]), /unit 2 was already run by another shard/);
  strictEqual(all[0]!.partial.fingerprint, (await shardOf(0, 4)).partial.fingerprint);
});
