import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { countMismatches, readFixture, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { Gpt2BpeTokenizer } from "./gpt2_bpe.ts";
import { tokenizerFromJson } from "./tokenizer_json.ts";
import { WordPieceTokenizer } from "./wordpiece.ts";

const bertJson = await readFixture("models/bert-tiny-random/tokenizer.json");
const gpt2Json = await readFixture("models/gpt2-tiny-random/tokenizer.json");

Deno.test("tokenizerFromJson() on bert-tiny-random matches the bert-base-uncased goldens and the vocab.txt path", async () => {
  // bert-tiny-random's tokenizer.json carries the bert-base-uncased vocabulary (30522 tokens, same ids)
  const tok = tokenizerFromJson(bertJson);
  const lines = await readGolden("tokenize.bert-base-uncased.jsonl");
  strictEqual(tok.kind, "wordpiece");
  strictEqual(tok.vocabSize, 30522);
  strictEqual(countMismatches(tok, lines, "bert tokenizer.json"), 0);
  const fromVocab = WordPieceTokenizer.fromVocabText(await readFixture("models/bert-tiny-random/vocab.txt"));
  for (const l of lines) deepStrictEqual(tok.encode(l.text, l.text_pair), fromVocab.encode(l.text, l.text_pair));
  strictEqual(tok.decode(tok.encode("It's fine.").ids), "[CLS] it's fine. [SEP]");
});

Deno.test("tokenizerFromJson() on gpt2-tiny-random matches the gpt2 goldens and the vocab.json path", async () => {
  // gpt2-tiny-random's tokenizer.json carries the full GPT-2 vocabulary and merges
  const tok = tokenizerFromJson(gpt2Json);
  const lines = await readGolden("tokenize.gpt2.jsonl");
  strictEqual(tok.kind, "byte-level-bpe");
  strictEqual(tok.vocabSize, 50257);
  strictEqual(countMismatches(tok, lines, "gpt2 tokenizer.json"), 0);
  const fromVocab = Gpt2BpeTokenizer.fromFiles(
    await readFixture("models/gpt2-tiny-random/vocab.json"),
    await readFixture("models/gpt2-tiny-random/merges.txt"),
  );
  for (const l of lines) deepStrictEqual(tok.encode(l.text), fromVocab.encode(l.text));
  strictEqual(tok.decode(tok.encode("héllo 😀").ids), "héllo 😀");
});

Deno.test("tokenizerFromJson() supports RobertaProcessing with a byte-level BPE", () => {
  const tok = tokenizerFromJson({
    added_tokens: [
      { id: 0, content: "<s>", special: true },
      { id: 1, content: "<pad>", special: true },
      { id: 2, content: "</s>", special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0] },
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", vocab: { "<s>": 0, "<pad>": 1, "</s>": 2, "a": 3, "Ġ": 4, "Ġa": 5 }, merges: ["Ġ a"] },
  });
  const e = tok.encode("a a", "a");
  deepStrictEqual(e.ids, [0, 3, 5, 2, 2, 3, 2]);
  deepStrictEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0]);
  strictEqual(tok.padId, 1);
  strictEqual(tok.decode(e.ids, { skipSpecialTokens: true }), "a aa");
});

Deno.test("tokenizerFromJson() supports Sequence normalizers and Whitespace pre-tokenizers", () => {
  const tok = tokenizerFromJson({
    normalizer: { type: "Sequence", normalizers: [{ type: "NFD" }, { type: "Lowercase" }, { type: "StripAccents" }] },
    pre_tokenizer: { type: "Whitespace" },
    model: { type: "WordPiece", vocab: { "[UNK]": 0, "cafe": 1, "!": 2 } },
  });
  deepStrictEqual(tok.encode("CAFÉ!").ids, [1, 2]);
});

Deno.test("tokenizerFromJson() names the file and field of unsupported components", () => {
  const base = JSON.parse(bertJson);
  const src = { source: "models/x/tokenizer.json" };
  throws(
    () => tokenizerFromJson({ ...base, normalizer: { type: "Nmt" } }, src),
    /"models\/x\/tokenizer.json" has unsupported type "Nmt" at field "normalizer.type"/,
  );
  throws(
    () => tokenizerFromJson({ ...base, pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits" }] } }, src),
    /unsupported type "Digits" at field "pre_tokenizer.pretokenizers\[0\].type"/,
  );
  throws(() => tokenizerFromJson({ ...base, model: { type: "WordLevel" } }, src), /at field "model.type"/);
  throws(() => tokenizerFromJson({ ...base, decoder: { type: "CTC" } }, src), /at field "decoder.type"/);
  throws(() => tokenizerFromJson({ ...base, post_processor: { type: "Nope" } }, src), /at field "post_processor.type"/);
  throws(() => tokenizerFromJson("{not json", src), /"models\/x\/tokenizer.json" has invalid JSON/);
  throws(
    () => tokenizerFromJson({ model: { type: "BPE", vocab: { a: 0 }, merges: ["a b"] } }, src),
    /at field "model"/,
  );
});

Deno.test("tokenizerFromJson() quotes hostile values as short excerpts, without engine errors", () => {
  const base = JSON.parse(gpt2Json);
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, normalizer: { type: "t".repeat(200_000) } }, /unsupported type "t{60}… \(200000 characters\)"/],
    [{ ...base, normalizer: { type: deep } }, /unsupported type \[\[\[…1 items\]\]\] at field "normalizer.type"/],
    [
      { ...base, model: { ...base.model, merges: ["m".repeat(200_000)] } },
      /"m{60}… \(200000 characters\)" where "left right" was expected at field "model.merges\[0\]"/,
    ],
  ];
  for (const [json, message] of cases) {
    let error: Error | undefined;
    try {
      tokenizerFromJson(json, { source: "t.json" });
    } catch (e) {
      error = e as Error;
    }
    strictEqual(error instanceof Error, true);
    throws(() => {
      throw error;
    }, message);
    strictEqual(error!.message.length < 400, true, `message of ${error!.message.length} characters`);
  }
});

const FAMILY_TOKENIZERS = [
  "roberta-tiny-random",
  "distilbert-tiny-random",
  "electra-tiny-random",
  "albert-tiny-random",
  "albert-spm-tiny-random",
  "xlm-roberta-spm-tiny-random",
  "llama-tiny-random",
  "qwen2-tiny-random",
  "gpt-neox-tiny-random",
  "gpt-neo-tiny-random",
];

Deno.test("tokenizerFromJson() matches every golden line of the family fixtures (Unigram, Precompiled, Metaspace, byte fallback, Split)", async () => {
  for (const name of FAMILY_TOKENIZERS) {
    const tok = tokenizerFromJson(await readFixture(`families/models/${name}/tokenizer.json`), { source: name });
    strictEqual(countMismatches(tok, await readGolden(`families/tokenize.${name}.jsonl`), name), 0);
  }
});

Deno.test("tokenizerFromJson() reads the kind off the pipeline", async () => {
  const kinds: Record<string, string> = {};
  for (const name of ["roberta-tiny-random", "electra-tiny-random", "albert-spm-tiny-random", "llama-tiny-random"]) {
    kinds[name] = tokenizerFromJson(await readFixture(`families/models/${name}/tokenizer.json`)).kind;
  }
  deepStrictEqual(kinds, {
    "roberta-tiny-random": "byte-level-bpe",
    "electra-tiny-random": "wordpiece",
    "albert-spm-tiny-random": "unigram",
    "llama-tiny-random": "bpe",
  });
});

Deno.test("tokenizerFromJson() decodes Metaspace and byte-fallback pipelines back to the text", async () => {
  const xlmr = tokenizerFromJson(await readFixture("families/models/xlm-roberta-spm-tiny-random/tokenizer.json"));
  strictEqual(
    xlmr.decode(xlmr.encode("a charming and often affecting journey .").ids, { skipSpecialTokens: true }),
    "a charming and often affecting journey .",
  );
  const llama = tokenizerFromJson(await readFixture("families/models/llama-tiny-random/tokenizer.json"));
  // byte fallback spells characters the vocabulary lacks as <0xXX> pieces; the decoder puts the bytes back
  const text = "héllo 😀 wörld";
  const enc = llama.encode(text);
  strictEqual(enc.tokens.some((t) => /^<0x[0-9A-F]{2}>$/.test(t)), true);
  strictEqual(llama.decode(enc.ids, { skipSpecialTokens: true }), text);
});
