import { rejects, strictEqual } from "node:assert";
import { memoryFiles } from "../checkpoint/files.ts";
import { countMismatches, fixtureFiles, readFixture, readGolden } from "./_testing.ts";
import { loadTokenizer } from "./load_tokenizer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("loadTokenizer() reads the fixture checkpoints and matches their goldens", async () => {
  const bert = await loadTokenizer(fixtureFiles("models/bert-tiny-random"), { model_type: "bert" });
  strictEqual(countMismatches(bert, await readGolden("tokenize.bert-base-uncased.jsonl"), "load bert"), 0);
  const gpt2 = await loadTokenizer(fixtureFiles("models/gpt2-tiny-random"), { model_type: "gpt2" });
  strictEqual(countMismatches(gpt2, await readGolden("tokenize.gpt2.jsonl"), "load gpt2"), 0);
  const gpt = await loadTokenizer(fixtureFiles("models/openai-gpt-tiny-random"), { model_type: "openai-gpt" });
  strictEqual(gpt.kind, "openai-gpt-bpe");
  strictEqual(countMismatches(gpt, await readGolden("tokenize.openai-gpt-tiny-random.jsonl"), "load openai-gpt"), 0);
});

Deno.test("loadTokenizer() falls back to vocab files and honours do_lower_case", async () => {
  const vocab = enc(await readFixture("vocab/bert-base-uncased/vocab.txt"));
  const lower = await loadTokenizer(memoryFiles({ "vocab.txt": vocab }), { model_type: "bert" });
  strictEqual(lower.encode("Hello").tokens.join(" "), "[CLS] hello [SEP]");
  const cased = await loadTokenizer(
    memoryFiles({ "vocab.txt": vocab, "tokenizer_config.json": enc('{"do_lower_case": false}') }),
    { model_type: "bert" },
  );
  strictEqual(cased.encode("Hello").tokens.join(" "), "[CLS] [UNK] [SEP]");
  const gpt2 = await loadTokenizer(
    memoryFiles({
      "vocab.json": enc(await readFixture("vocab/gpt2/vocab.json")),
      "merges.txt": enc(await readFixture("vocab/gpt2/merges.txt")),
    }),
    { model_type: "gpt2" },
  );
  strictEqual(gpt2.encode("Hello world").ids.join(), "15496,995");
});

Deno.test("loadTokenizer() names the location and file that is missing", async () => {
  await rejects(
    () => loadTokenizer(memoryFiles({}, "hub:someone/bert"), { model_type: "bert" }),
    /"vocab.txt" is missing in "hub:someone\/bert"/,
  );
  await rejects(
    () => loadTokenizer(memoryFiles({ "vocab.json": enc("{}") }, "mem"), { model_type: "gpt2" }),
    /"merges.txt" is missing in "mem"/,
  );
  await rejects(() => loadTokenizer(memoryFiles({}, "mem"), { model_type: "t5" }), /model_type "t5"/);
});
