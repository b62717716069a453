import assert from "node:assert/strict";
import { join } from "node:path";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import { trainCommand } from "./train.ts";

async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => (err += a.join(" ") + "\n");
  try {
    return { code: await trainCommand(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "very", "a", "plot"];

async function fixture(dir: string): Promise<void> {
  await Deno.writeTextFile(join(dir, "vocab.txt"), VOCAB.join("\n") + "\n");
  const rows = ["sentence\tlabel"];
  for (let i = 0; i < 24; i++) rows.push(i % 2 ? `a very good movie\t1` : `a bad plot\t0`);
  await Deno.writeTextFile(join(dir, "train.tsv"), rows.join("\n") + "\n");
  await Deno.writeTextFile(join(dir, "dev.tsv"), rows.slice(0, 9).join("\n") + "\n");
}

Deno.test("trainCommand() trains a new BERT on custom data and writes HF checkpoints and a JSON summary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fixture(dir);
    const out = join(dir, "out");
    const { code, out: stdout, err } = await capture([
      "--train-file",
      join(dir, "train.tsv"),
      "--dev-file",
      join(dir, "dev.tsv"),
      "--family",
      "bert",
      "--vocab",
      dir,
      "--layers",
      "1",
      "--heads",
      "2",
      "--hidden",
      "8",
      "--intermediate",
      "16",
      "--epochs",
      "3",
      "--batch-size",
      "4",
      "--lr",
      "1e-2",
      "--warmup",
      "0.1",
      "--max-seq-length",
      "8",
      "--dtype",
      "f16",
      "--seed",
      "3",
      "--output-dir",
      out,
      "--json",
    ]);
    assert.equal(code, 0, err);
    const summary = JSON.parse(stdout);
    assert.equal(summary.epochs.length, 3);
    assert.equal(summary.bestMetric.key, "acc");
    const { model, tokenizer } = await loadModel(localFiles(join(out, "best")));
    assert.deepEqual(model.config.labels, ["0", "1"]);
    assert.equal(tokenizer!.encode("a good movie").ids.join(), "2,8,4,6,3");
    const raw = JSON.parse(await Deno.readTextFile(join(out, "best", "config.json")));
    assert.equal(raw.torch_dtype, "float16");
    // continue from the saved checkpoint
    const again = await capture([
      "--train-file",
      join(dir, "train.tsv"),
      "--from",
      join(out, "last"),
      "--epochs",
      "1",
      "--batch-size",
      "8",
      "--lr",
      "1e-3",
      "--max-seq-length",
      "8",
      "--output-dir",
      join(dir, "out2"),
      "--json",
    ]);
    assert.equal(again.code, 0, again.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainCommand() rejects bad flags with a clear message and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--task", "sst-2"], /--output-dir is required/],
    [["--output-dir", "x", "--family", "bert"], /Give --task NAME or --train-file FILE/],
    [["--output-dir", "x", "--task", "sst-2"], /Give --from DIR .* or --family NAME/],
    [
      ["--output-dir", "x", "--task", "sst-2", "--family", "bert", "--epochs", "two"],
      /--epochs must be an integer, got "two"/,
    ],
    [["--output-dir", "x", "--task", "sst-2", "--family", "bert", "--epochs", "0"], /--epochs must be at least 1/],
    [["--output-dir", "x", "--task", "sst-2", "--family", "bert", "--dropout", "1.5"], /--dropout must be in \[0, 1\)/],
    [["--output-dir", "x", "--task", "sst-2", "--family", "bert", "--dtype", "f64"], /--dtype must be f32 or f16/],
    [["--output-dir", "x", "--task", "nope", "--family", "bert"], /Unknown GLUE task "nope"/],
    [["--output-dir", "x", "--task", "sst-2", "--family", "bert", "--bogus"], /bogus/],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await capture(args);
    assert.equal(code, 2, `${args.join(" ")}: ${err}`);
    assert.match(err, message);
  }
});

Deno.test("trainCommand() names a missing data file and exits 1", async () => {
  const { code, err } = await capture([
    "--train-file",
    "no/such/file.tsv",
    "--family",
    "bert",
    "--vocab",
    "tests/fixtures/vocab/bert-base-uncased",
    "--output-dir",
    "x",
  ]);
  assert.equal(code, 1);
  assert.match(err, /Cannot find data file "no\/such\/file.tsv"/);
});

Deno.test("trainCommand() continues HF checkpoints: a new head for other labels, and GPT-2 as a causal LM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rows = [
      "sentence\tlabel",
      ...Array.from({ length: 12 }, (_, i) => `a movie number ${i}\t${["x", "y", "z"][i % 3]}`),
    ];
    await Deno.writeTextFile(join(dir, "three.tsv"), rows.join("\n") + "\n");
    const bert = await capture([
      "--train-file",
      join(dir, "three.tsv"),
      "--from",
      "tests/fixtures/models/bert-tiny-random",
      "--epochs",
      "1",
      "--batch-size",
      "4",
      "--lr",
      "1e-3",
      "--max-seq-length",
      "16",
      "--output-dir",
      join(dir, "bert"),
      "--json",
    ]);
    assert.equal(bert.code, 0, bert.err);
    assert.match(bert.err, /new 3-output classification head/);
    const { model } = await loadModel(localFiles(join(dir, "bert", "last")), { tokenizer: false });
    assert.deepEqual(model.config.labels, ["x", "y", "z"]);
    const gpt = await capture([
      "--train-file",
      join(dir, "three.tsv"),
      "--dev-file",
      join(dir, "three.tsv"),
      "--lm",
      "--from",
      "tests/fixtures/models/gpt2-tiny-random",
      "--epochs",
      "1",
      "--batch-size",
      "4",
      "--lr",
      "1e-3",
      "--max-seq-length",
      "16",
      "--output-dir",
      join(dir, "gpt"),
      "--json",
    ]);
    assert.equal(gpt.code, 0, gpt.err);
    const summary = JSON.parse(gpt.out);
    assert.equal(summary.bestMetric.key, "perplexity");
    assert.ok(summary.bestMetric.value > 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
