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

Deno.test("trainCommand() --objective mlm pre-trains a new BertForMaskedLM on a plain-text corpus", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "vocab.txt"), [...VOCAB, "[MASK]", "##s"].join("\n") + "\n");
    const lines = Array.from({ length: 30 }, (_, i) => (i % 2 ? "a very good movie" : "a bad plots\n"));
    await Deno.writeTextFile(join(dir, "a.txt"), lines.slice(0, 15).join("\n") + "\n");
    await Deno.writeTextFile(join(dir, "b.txt"), lines.slice(15).join("\n") + "\n");
    await Deno.writeTextFile(join(dir, "dev.txt"), "a good movie\na bad plot\n");
    const out = join(dir, "out");
    const args = [
      "--objective",
      "mlm",
      "--corpus",
      `${join(dir, "a.txt")},${join(dir, "b.txt")}`,
      "--dev-corpus",
      join(dir, "dev.txt"),
      "--whole-word-mask",
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
      "2",
      "--batch-size",
      "8",
      "--lr",
      "1e-2",
      "--max-seq-length",
      "16",
      "--json",
      "--output-dir",
      out,
    ];
    const { code, out: stdout, err } = await capture(args);
    assert.strictEqual(code, 0, err);
    const summary = JSON.parse(stdout);
    assert.strictEqual(summary.objective, "mlm");
    assert.strictEqual(summary.trainExamples, 30, "blank lines are skipped, both files read");
    assert.strictEqual(summary.bestMetric.key, "perplexity");
    assert.ok(summary.epochs[1].dev.accuracy >= 0 && summary.epochs[1].dev.tokens >= 2);
    const config = JSON.parse(await Deno.readTextFile(join(out, "last", "config.json")));
    assert.deepStrictEqual(config.architectures, ["BertForMaskedLM"]);
    assert.strictEqual(config.num_labels, undefined, "a masked LM has no classification labels");
    const { model } = await loadModel(localFiles(join(out, "last")));
    assert.strictEqual(model.task, "mlm");
    assert.ok(model.hasHead);

    // wrong combinations are usage errors (exit 2), a missing corpus file names itself (exit 1)
    const usage = async (extra: string[], message: RegExp) => {
      const r = await capture(extra);
      assert.strictEqual(r.code, 2, r.err);
      assert.match(r.err, message);
    };
    await usage(["--objective", "mlm", "--output-dir", join(dir, "o2"), "--family", "bert"], /needs --corpus/);
    await usage(["--objective", "mlm", "--corpus", "x.txt", "--task", "sst-2", "--output-dir", "o"], /do not apply/);
    await usage(["--objective", "nsp", "--output-dir", "o"], /--objective must be mlm or lm, got "nsp"/);
    await usage(["--corpus", "x.txt", "--task", "sst-2", "--output-dir", "o"], /are for --objective mlm/);
    const missing = await capture([...args.slice(0, 3), join(dir, "nope.txt"), ...args.slice(4, -1), join(dir, "o3")]);
    assert.strictEqual(missing.code, 1);
    assert.match(missing.err, /--corpus: cannot read ".*nope\.txt"/);
    // a classifier checkpoint cannot continue as a masked LM
    const cls = await capture(["--from", "models/bert-sst2", ...args.slice(0, 4), "--output-dir", join(dir, "o4")]);
    assert.strictEqual(cls.code, 2);
    assert.match(cls.err, /--objective mlm needs a masked-LM checkpoint \(BertForMaskedLM\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
