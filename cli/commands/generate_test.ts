import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { existsSync } from "node:fs";
import { fixtureModel } from "../../tests/helpers/goldens.ts";
import { runCli as cli } from "../../tests/helpers/cli.ts";

const GPT2 = "models/gpt2-sst2", TINY = fixtureModel("gpt2-tiny-random"), BERT = fixtureModel("bert-tiny-random");
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs the CLI as its own process: what a user's terminal receives on stdout. */
async function cliProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

Deno.test("bertology generate --json: {ids, text}, the prompt's ids first; the same with --no-cache", async () => {
  const r = await cli("generate", "--model", GPT2, "--prompt", "the film is", "--max-new-tokens", "8", "--json");
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  deepStrictEqual(Object.keys(j), ["ids", "text"]);
  ok(j.ids.length <= 3 + 8 && j.ids.length > 3, `${j.ids}`);
  ok(j.text.startsWith("the film is"), j.text);
  const full = await cli(
    "generate",
    "--model",
    GPT2,
    "--prompt",
    "the film is",
    "--max-new-tokens",
    "8",
    "--json",
    "--no-cache",
  );
  deepStrictEqual(JSON.parse(full.out), j);
  // --ids takes the prompt exactly
  const ids = await cli(
    "generate",
    "--model",
    GPT2,
    "--ids",
    j.ids.slice(0, 3).join(","),
    "--max-new-tokens",
    "8",
    "--json",
  );
  deepStrictEqual(JSON.parse(ids.out), j);
  // seeded sampling repeats
  const sample = [
    "generate",
    "--model",
    GPT2,
    "--ids",
    "464,2646",
    "--temperature",
    "1",
    "--top-k",
    "10",
    "--seed",
    "3",
  ];
  const a = await cli(...sample, "--json", "--ignore-eos"), b = await cli(...sample, "--json", "--ignore-eos");
  strictEqual(a.code, 0, a.err);
  deepStrictEqual(JSON.parse(a.out), JSON.parse(b.out));
  strictEqual(JSON.parse(a.out).ids.length, 2 + 20);
});

Deno.test("bertology generate streams the text to stdout, then the ids", async () => {
  const r = await cliProcess("generate", "--model", GPT2, "--prompt", "the film is", "--max-new-tokens", "6");
  strictEqual(r.code, 0, r.err);
  const j = JSON.parse(
    (await cli("generate", "--model", GPT2, "--prompt", "the film is", "--max-new-tokens", "6", "--json")).out,
  );
  strictEqual(r.out, `${j.text}\nids: ${j.ids.join(",")}\n`);
});

Deno.test("bertology generate refuses bad flags and an encoder model, naming the flag or file", async () => {
  const cases: Array<[string[], RegExp, number]> = [
    [["--model", TINY], /--prompt TEXT or as --ids/, 2],
    [["--model", TINY, "--prompt", "a", "--ids", "1"], /one of them/, 2],
    [["--model", TINY, "--ids", "1,x"], /--ids must be comma-separated token ids \(1,403,…\), got "x"/, 2],
    [["--model", TINY, "--ids", "1,,2"], /--ids must be comma-separated/, 2],
    [["--model", TINY, "--ids", "50257"], /--ids: id 50257 is outside the vocabulary \(0..50256\)/, 2],
    [["--model", TINY, "--ids", "1", "--max-new-tokens", "0"], /--max-new-tokens must be at least 1/, 2],
    [["--model", TINY, "--ids", "1", "--max-new-tokens", "2.5"], /--max-new-tokens must be an integer/, 2],
    [["--model", TINY, "--ids", "1,2", "--max-new-tokens", "64"], /passes the model's 64 positions \(at most 63\)/, 2],
    [["--model", TINY, "--ids", "1", "--temperature=-1"], /--temperature must be ≥ 0/, 2],
    [["--model", TINY, "--ids", "1", "--top-k", "5"], /--top-k is for sampling: give --temperature above 0/, 2],
    [["--model", TINY, "--ids", "1", "--temperature", "1", "--top-p", "1.5"], /--top-p must be in \(0, 1\]/, 2],
    [
      ["--model", TINY, "--ids", "1", "--tempreature", "1"],
      /unknown flag --tempreature; did you mean --temperature\?/,
      2,
    ],
    [
      ["--model", BERT, "--ids", "1"],
      /bert-tiny-random\/config.json describes a BERT classify model; generate needs/,
      2,
    ],
  ];
  for (const [args, message, code] of cases) {
    const r = await cli("generate", ...args);
    strictEqual(r.code, code, `${args.join(" ")}: ${r.err}`);
    ok(message.test(r.err), `${args.join(" ")}: ${r.err}`);
  }
});

// stories260K (llama2.c): bundled by the Llama family; its greedy 200 tokens from BOS are documented
const STORIES = "models/stories260k";
Deno.test({
  name: "bertology generate --model models/stories260k --ids 1 --max-new-tokens 200 prints llama2.c's ids and text",
  ignore: !existsSync(`${STORIES}/config.json`),
  fn: async () => {
    const expected = JSON.parse(Deno.readTextFileSync(`${STORIES}/generation.json`));
    for (const extra of [[], ["--no-cache"]]) {
      const r = await cliProcess("generate", "--model", STORIES, "--ids", "1", "--max-new-tokens", "200", ...extra);
      strictEqual(r.code, 0, r.err);
      strictEqual(r.out, `${expected.text}\nids: ${expected.ids.join(",")}\n`);
    }
  },
});
