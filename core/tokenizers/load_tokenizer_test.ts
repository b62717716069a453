import { deepStrictEqual, match, notDeepStrictEqual, rejects, strictEqual, throws } from "node:assert";
import { memoryFiles } from "../checkpoint/files.ts";
import { countMismatches, fixtureFiles, readFixture, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { parseMergesText } from "./bpe_model.ts";
import { parseVocabJson } from "./gpt2_bpe.ts";
import { loadTokenizer } from "./load_tokenizer.ts";
import { TokenizerInputError } from "./pipeline_tokenizer.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("loadTokenizer() reads the fixture checkpoints and matches their goldens", async () => {
  const bert = await loadTokenizer(fixtureFiles("models/bert-tiny-random"), "wordpiece");
  strictEqual(countMismatches(bert, await readGolden("tokenize.bert-base-uncased.jsonl"), "load bert"), 0);
  const gpt2 = await loadTokenizer(fixtureFiles("models/gpt2-tiny-random"), "gpt2-bpe");
  strictEqual(countMismatches(gpt2, await readGolden("tokenize.gpt2.jsonl"), "load gpt2"), 0);
  const gpt = await loadTokenizer(fixtureFiles("models/openai-gpt-tiny-random"), "openai-gpt-bpe");
  strictEqual(gpt.kind, "bpe");
  strictEqual(countMismatches(gpt, await readGolden("tokenize.openai-gpt-tiny-random.jsonl"), "load openai-gpt"), 0);
});

Deno.test("loadTokenizer() falls back to vocab files and honours do_lower_case", async () => {
  const vocab = enc(await readFixture("vocab/bert-base-uncased/vocab.txt"));
  const lower = await loadTokenizer(memoryFiles({ "vocab.txt": vocab }), "wordpiece");
  strictEqual(lower.encode("Hello").tokens.join(" "), "[CLS] hello [SEP]");
  const cased = await loadTokenizer(
    memoryFiles({ "vocab.txt": vocab, "tokenizer_config.json": enc('{"do_lower_case": false}') }),
    "wordpiece",
  );
  strictEqual(cased.encode("Hello").tokens.join(" "), "[CLS] [UNK] [SEP]");
  const gpt2 = await loadTokenizer(
    memoryFiles({
      "vocab.json": enc(await readFixture("vocab/gpt2/vocab.json")),
      "merges.txt": enc(await readFixture("vocab/gpt2/merges.txt")),
    }),
    "gpt2-bpe",
  );
  strictEqual(gpt2.encode("Hello world").ids.join(), "15496,995");
});

Deno.test("loadTokenizer() names the location and file that is missing", async () => {
  await rejects(
    () => loadTokenizer(memoryFiles({}, "hub:someone/bert"), "wordpiece"),
    /"vocab.txt" is missing in "hub:someone\/bert"/,
  );
  await rejects(
    () => loadTokenizer(memoryFiles({ "vocab.json": enc("{}") }, "mem"), "gpt2-bpe"),
    /"merges.txt" is missing in "mem"/,
  );
  await rejects(
    () => loadTokenizer(memoryFiles({}, "mem"), "sentencepiece" as "wordpiece"),
    /Unknown tokenizer kind "sentencepiece"/,
  );
});

Deno.test("loadTokenizer() tokenizers refuse text, rather than encode it to nothing, when vocab.json lacks its characters", async () => {
  // The file pair: a nearly empty vocab.json and a merges.txt with nothing usable; "ids": [] before.
  const gpt2 = await loadTokenizer(
    memoryFiles({ "vocab.json": enc('{"<|endoftext|>": 0}'), "merges.txt": enc("#version: 0.2\n") }),
    "gpt2-bpe",
  );
  throws(() => gpt2.encode("hello"), /BPE vocabulary has no token for "h" \(U\+0068\) and no unknown token/);
  // Special tokens alone still encode.
  deepStrictEqual(gpt2.encode("<|endoftext|>").ids, [0]);
});

Deno.test("loadTokenizer() tokenizers of every family refuse lone surrogates with TokenizerInputError", async () => {
  for (
    const [dir, modelType] of [["bert-tiny-random", "wordpiece"], ["gpt2-tiny-random", "gpt2-bpe"], [
      "openai-gpt-tiny-random",
      "openai-gpt-bpe",
    ]] as const
  ) {
    const tok = await loadTokenizer(fixtureFiles(`models/${dir}`), modelType);
    throws(
      () => tok.encode("ab\ud800c"),
      (e: unknown) =>
        e instanceof TokenizerInputError &&
        /^Cannot tokenize the text: it holds a lone surrogate U\+D800 at index 2, which is not Unicode text/.test(
          e.message,
        ),
    );
    throws(
      () => tok.encode("ok", "\udc00"),
      /Cannot tokenize the text pair: it holds a lone surrogate U\+DC00 at index 0/,
    );
    throws(() => tok.encode("\ud83d", undefined, { addSpecialTokens: false }), TokenizerInputError);
    // A proper pair (an emoji) and its well-formed replacement are fine.
    strictEqual(tok.encode("\ud83d\ude00").ids.length > 0, true);
    deepStrictEqual(tok.encode("ab\ud800c".toWellFormed()).ids, tok.encode("ab\ufffdc").ids);
  }
});

Deno.test("vocabulary-file parsers quote long input as short excerpts", () => {
  const messages = [
    () => parseMergesText(`#version: 0.2\n${"m".repeat(200_000)}\n`),
    () => parseVocabJson(JSON.stringify({ ["t".repeat(200_000)]: "x" })),
    () => parseVocabJson(`{"a": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`),
    () => parseVocabJson("{" + "x".repeat(200_000)),
  ].map((run) => {
    try {
      run();
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  });
  match(messages[0]!, /Merges line 2 is "m{200}… \(200000 characters\)", expected two tokens/);
  match(messages[1]!, /"vocab.json" maps "t{200}… \(200000 characters\)" to "x", expected a non-negative integer id/);
  match(messages[2]!, /"vocab.json" maps "a" to \[\[\[…1 items\]\]\], expected/);
  match(messages[3]!, /"vocab.json" is not valid JSON/);
  for (const message of messages) strictEqual(message.length < 400, true, `message of ${message.length} characters`);
});

/** A copy of a family fixture folder without its tokenizer.json (the vocabulary files alone). */
async function withoutTokenizerJson(name: string): Promise<ReturnType<typeof memoryFiles>> {
  const dir = fixtureFiles(`families/models/${name}`);
  const entries: Record<string, Uint8Array> = {};
  for (const f of Deno.readDirSync(dir.location)) {
    if (f.isFile && f.name !== "tokenizer.json" && !f.name.endsWith(".safetensors")) {
      entries[f.name] = (await dir.read(f.name))!;
    }
  }
  return memoryFiles(entries, `${name} without tokenizer.json`);
}

interface SpmOnlyDisagreement {
  text: string;
  golden_tokens: string[];
  spm_only_tokens: string[];
}

Deno.test("loadTokenizer() reads sentencepiece-only ALBERT and XLM-R folders as transformers does (goldens, and the manifest's documented difference)", async () => {
  const manifest = JSON.parse(await readFixture("families/MANIFEST.sentencepiece.json"));
  for (
    const [name, kind] of [
      ["albert-spm-tiny-random", "albert-sentencepiece"],
      ["xlm-roberta-spm-tiny-random", "roberta-vocab"],
      ["xlm-roberta-spm-tiny-random", "xlm-roberta-sentencepiece"],
    ] as const
  ) {
    const files = await withoutTokenizerJson(name);
    strictEqual(await files.read("tokenizer.json"), undefined);
    const tok = await loadTokenizer(files, kind);
    strictEqual(tok.kind, "unigram");
    const documented: SpmOnlyDisagreement[] = manifest.models[name].spm_only_folder_disagreements;
    const differs = new Set(documented.map((d) => d.text));
    const lines = await readGolden(`families/tokenize.${name}.jsonl`);
    strictEqual(countMismatches(tok, lines.filter((l) => !differs.has(l.text)), `${name} (${kind})`), 0);
    for (const d of documented) {
      // The sentencepiece-only folder's <mask> is a plain added token: what transformers itself gives there.
      deepStrictEqual(tok.encode(d.text).tokens, d.spm_only_tokens);
      notDeepStrictEqual(d.spm_only_tokens, d.golden_tokens);
    }
    strictEqual(documented.length, name.startsWith("xlm") ? 1 : 0);
  }
});

Deno.test("loadTokenizer() builds RoBERTa's tokenizer from vocab.json + merges.txt alone", async () => {
  const tok = await loadTokenizer(await withoutTokenizerJson("roberta-tiny-random"), "roberta-vocab");
  strictEqual(countMismatches(tok, await readGolden("families/tokenize.roberta-tiny-random.jsonl"), "roberta"), 0);
});

Deno.test("loadTokenizer() loads every family fixture folder through its tokenizer.json", async () => {
  for (
    const name of [
      "roberta-tiny-random",
      "distilbert-tiny-random",
      "electra-tiny-random",
      "albert-tiny-random",
      "albert-spm-tiny-random",
      "xlm-roberta-spm-tiny-random",
    ]
  ) {
    const tok = await loadTokenizer(fixtureFiles(`families/models/${name}`), "wordpiece");
    strictEqual(countMismatches(tok, await readGolden(`families/tokenize.${name}.jsonl`), `load ${name}`), 0);
  }
});

Deno.test("loadTokenizer() names the sentencepiece file that is missing or broken", async () => {
  await rejects(
    () => loadTokenizer(memoryFiles({}, "mem"), "albert-sentencepiece"),
    /"spiece.model" is missing in "mem", expected it \(or "tokenizer.json"\) for a ALBERT sentencepiece/,
  );
  await rejects(
    () => loadTokenizer(memoryFiles({ "spiece.model": enc("\x0a\x7fhello") }, "mem"), "albert-sentencepiece"),
    /Sentencepiece model "mem\/spiece.model" is not a valid ModelProto: a field of 127 bytes with 5 left/,
  );
});
