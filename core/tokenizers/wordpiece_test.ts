import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { countMismatches, readFixture, readGolden } from "../../tests/helpers/tokenizer_goldens.ts";
import { WordPieceTokenizer } from "./wordpiece.ts";

const bert = WordPieceTokenizer.fromVocabText(await readFixture("vocab/bert-base-uncased/vocab.txt"));

Deno.test("WordPieceTokenizer matches every bert-base-uncased golden line, pairs included", async () => {
  const lines = await readGolden("tokenize.bert-base-uncased.jsonl");
  strictEqual(lines.filter((l) => l.text_pair !== undefined).length > 0, true);
  strictEqual(countMismatches(bert, lines, "bert-base-uncased"), 0);
});

Deno.test("WordPieceTokenizer.encode() of empty and whitespace-only text is [CLS] [SEP]", () => {
  deepStrictEqual(bert.encode("").ids, [101, 102]);
  deepStrictEqual(bert.encode(" \t\n\u00a0\u3000 ").ids, [101, 102]);
  deepStrictEqual(bert.encode("", "").tokenTypeIds, [0, 0, 1]);
});

Deno.test("WordPieceTokenizer.encode() removes control and format characters", () => {
  deepStrictEqual(bert.encode("he\u0000l\u0007lo\u200b\ufffd").tokens, ["[CLS]", "hello", "[SEP]"]);
  // \v and \f are controls (removed), \t \n \r are whitespace (split)
  deepStrictEqual(bert.encode("a\vb\fc\td").tokens, ["[CLS]", "abc", "d", "[SEP]"]);
});

Deno.test("WordPieceTokenizer.encode() splits CJK ideographs but not kana", () => {
  deepStrictEqual(bert.encode("中文のテ").tokens, ["[CLS]", "中", "文", "の", "##テ", "[SEP]"]);
});

Deno.test("WordPieceTokenizer.encode() lower-cases and strips accents (NFD, drop Mn)", () => {
  deepStrictEqual(bert.encode("CAFÉ Naïve").tokens, bert.encode("cafe naive").tokens);
  deepStrictEqual(bert.encode("e\u0301").tokens, ["[CLS]", "e", "[SEP]"]);
});

Deno.test("WordPieceTokenizer keeps accents and case when do_lower_case is false", () => {
  const cased = WordPieceTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\nCafé\ncafe\n", { doLowerCase: false });
  deepStrictEqual(cased.encode("Café cafe CAFE").ids, [2, 4, 5, 1, 3]);
});

Deno.test("WordPieceTokenizer.encode() splits punctuation, including ASCII symbols", () => {
  deepStrictEqual(bert.encode("a$b+c^d`e|f~g").tokens.slice(1, -1), "a $ b + c ^ d ` e | f ~ g".split(" "));
  deepStrictEqual(bert.encode("x¿y").tokens.slice(1, -1), ["x", "¿", "y"]);
});

Deno.test("WordPieceTokenizer.encode() maps a 101-character word to [UNK] but splits a 100-character one", () => {
  deepStrictEqual(bert.encode("a".repeat(101)).ids, [101, 100, 102]);
  const hundred = bert.encode("a".repeat(100)).tokens;
  strictEqual(hundred.length > 3 && !hundred.includes("[UNK]"), true);
  // characters are code points: 51 astral characters are 102 UTF-16 units but still a short word
  strictEqual(bert.encode("😀".repeat(51)).ids.length, 3);
});

Deno.test("WordPieceTokenizer.encode() matches special tokens written in the text", () => {
  deepStrictEqual(bert.encode("a [SEP] b [MASK]").tokens, ["[CLS]", "a", "[SEP]", "b", "[MASK]", "[SEP]"]);
  deepStrictEqual(bert.encode("[sep]").tokens, ["[CLS]", "[", "sep", "]", "[SEP]"]);
});

Deno.test("WordPieceTokenizer.encode() without special tokens", () => {
  const e = bert.encode("hello world", "again", { addSpecialTokens: false });
  deepStrictEqual(e.tokens, ["hello", "world", "again"]);
  deepStrictEqual(e.tokenTypeIds, [0, 0, 1]);
});

Deno.test("WordPieceTokenizer.encode() truncates pairs longest-first", () => {
  const a = "one two three four five six seven eight";
  const b = "nine ten eleven";
  // 8 + 3 tokens, room for 11 - 3 = 8: the longer one keeps 5
  let e = bert.encode(a, b, { maxLength: 11 });
  deepStrictEqual(e.tokens, [
    "[CLS]",
    "one",
    "two",
    "three",
    "four",
    "five",
    "[SEP]",
    "nine",
    "ten",
    "eleven",
    "[SEP]",
  ]);
  deepStrictEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  // room for 4: both cut to 2
  e = bert.encode(a, b, { maxLength: 7 });
  deepStrictEqual(e.tokens, ["[CLS]", "one", "two", "[SEP]", "nine", "ten", "[SEP]"]);
  // odd room: the longer sequence gets the extra token
  e = bert.encode(b, a, { maxLength: 8 });
  deepStrictEqual(e.tokens, ["[CLS]", "nine", "ten", "[SEP]", "one", "two", "three", "[SEP]"]);
  e = bert.encode(a, b, { maxLength: 8, truncation: "only_first" });
  deepStrictEqual(e.tokens, ["[CLS]", "one", "two", "[SEP]", "nine", "ten", "eleven", "[SEP]"]);
  deepStrictEqual(bert.encode(a, undefined, { maxLength: 4 }).tokens, ["[CLS]", "one", "two", "[SEP]"]);
  deepStrictEqual(bert.encode(a, undefined, { maxLength: 2, addSpecialTokens: false }).tokens, ["one", "two"]);
  throws(() => bert.encode(a, b, { maxLength: 2 }), /expected at least "3"/);
});

Deno.test("WordPieceTokenizer.decode() joins pieces and cleans spaces", () => {
  const e = bert.encode("Hello, world! It's unaffable.");
  strictEqual(bert.decode(e.ids), "[CLS] hello, world! it's unaffable. [SEP]");
  strictEqual(bert.decode(e.ids, { skipSpecialTokens: true }), "hello, world! it's unaffable.");
});

Deno.test("WordPieceTokenizer.fromVocabText() reports a vocabulary without [CLS]", () => {
  throws(() => WordPieceTokenizer.fromVocabText("[UNK]\n[SEP]\n"), /no "\[CLS\]" token/);
  throws(() => WordPieceTokenizer.fromVocabText("[CLS]\n[SEP]\n"), /"\[UNK\]" is not in the vocabulary/);
});

Deno.test("WordPieceTokenizer reports vocabSize, padId, unkId and token lookups", () => {
  strictEqual(bert.vocabSize, 30522);
  strictEqual(bert.padId, 0);
  strictEqual(bert.unkId, 100);
  strictEqual(bert.idToToken(103), "[MASK]");
  strictEqual(bert.tokenToId("the"), 1996);
  throws(() => bert.idToToken(30522), RangeError);
});
