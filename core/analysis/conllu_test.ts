import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { parseConllu, universalRelation } from "./conllu.ts";
import { readConllu } from "./read_conllu.ts";

const row = (...f: (string | number)[]) => f.join("\t");

Deno.test("parseConllu() reads words, comments, multiword tokens, and skips empty nodes", () => {
  const text = [
    "# newdoc id = d1",
    "# sent_id = s1",
    "# text = I don't know",
    row(1, "I", "I", "PRON", "PRP", "_", 4, "nsubj", "_", "_"),
    row("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
    row(2, "do", "do", "AUX", "VBP", "_", 4, "aux", "_", "_"),
    row(3, "n't", "not", "PART", "RB", "_", 4, "advmod", "_", "_"),
    row("3.1", "x", "x", "X", "_", "_", "_", "_", "2:dep", "_"),
    row(4, "know", "know", "VERB", "VB", "_", 0, "root", "_", "_"),
    "",
    "",
    row(1, "Hi", "hi", "INTJ", "UH", "_", 0, "root", "_", "_"),
  ].join("\n");
  const s = parseConllu(text, "x.conllu");
  strictEqual(s.length, 2);
  deepStrictEqual([s[0]!.id, s[0]!.text], ["s1", "I don't know"]);
  deepStrictEqual(s[0]!.words.map((w) => [w.id, w.form, w.head, w.deprel]), [
    [1, "I", 4, "nsubj"],
    [2, "do", 4, "aux"],
    [3, "n't", 4, "advmod"],
    [4, "know", 0, "root"],
  ]);
  deepStrictEqual(s[0]!.multiwords, [{ first: 2, last: 3, form: "don't" }]);
  deepStrictEqual([s[1]!.id, s[1]!.text, s[1]!.words.length], ["x.conllu:12", undefined, 1]);
});

Deno.test("parseConllu() handles CRLF line ends and a missing final blank line", () => {
  const s = parseConllu(row(1, "a", "a", "DET", "DT", "_", 0, "root", "_", "_") + "\r\n", "y");
  strictEqual(s[0]!.words[0]!.form, "a");
});

Deno.test("parseConllu() errors name file:line and say what is wrong", () => {
  const ok = row(1, "a", "a", "DET", "DT", "_", 0, "root", "_", "_");
  throws(() => parseConllu(`${ok}\n1\ta\tb`, "f.conllu"), /f\.conllu:2: expected 10 tab-separated fields, found 3/);
  throws(
    () => parseConllu(`${ok}\n${row(3, "b", "b", "X", "_", "_", 1, "dep", "_", "_")}`, "f"),
    /f:2: word ID 3 out of order/,
  );
  throws(() => parseConllu(row(1, "a", "a", "X", "_", "_", "x", "dep", "_", "_"), "f"), /f:1: bad HEAD "x"/);
  throws(
    () => parseConllu(row(1, "a", "a", "X", "_", "_", 5, "dep", "_", "_"), "f"),
    /word 1 has HEAD 5 but the sentence has 1 words/,
  );
  throws(() => parseConllu(row("a", "a", "a", "X", "_", "_", 0, "root", "_", "_"), "f"), /f:1: bad ID "a"/);
  throws(
    () => parseConllu(row("2-1", "ab", "_", "_", "_", "_", "_", "_", "_", "_"), "f"),
    /f:1: bad multiword range "2-1"/,
  );
  throws(
    () => parseConllu(`${row("1-2", "ab", "_", "_", "_", "_", "_", "_", "_", "_")}\n${ok}`, "f"),
    /covers missing words/,
  );
  throws(() => parseConllu(row(1, "a", "a", "X", "_", "_", 1, "dep", "_", "_"), "f"), /f:1: word 1 is its own head/);
});

Deno.test("universalRelation() drops the subtype", () => {
  deepStrictEqual(["nmod:poss", "obl", "aux:pass"].map(universalRelation), ["nmod", "obl", "aux"]);
});

Deno.test("readConllu() reads the bundled UD EWT dev split and names a missing file", async () => {
  const s = await readConllu("data/ud/en_ewt-ud-dev.conllu");
  strictEqual(s.length, 2001);
  strictEqual(s[0]!.text, "From the AP comes this story :");
  await readConllu("data/ud/missing.conllu").then(() => {
    throw new Error("no error");
  }, (e: Error) => strictEqual(/Cannot read data\/ud\/missing\.conllu/.test(e.message), true));
});

Deno.test("parseConllu() reads a file that starts with a byte-order mark", () => {
  const text = "\ufeff# sent_id = s1\n# text = Hi\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n";
  const [s] = parseConllu(text, "bom.conllu");
  strictEqual(s!.id, "s1");
  strictEqual(s!.words[0]!.form, "Hi");
});

Deno.test("parseConllu() quotes a 1 MB ID or HEAD as a short excerpt", () => {
  const huge = "9".repeat(1_000_000);
  for (const line of [`${huge}x\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_`, `1\tHi\thi\tINTJ\tUH\t_\t${huge}x\troot\t_\t_`]) {
    throws(() => parseConllu(line + "\n", "big.conllu"), (e: Error) => {
      strictEqual(e.message.length < 300, true, `${e.message.length} characters`);
      strictEqual(e.message.includes("(1000001 characters)"), true, e.message.slice(0, 200));
      return true;
    });
  }
});
