import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { type DemoSummary, parseDemoArgs, runDemo } from "./demo.ts";
import { checkBalancedTags } from "./report/svg.ts";
import { UsageError } from "./_common.ts";

const FIXTURES = new URL("../tests/fixtures/models/", import.meta.url).pathname;
const DATA = new URL("../data/glue", import.meta.url).pathname;

Deno.test("runDemo() runs the whole study on the fixture models and writes a complete report", async () => {
  const out = await Deno.makeTempDir({ prefix: "bertology-demo-" });
  const lines: string[] = [];
  try {
    const t0 = performance.now();
    const summary = await runDemo({
      bert: `${FIXTURES}bert-tiny-random`,
      gpt2: `${FIXTURES}gpt2-tiny-random`,
      dataDir: DATA,
      dataSubset: 16,
      out,
      log: (s) => lines.push(s),
    });
    ok(performance.now() - t0 < 60_000, "reduced demo takes under a minute");

    // the report: every section, balanced markup, no network
    const html = await Deno.readTextFile(`${out}/report.html`);
    for (
      const id of [
        "headline",
        "summary",
        "bert-shapes",
        "bert-importance",
        "bert-entropy",
        "bert-masking-curve",
        "bert-attention-0",
        "bert-pruning",
        "gpt2-importance",
        "gpt2-entropy",
        "gpt2-attention-0",
        "attribution",
        "attribution-0",
        "logit-lens-figure",
        "timings",
        "reproduce",
        "analysis-heads",
        "analysis-mds",
        "analysis-syntax",
        "analysis-probing",
        "budget-pruning",
        "budget-curve",
        "stories260k",
        "stories-masking",
        "circuits",
        "circuits-faithfulness-0",
        "circuits-faithfulness-1",
      ]
    ) ok(html.includes(`id="${id}"`), `report has #${id}`);
    strictEqual(checkBalancedTags(html), undefined);
    // the statistics: a bootstrap interval and 3 random masks per masking step, rank stability over 5 splits
    ok(html.includes(`id="masking-statistics"`) && html.includes(`<polygon class="band"`));
    for (const st of summary.bert.masking.steps) {
      ok(st.accuracy_ci !== null && st.accuracy_ci[0] <= st.accuracy && st.accuracy <= st.accuracy_ci[1]);
      strictEqual(st.random_masks.length, 3);
    }
    strictEqual(summary.bert.importance_rank_stability.spearman.length, 5);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    ok(svgs.length >= 9, `${svgs.length} figures`);
    for (const svg of svgs) strictEqual(checkBalancedTags(svg), undefined);
    ok(!/<script|<link|\bsrc=|url\(\s*['"]?https?:/i.test(html), "self-contained");
    ok(html.includes(summary.headline.replace(/'/g, "&#39;")), "headline near the top");
    ok(html.includes("deno task cli heads --model") && html.includes("--try-masking"));
    ok(html.includes("deno task cli prune --model") && html.includes("deno task demo"));
    ok(
      html.includes(">head</text>") && html.includes(">layer</text>") &&
        html.includes(">fraction of heads kept</text>"),
    );

    // summary.json: the numbers
    const json = JSON.parse(await Deno.readTextFile(`${out}/summary.json`)) as DemoSummary;
    deepStrictEqual(json, JSON.parse(JSON.stringify(summary)));
    strictEqual(json.data.examples, 16);
    ok(json.bert.dev_accuracy >= 0 && json.bert.dev_accuracy <= 1);
    ok(json.gpt2.perplexity > 1 && Number.isFinite(json.gpt2.perplexity));
    strictEqual(json.bert.masking.total_heads, 12);
    strictEqual(json.bert.masking.fraction_masked, json.bert.masking.heads_masked / 12);
    ok(json.bert.masking.final_accuracy >= 0.9 * json.bert.masking.original_accuracy);
    ok(json.bert.masking.steps.length >= 1 && json.bert.masking.steps[0]!.fraction_kept === 1);
    ok(json.bert.pruning.params_after <= json.bert.pruning.params_before);
    strictEqual(json.bert.pruning.params_after < json.bert.pruning.params_before, json.bert.masking.heads_masked > 0);
    // masked and pruned timed 5 times each, medians reported with the speed-up
    const p = json.bert.pruning;
    strictEqual(p.timing_runs, 5);
    for (const k of ["original", "masked", "pruned"] as const) strictEqual(p.seconds_runs[k].length, 5);
    strictEqual(p.seconds_masked, [...p.seconds_runs.masked].sort((a, b) => a - b)[2]);
    strictEqual(p.speedup_pruned_vs_masked, p.seconds_masked / p.seconds_pruned);
    ok(lines.some((l) => l.includes("medians of 5 interleaved passes") && l.includes("× faster")));
    deepStrictEqual(json.bert.hidden_state_shapes["hidden_states.0"]!.slice(0, 1), [1]);
    strictEqual(Object.keys(json.bert.attention_shapes).length, 3);
    strictEqual(json.bert.head_importance.length, 3);
    strictEqual(json.gpt2.attn_entropy[0]!.length, 4);
    ok(json.times.total! > 0);
    for (const k of Object.keys(json.times)) ok(lines.some((l) => l.includes(k === "total" ? "total" : k)));
    ok(json.headline.includes(`${json.bert.masking.heads_masked} of 12 attention heads`));

    // pruning to a budget: the Kwon points meet their FLOPs budget; the final models were timed
    const b = json.budget_pruning;
    ok(b.kwonJoint.length === 3 && b.kwonJoint.every((p) => p.fraction <= 0.8 + 1e-9 && p.speed!.pruned > 0));
    ok(b.michel.length === json.bert.masking.steps.length && b.michel.some((p) => p.speed !== undefined));
    ok(b.kwonHeads.every((p) => p.fraction >= b.mlpShare - 1e-9 && p.neurons === b.michel[0]!.neurons));

    // stories260K: llama2.c's greedy output token for token, head roles, masking by perplexity on its own samples
    const st = json.stories;
    ok(st.greedy.equal && st.greedy.matching === 200, `greedy: ${st.greedy.matching} of 200 tokens`);
    strictEqual(st.greedy.text, st.greedy.expected_text);
    deepStrictEqual([st.layers, st.heads, st.kv_heads], [5, 8, 4]);
    for (const r of [st.roles_random, st.roles_text]) {
      strictEqual(r.induction.length, 5);
      ok(Number.isFinite(r.loss_first_repeat) && Number.isFinite(r.loss_second_repeat));
    }
    ok(st.importance.perplexity > 1 && st.masking.steps[0]!.fraction_kept === 1);
    ok(st.masking.steps.every((m) => m.random_perplexity.length === 3));
    ok(html.includes("The text here is model-generated"), "the report says the samples are the model's own");
    ok(html.includes("deno task cli generate --model"));

    // circuits: DLA sums to m, AtP tracks exact patching, EAP's top-k circuits really run (GPT-2 and stories260K)
    strictEqual(json.circuits.length, 2);
    for (const c of json.circuits) {
      ok(Math.abs(c.dla_gap) < 1e-3, `DLA parts sum to m within ${c.dla_gap}`);
      ok(c.atp_pearson > 0.5, `AtP vs exact: Pearson ${c.atp_pearson}`);
      ok(c.edges > 0 && c.eap_top.length === 10 && c.faithfulness.length >= 1);
    }
    ok(html.includes("deno task cli eap --model"));

    // the pruned checkpoint and the reproduce inputs
    ok((await Deno.stat(`${out}/bert-sst2-pruned/config.json`)).isFile);
    ok((await Deno.stat(`${out}/bert-sst2-pruned/model.safetensors`)).isFile);
    deepStrictEqual(JSON.parse(await Deno.readTextFile(`${out}/bert_head_mask.json`)), json.bert.masking.head_mask);
    ok((await Deno.stat(`${out}/bert_example.inputs.json`)).isFile);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("runDemo() refuses a missing model folder and says how to create it", async () => {
  const out = await Deno.makeTempDir({ prefix: "bertology-demo-" });
  try {
    await rejects(
      runDemo({ bert: `${out}/no-such-model`, gpt2: `${FIXTURES}gpt2-tiny-random`, out, log: () => {} }),
      (e: Error) =>
        /BERT SST-2 model not found/.test(e.message) && /train/.test(e.message) && /--bert DIR/.test(e.message),
    );
    await rejects(
      runDemo({ bert: `${FIXTURES}bert-tiny-random`, gpt2: `${out}/nope`, out, log: () => {} }),
      /GPT-2 SST-2 model not found/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("parseDemoArgs() reads the flags and rejects bad ones", () => {
  deepStrictEqual(parseDemoArgs(["--data-subset", "16", "--out", "o", "--bert", "b", "--stories", "s"]), {
    bert: "b",
    gpt2: undefined,
    stories: "s",
    dataDir: undefined,
    dataSubset: 16,
    out: "o",
    batchSize: undefined,
    maxSeqLength: undefined,
    timingRuns: undefined,
  });
  strictEqual(parseDemoArgs(["--timing-runs", "3"]).timingRuns, 3);
  throws(() => parseDemoArgs(["--timing-runs", "0"]), UsageError);
  throws(() => parseDemoArgs(["--data-subset", "x"]), UsageError);
  throws(() => parseDemoArgs(["--bogus"]), UsageError);
});
