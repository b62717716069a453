// The web API and the CLI give the same numbers for the same model and sentences: `POST /api/importance`
// (bucketed batches of up to 8) and `bertology heads --batch-size 3` (bucketed batches of 3; per-example
// importance makes the batching irrelevant) on a file of the same sentences agree on the
// loss, the token count, head importance (raw and normalised) and attention entropy — for a BERT classifier
// and for a GPT-2 language model (whose sentences both read as `<|endoftext|> s <|endoftext|>`).
import { ok, strictEqual } from "node:assert/strict";
import { main as bertology } from "@bertology/cli";
import { createApp } from "@bertology/web";
import { BERT_DIR, fixture, GPT2_DIR, post } from "./helpers/web.ts";

const SENTENCES = [
  { text: "a gripping , funny film", label: 1 },
  { text: "dull , flat and far too long", label: 0 },
  { text: "the cast is fine", label: 1 },
];

/** `bertology heads` on a TSV of the sentences, three per batch; returns its report.json. */
async function cliReport(modelDir: string, withLabels: boolean): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "parity-" });
  try {
    const rows = SENTENCES.map((s) => withLabels ? `${s.text}\t${s.label}` : s.text);
    const header = withLabels ? "sentence\tlabel" : "sentence";
    await Deno.writeTextFile(`${dir}/data.tsv`, [header, ...rows].join("\n") + "\n");
    const args = ["--model", modelDir, "--data-file", `${dir}/data.tsv`, "--text-column", "sentence"];
    if (withLabels) args.push("--label-column", "label");
    args.push("--batch-size", "3", "--output-dir", `${dir}/out`);
    const { log, error } = console;
    console.log = console.error = () => {};
    try {
      strictEqual(await bertology(["heads", ...args]), 0);
    } finally {
      Object.assign(console, { log, error });
    }
    return JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The app's `/api/importance` answer for the sentences. */
async function webAnswer(modelDir: string, withLabels: boolean): Promise<Record<string, unknown>> {
  const app = createApp(await fixture(modelDir));
  const examples = SENTENCES.map((s) => withLabels ? { text: s.text, label: s.label } : { text: s.text });
  const res = await app.fetch(post("/api/importance", { examples }));
  strictEqual(res.status, 200);
  return await res.json();
}

/** Equal to the web's 6 significant digits. */
function close(web: number, cli: number, what: string): void {
  ok(Math.abs(web - cli) <= 1e-5 * Math.max(1, Math.abs(cli)), `${what}: web ${web} vs cli ${cli}`);
}

function sameTables(web: unknown, cli: unknown, what: string): void {
  const w = web as number[][], c = cli as number[][];
  strictEqual(w.length, c.length, `${what}: layers`);
  w.forEach((row, l) => row.forEach((v, h) => close(v, c[l]![h]!, `${what}[${l}][${h}]`)));
}

for (const [name, dir, withLabels] of [["BERT", BERT_DIR, true], ["GPT-2", GPT2_DIR, false]] as const) {
  Deno.test(`/api/importance and \`bertology heads\` agree on loss and head importance for ${name}`, async () => {
    const [web, cli] = await Promise.all([webAnswer(dir, withLabels), cliReport(dir, withLabels)]);
    strictEqual(web.total_tokens, cli.total_tokens);
    close(web.loss as number, cli.loss as number, "loss");
    strictEqual(web.metric, cli.metric);
    close(web.score as number, cli.score as number, "score");
    sameTables(web.importance, cli.head_importance, "importance");
    sameTables(web.importance_raw, cli.head_importance_raw, "importance_raw");
    sameTables(web.entropy, cli.attn_entropy, "entropy");
  });
}
