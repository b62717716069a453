import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { existsSync } from "node:fs";
import { localFiles } from "../checkpoint/local_files.ts";
import { loadModel } from "../models/load.ts";
import { modelTypes } from "../models/registry.ts";
import type { TransformerModel } from "../models/model.ts";
import { familyModel, fixtureModel } from "../../tests/helpers/goldens.ts";
import { generate } from "./generate.ts";
import { candidates } from "./sampling.ts";

/**
 * Every causal-LM fixture whose family is registered: GPT-2 and OpenAI GPT, and the decoder families' tiny
 * random models (Llama, Qwen2, GPT-NeoX, GPT-Neo) as their families arrive — the same test, no family named.
 */
function causalFixtures(): string[] {
  const dirs = [fixtureModel("gpt2-tiny-random"), fixtureModel("openai-gpt-tiny-random"), "models/gpt2-sst2"];
  const families = ["llama", "qwen2", "gpt-neox", "gpt-neo"].map((n) => familyModel(`${n}-tiny-random`));
  for (const dir of families) {
    const type = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`)).model_type;
    if (modelTypes().includes(type)) dirs.push(dir);
  }
  return dirs;
}

async function open(dir: string): Promise<TransformerModel> {
  return (await loadModel(localFiles(dir), { tokenizer: false })).model;
}

for (const dir of causalFixtures()) {
  Deno.test(`generate() with the KV cache equals full recomputation on ${dir}: logits within 1e-4, same greedy ids`, async () => {
    const model = await open(dir);
    const V = model.config.vocabSize;
    const prompt = [3, 17, 250 % V, 9, 41].map((id) => id % V);
    const steps = Math.min(24, model.config.maxPositions - prompt.length + 1);
    ok(steps >= 20, `${dir}: room for only ${steps} steps`);
    const req = { prompt, maxNewTokens: steps, stopAtEos: false, keepLogits: true };
    const cached = await generate(model, req);
    const full = await generate(model, { ...req, cache: false });
    deepStrictEqual(cached.ids, full.ids);
    strictEqual(cached.ids.length, prompt.length + steps);
    deepStrictEqual(cached.ids.slice(0, prompt.length), prompt);
    let worst = 0;
    for (let s = 0; s < steps; s++) {
      const a = cached.logits![s]!, b = full.logits![s]!;
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    ok(worst <= 1e-4, `${dir}: max |cached − full| logit = ${worst}`);
    // sampling walks the same path with and without the cache too
    const sample = { ...req, temperature: 1, topK: 20, seed: 5, keepLogits: false };
    deepStrictEqual((await generate(model, sample)).ids, (await generate(model, { ...sample, cache: false })).ids);
  });
}

Deno.test("model.run() with a KV cache: the last token's logits and pattern equal a run of the whole sequence", async () => {
  const model = await open(fixtureModel("gpt2-tiny-random"));
  const ids = [5, 901, 77, 12, 3000, 8];
  const whole = model.run({
    batch: { batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) },
    names: ["logits", "blocks.1.attn.hook_pattern", "blocks.2.hook_resid_post"],
  });
  const cache = model.createKvCache({ capacity: ids.length });
  try {
    model.run({ batch: { batchSize: 1, seqLen: 4, inputIds: Int32Array.from(ids.slice(0, 4)) }, kvCache: cache });
    strictEqual(cache.length, 4);
    const step = model.run({
      batch: { batchSize: 1, seqLen: 2, inputIds: Int32Array.from(ids.slice(4)) },
      kvCache: cache,
      names: ["blocks.1.attn.hook_pattern", "blocks.2.hook_resid_post"],
      lastLogits: true,
    });
    strictEqual(cache.length, 6);
    const V = model.config.vocabSize, T = ids.length, H = model.config.heads;
    deepStrictEqual(step.logits!.shape, [1, V]);
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      strictEqual(a.length, b.length, what);
      for (let i = 0; i < a.length; i++) ok(Math.abs(a[i]! - b[i]!) <= 1e-5, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
    };
    close(step.logits!.data, whole.logits!.data.subarray((T - 1) * V), "logits");
    // the step's pattern is the whole run's last two query rows: [1, H, 2, 6]
    const pattern = step.cache.get("blocks.1.attn.hook_pattern")!;
    deepStrictEqual(pattern.shape, [1, H, 2, T]);
    const all = whole.cache.get("blocks.1.attn.hook_pattern")!.data;
    for (let h = 0; h < H; h++) {
      close(
        pattern.data.subarray(h * 2 * T, (h + 1) * 2 * T),
        all.subarray((h * T + 4) * T, (h * T + 6) * T),
        `head ${h}`,
      );
    }
    const C = model.config.hidden;
    close(
      step.cache.get("blocks.2.hook_resid_post")!.data,
      whole.cache.get("blocks.2.hook_resid_post")!.data.subarray(4 * C),
      "resid",
    );
    // a full cache takes no more tokens
    throws(
      () => model.run({ batch: { batchSize: 1, seqLen: 1, inputIds: Int32Array.from([1]) }, kvCache: cache }),
      /pass its capacity \(6\)/,
    );
    throws(
      () =>
        model.run({
          batch: { batchSize: 1, seqLen: 1, inputIds: Int32Array.from([1]) },
          kvCache: cache,
          names: ["hook_head_mask_grad"],
          labels: "lm",
        }),
      /forward passes only/,
    );
  } finally {
    cache.dispose();
  }
  throws(() => cache.layer(0), /after dispose/);
});

Deno.test("generate() samples reproducibly from a seed, and different seeds differ", async () => {
  const model = await open("models/gpt2-sst2");
  const req = { prompt: [464, 2646, 318], maxNewTokens: 12, temperature: 1.2, seed: 42, stopAtEos: false };
  const a = await generate(model, req), b = await generate(model, req);
  deepStrictEqual(a.ids, b.ids);
  // model.generate() runs concurrent calls one after another (each holds a KV cache)
  const others = await Promise.all([1, 2, 3].map((seed) => model.generate({ ...req, seed })));
  ok(others.some((o) => o.ids.join() !== a.ids.join()), "three other seeds all gave the same tokens");
});

Deno.test("generate() draws only among the top-k and the top-p tokens of each step", async () => {
  const model = await open("models/gpt2-sst2");
  for (const limits of [{ topK: 3 }, { topP: 0.5 }, { topK: 5, topP: 0.8 }]) {
    for (let seed = 0; seed < 4; seed++) {
      const out = await generate(model, {
        prompt: [464, 2646],
        maxNewTokens: 8,
        temperature: 1.5,
        seed,
        stopAtEos: false,
        keepLogits: true,
        ...limits,
      });
      out.logits!.forEach((logits, s) => {
        const id = out.ids[out.promptLength + s]!;
        const allowed = candidates(logits, { temperature: 1.5, ...limits }).ids;
        ok(allowed.includes(id), `${JSON.stringify(limits)} seed ${seed} step ${s}: ${id} not in [${allowed}]`);
        if (limits.topK !== undefined) {
          const above = Array.from(logits).filter((l) => l > logits[id]!).length;
          ok(above < limits.topK, `step ${s}: ${above} logits above the drawn token's, top-k ${limits.topK}`);
        }
      });
    }
  }
});

Deno.test("candidates() keeps the top-k (ties at the k-th) and the smallest top-p set, renormalised", () => {
  const logits = Float32Array.from([0.1, 0.4, 0.3, 0.2].map(Math.log));
  const p = candidates(logits, { temperature: 1, topP: 0.7 });
  deepStrictEqual(p.ids, [1, 2]);
  ok(Math.abs(p.probs[0]! - 4 / 7) < 1e-6 && Math.abs(p.probs[1]! - 3 / 7) < 1e-6, `${p.probs}`);
  deepStrictEqual(candidates(logits, { temperature: 1, topP: 0.71 }).ids, [1, 2, 3]);
  deepStrictEqual(candidates(Float32Array.from([1, 2, 2, 0]), { temperature: 1, topK: 2 }).ids, [1, 2]);
  deepStrictEqual(candidates(Float32Array.from([1, 2, 1, 0]), { temperature: 1, topK: 2 }).ids, [1, 0, 2]);
  // a low temperature sharpens: the top token takes nearly everything
  ok(candidates(logits, { temperature: 0.05 }).probs[0]! > 0.99);
});

Deno.test("generate() stops at the model's end-of-sequence id unless told not to", async () => {
  const model = await open(fixtureModel("gpt2-tiny-random"));
  const greedy = await generate(model, { prompt: [10, 20, 30], maxNewTokens: 6, stopAtEos: false });
  const first = greedy.ids[3]!;
  // make the first greedy token the end of sequence: generation stops right after it
  const stopped = await generate(model, { prompt: [10, 20, 30], maxNewTokens: 6, eosTokenIds: [first] });
  deepStrictEqual([stopped.ids, stopped.stop], [[10, 20, 30, first], "eos"]);
  strictEqual(greedy.stop, "max_new_tokens");
  deepStrictEqual(model.generationDefaults.eosTokenIds, [50256]);
  const seen: number[] = [];
  await generate(model, {
    prompt: [10, 20, 30],
    maxNewTokens: 6,
    stopAtEos: false,
    onToken: (t) => void seen.push(t.id),
  });
  deepStrictEqual(seen, greedy.ids.slice(3));
});

Deno.test("generate() refuses bad options, naming them, and an encoder model", async () => {
  const model = await open(fixtureModel("gpt2-tiny-random"));
  await rejects(generate(model, { prompt: [] }), /prompt: give at least one token id/);
  await rejects(generate(model, { prompt: [50257] }), /id 50257 \(position 0\) is outside the vocabulary/);
  await rejects(generate(model, { prompt: "hi" }), /needs the model's tokenizer/);
  await rejects(generate(model, { prompt: [1], maxNewTokens: 0 }), /maxNewTokens must be a positive integer/);
  await rejects(generate(model, { prompt: [1, 2], maxNewTokens: 64 }), /at most 63 new tokens/);
  await rejects(generate(model, { prompt: [1], temperature: -1 }), /temperature must be/);
  await rejects(generate(model, { prompt: [1], temperature: 1, topP: 0 }), /topP must be in \(0, 1\]/);
  await rejects(generate(model, { prompt: [1], temperature: 1, topK: 1.5 }), /topK must be an integer/);
  const bert = await open(fixtureModel("bert-tiny-random"));
  await rejects(generate(bert, { prompt: [1, 2] }), /generate needs a causal language model; this BERT/);
});

Deno.test("model.generate() continues a text prompt and streams its text piece by piece", async () => {
  const { model, tokenizer } = await loadModel(localFiles("models/gpt2-sst2"));
  let streamed = "";
  const out = await model.generate({
    prompt: "the film is",
    tokenizer,
    maxNewTokens: 10,
    stopAtEos: false,
    onToken: (t) => void (streamed += t.text),
  });
  strictEqual(out.text, tokenizer!.decode(out.ids, { skipSpecialTokens: true }));
  strictEqual(`the film is${streamed}`, out.text);
  ok(out.ids.length === tokenizer!.encode("the film is").ids.length + 10);
});

// stories260K (llama2.c, via the Llama family): greedy from BOS equals llama2.c's documented 200 tokens
const STORIES = "models/stories260k";
Deno.test({
  name: "generate() on stories260K reproduces llama2.c's greedy continuation, with and without the cache",
  ignore: !existsSync(`${STORIES}/config.json`), // bundled with the Llama family
  fn: async () => {
    const expected = JSON.parse(Deno.readTextFileSync(`${STORIES}/generation.json`));
    const { model, tokenizer } = await loadModel(localFiles(STORIES));
    for (const cache of [true, false]) {
      const out = await model.generate({ prompt: [1], tokenizer, maxNewTokens: 200, stopAtEos: false, cache });
      deepStrictEqual(out.ids, expected.ids, `cache ${cache}`);
      strictEqual(out.text, expected.text);
    }
  },
});
