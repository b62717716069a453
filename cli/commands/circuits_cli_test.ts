import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

const GPT2 = fixtureModel("gpt2-tiny-random"), BERT = fixtureModel("bert-tiny-random");
const PAIR = ["--clean", "The cat and the dog went to the", "--corrupted", "The cat and the bird went to the"];

Deno.test("bertology acdc --json → eap --circuit measures the same faithfulness; eap --json has the issue's shape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await cli("acdc", "--model", GPT2, ...PAIR, "--distractor", " cat", "--tau", "0.01", "--json");
    strictEqual(a.code, 0, a.err);
    const circuit = JSON.parse(a.out);
    strictEqual(circuit.edge_count, circuit.edges.length);
    deepStrictEqual(Object.keys(circuit.edges[0] ?? { from: 0, to: 0, path: 0 }), ["from", "to", "path"]);
    await Deno.writeTextFile(`${dir}/circuit.json`, a.out);
    const e = await cli(
      "eap",
      "--model",
      GPT2,
      ...PAIR,
      "--distractor",
      " cat",
      "--faithfulness",
      "--circuit",
      `${dir}/circuit.json`,
      "--json",
    );
    strictEqual(e.code, 0, e.err);
    const j = JSON.parse(e.out);
    deepStrictEqual(Object.keys(j), ["edges", "faithfulness"]);
    strictEqual(j.edges.length, 262);
    deepStrictEqual(Object.keys(j.edges[0]), ["from", "to", "path", "score"]);
    deepStrictEqual(j.faithfulness.map((f: { k: number }) => f.k), [5, 10, 20, 50, circuit.edge_count]);
    const given = j.faithfulness.at(-1);
    ok(Math.abs(given.value - circuit.faithfulness) < 1e-6, `${given.value} vs ${circuit.faithfulness}`);
    ok(Math.abs(given.m_circuit - circuit.m_circuit) < 1e-6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bertology path-patch --json: one effect per head, or one for the senders given", async () => {
  const all = await cli("path-patch", "--model", GPT2, ...PAIR, "--receivers", "logits", "--json");
  strictEqual(all.code, 0, all.err);
  const j = JSON.parse(all.out);
  strictEqual(j.effects.length, 12);
  const one = await cli(
    "path-patch",
    "--model",
    GPT2,
    ...PAIR,
    "--receivers",
    "logits",
    "--senders",
    "a2.h0",
    "--json",
  );
  strictEqual(one.code, 0, one.err);
  const k = JSON.parse(one.out);
  deepStrictEqual(k.effects[0].senders, ["a2.h0"]);
  ok(Math.abs(k.effects[0].m_patched - j.effects[8].m_patched) < 1e-6);
});

Deno.test("bertology eap refuses a post-norm encoder, unequal prompts and bad flags, saying why", async () => {
  const bert = await cli("eap", "--model", BERT, "--clean", "a gripping tale", "--corrupted", "a boring tale");
  strictEqual(bert.code, 1, bert.err);
  ok(/post-norm.*node-level methods/.test(bert.err), bert.err);
  const unequal = await cli("eap", "--model", GPT2, "--clean", "The cat", "--corrupted", "The cat sat");
  strictEqual(unequal.code, 2, unequal.err);
  ok(/same number of tokens/.test(unequal.err), unequal.err);
  const steps = await cli("eap", "--model", GPT2, ...PAIR, "--ig-steps", "0");
  strictEqual(steps.code, 2);
  ok(/--ig-steps must be at least 1/.test(steps.err), steps.err);
  const circuit = await cli("eap", "--model", GPT2, ...PAIR, "--circuit", "/nonexistent/c.json");
  strictEqual(circuit.code, 1);
  ok(/Cannot read \/nonexistent\/c.json/.test(circuit.err), circuit.err);
});
