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

const tinyWordPiece = (added: { id: number; content: string; lstrip?: boolean }[]) => ({
  model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hi": 3, "a": 4 } },
  normalizer: { type: "BertNormalizer", lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: { type: "BertProcessing", sep: ["[SEP]", 2], cls: ["[CLS]", 1] },
  added_tokens: added.map((t) => ({ special: true, normalized: false, ...t })),
});

Deno.test("tokenizerFromJson() takes added tokens with regex syntax in them (<my-token>) as plain text", () => {
  const tok = tokenizerFromJson(tinyWordPiece([{ id: 5, content: "<my-token>" }, { id: 6, content: "(a|b)\\" }]));
  deepStrictEqual(tok.encode("hi<my-token>a (a|b)\\").ids, [1, 3, 5, 4, 6, 2]);
});

Deno.test("tokenizerFromJson() loads 100,000 added tokens and encodes a 95 KB text with them", () => {
  const added = Array.from({ length: 100_000 }, (_, i) => ({ id: 5 + i, content: `<extra-${i}>` }));
  const tok = tokenizerFromJson(tinyWordPiece(added), { source: "big/tokenizer.json" });
  strictEqual(tok.vocabSize, 100_005);
  const unit = "hi a <extra-99999> hi<extra-0>";
  const text = unit.repeat(Math.ceil(95_000 / unit.length));
  const ids = tok.encode(text, undefined, { addSpecialTokens: false }).ids;
  strictEqual(ids.length, 5 * Math.ceil(95_000 / unit.length));
  deepStrictEqual(ids.slice(0, 5), [3, 4, 100_004, 3, 5]);
});

Deno.test("tokenizerFromJson() RoBERTa's lstrip <mask> takes a million spaces in linear time, offsets included", async () => {
  const tok = tokenizerFromJson(await readFixture("families/models/roberta-tiny-random/tokenizer.json"));
  const text = "a" + " ".repeat(1_000_000) + "<mask>";
  const e = tok.encode(text);
  deepStrictEqual(e.ids, [0, tok.tokenToId("a"), 4260, 2]);
  deepStrictEqual(e.offsets, [[0, 0], [0, 1], [1, text.length], [0, 0]]);
  // spaces the <mask> does not follow: a regex \s*<mask> retries from every space (300,000² steps)
  const far = tok.encode("a" + " ".repeat(300_000) + "b<mask>");
  deepStrictEqual(far.ids.slice(-3), [tok.tokenToId("Ġb"), 4260, 2]);
  deepStrictEqual(far.offsets.at(-2), [300_002, 300_008]);
});

Deno.test("tokenizerFromJson() normalizes 500,000 combining marks in linear time (BERT strips them)", () => {
  const tok = tokenizerFromJson(bertJson);
  const e = tok.encode("a" + "\u0316\u0301".repeat(500_000) + " b");
  deepStrictEqual(e.tokens, ["[CLS]", "a", "b", "[SEP]"]);
  deepStrictEqual(e.offsets[2], [1_000_002, 1_000_003]);
});

Deno.test("tokenizerFromJson() refuses added-token ids that are negative, not integers or beyond the vocabulary", () => {
  const src = { source: "models/x/tokenizer.json" };
  for (const id of [-5, 4_294_967_294, 4_194_303, 1.5]) {
    throws(
      () => tokenizerFromJson(tinyWordPiece([{ id, content: "<my-token>" }]), src),
      new RegExp(
        `"models/x/tokenizer.json" has ${String(id).replace(".", "\\.")} for added token "<my-token>", expected an ` +
          `integer from 0 to 5 \\(the model's 5 ids and 1 added tokens\\) at field "added_tokens\\[0\\].id"`,
      ),
    );
  }
  // the largest id the bound allows is fine
  strictEqual(tokenizerFromJson(tinyWordPiece([{ id: 5, content: "<my-token>" }])).vocabSize, 6);
  throws(
    () => tokenizerFromJson({ ...tinyWordPiece([]), model: { type: "WordPiece", vocab: { "[UNK]": -1 } } }, src),
    /has id -1, outside what a vocabulary of 1 tokens can use \(0 to 1\) at field "model.vocab\["\[UNK\]"\]"/,
  );
});

Deno.test("tokenizerFromJson() gives offsets in the original text for Unigram/Metaspace, RoBERTa and WordPiece", async () => {
  const load = async (name: string) => tokenizerFromJson(await readFixture(`families/models/${name}/tokenizer.json`));
  const spans = (tok: Awaited<ReturnType<typeof load>>, text: string, pair?: string) => {
    const e = tok.encode(text, pair);
    return e.tokens.map((t, i) => [t, ...e.offsets[i]!, e.sequenceIds[i]]);
  };
  // XLM-R: the prepended ▁ belongs to the word's first character; NFKC (Ａ → A) keeps the source range
  deepStrictEqual(spans(await load("xlm-roberta-spm-tiny-random"), "the  Ａ,", "a"), [
    ["<s>", 0, 0, null],
    ["▁the", 0, 3, 0],
    ["▁A", 5, 6, 0],
    [",", 6, 7, 0],
    ["</s>", 0, 0, null],
    ["</s>", 0, 0, null],
    ["▁a", 0, 1, 1],
    ["</s>", 0, 0, null],
  ]);
  // ALBERT: accents stripped after NFKD, lower-cased; "ö" still spans one original character
  deepStrictEqual(spans(await load("albert-spm-tiny-random"), "Wörld"), [
    ["[CLS]", 0, 0, null],
    ["▁world", 0, 5, 0],
    ["[SEP]", 0, 0, null],
  ]);
  // RoBERTa trims the Ġ off its offsets (trim_offsets), as HF does: " world" starts at "w"
  deepStrictEqual(spans(await load("roberta-tiny-random"), "Hello  world"), [
    ["<s>", 0, 0, null],
    ["H", 0, 1, 0],
    ["ell", 1, 4, 0],
    ["o", 4, 5, 0],
    ["Ġ", 6, 6, 0],
    ["Ġworld", 7, 12, 0],
    ["</s>", 0, 0, null],
  ]);
  deepStrictEqual(spans(await load("electra-tiny-random"), "un-Believable!"), [
    ["[CLS]", 0, 0, null],
    ["un", 0, 2, 0],
    ["-", 2, 3, 0],
    ["bel", 3, 6, 0],
    ["##ie", 6, 8, 0],
    ["##vable", 8, 13, 0],
    ["!", 13, 14, 0],
    ["[SEP]", 0, 0, null],
  ]);
});

Deno.test("tokenizerFromJson() names the field of a broken charsmap and of components nested too deep", () => {
  const src = { source: "models/x/tokenizer.json" };
  const base = tinyWordPiece([]);
  throws(
    () => tokenizerFromJson({ ...base, normalizer: { type: "Precompiled", precompiled_charsmap: "@@@" } }, src),
    /"models\/x\/tokenizer.json" has text that is not base64 at field "normalizer.precompiled_charsmap"/,
  );
  throws(
    () =>
      tokenizerFromJson(
        { ...base, normalizer: { type: "Precompiled", precompiled_charsmap: btoa("\xff\0\0\0") } },
        src,
      ),
    /a malformed charsmap \(Precompiled charsmap of "models\/x\/tokenizer.json" declares a trie of 255 bytes/,
  );
  let nested: Record<string, unknown> = { type: "Lowercase" };
  for (let i = 0; i < 100_000; i++) nested = { type: "Sequence", normalizers: [nested] };
  throws(
    () => tokenizerFromJson({ ...base, normalizer: nested }, src),
    /has components nested more than 64 deep at field "normalizer\.normalizers\[0\]\.normalizers\[0\]/,
  );
});
