import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { type ModelStudy, REFERENCES, type ReportData, reportHtml } from "./report_html.ts";
import { checkBalancedTags } from "./svg.ts";

function study(L: number, H: number, dir: string): ModelStudy {
  const m = (f: (l: number, h: number) => number) =>
    Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => f(l, h)));
  const tokens = ["[CLS]", "a", "<b>", "&", "[SEP]"];
  const weights = Array.from({ length: 25 }, () => 0.2);
  return {
    dir,
    family: "bert",
    layers: L,
    heads: H,
    parameters: 1000,
    examples: 16,
    loss: 0.5,
    importance: m((l, h) => (l * H + h) / (L * H - 1)),
    entropy: m((l, h) => 1 + l + h / 10),
    attention: { sentence: `it's <good> & "fun"`, tokens, heads: [{ layer: 1, head: 0, importance: 1, weights }] },
  };
}

function sampleReport(): ReportData {
  const bert = study(2, 3, "models/bert-sst2");
  return {
    title: "BERTology <test>",
    generated: "2026-01-01T00:00:00Z",
    dataName: "SST-2 dev, 16 sentences",
    headline: "Masking 3 of 6 attention heads (50.0 %) keeps 95 % of the accuracy",
    bert: {
      ...bert,
      accuracy: 0.9,
      shapes: [{ hfName: "hidden_states.0", hook: "embed.hook_out", shape: [1, 5, 8] }],
      shapesSentence: `it's <good> & "fun"`,
      masking: {
        threshold: 0.9,
        amount: 0.1,
        originalScore: 0.9,
        finalScore: 0.85,
        fractionMasked: 0.5,
        headMask: [[0, 1, 0], [1, 0, 1]],
        steps: [
          { step: 0, score: 0.9, headsKept: 6, fractionKept: 1, newlyMasked: [] },
          { step: 1, score: 0.85, headsKept: 3, fractionKept: 0.5, newlyMasked: [[0, 0], [0, 2], [1, 1]] },
          { step: 2, score: 0.6, headsKept: 2, fractionKept: 1 / 3, newlyMasked: [[1, 2]] },
        ],
      },
      pruning: {
        rows: [
          { label: "original", heads: 6, parameters: 1000, score: 0.9, seconds: 1 },
          { label: "masked", heads: 3, parameters: 1000, score: 0.85, seconds: 1 },
          { label: "pruned", heads: 3, parameters: 800, score: 0.85, seconds: 0.7 },
        ],
        prunedDir: "out/demo/bert-sst2-pruned",
        headsPruned: { "0": [0, 2], "1": [1] },
        timingRuns: 5,
        speedup: 1 / 0.7,
      },
    },
    gpt2: { ...study(2, 2, "models/gpt2-sst2"), perplexity: 42 },
    commands: [{ what: "All of it:", command: "deno task demo --out 'a b'" }],
    timings: [{ stage: "BERT", seconds: 1.5 }, { stage: "GPT-2", seconds: 0.5 }],
  };
}

Deno.test("reportHtml() writes every section, with figures and tables", () => {
  const html = reportHtml(sampleReport());
  for (
    const id of [
      "headline",
      "summary",
      "bert-shapes",
      "bert-importance",
      "bert-entropy",
      "bert-masking",
      "bert-masking-curve",
      "bert-attention",
      "bert-attention-0",
      "bert-pruning",
      "pruning-table",
      "gpt2-study",
      "gpt2-importance",
      "gpt2-entropy",
      "gpt2-attention",
      "timings",
      "reproduce",
    ]
  ) ok(html.includes(`id="${id}"`), `section ${id}`);
  strictEqual(checkBalancedTags(html), undefined);
  ok(html.includes("Masking 3 of 6 attention heads (50.0 %)"));
  ok(html.includes("deno task demo --out &#39;a b&#39;"));
  ok(html.includes("800"));
  ok(html.includes("median of 5 passes") && html.includes("<strong>1.43× as fast</strong>"));
  strictEqual((html.match(/<svg /g) ?? []).length, 7); // 2 + 1 + 1 BERT, 2 + 1 GPT-2
});

Deno.test("reportHtml() escapes example text and stays self-contained", () => {
  const html = reportHtml(sampleReport());
  ok(html.includes("it&#39;s &lt;good&gt; &amp; &quot;fun&quot;"));
  ok(!html.includes("<good>"));
  ok(!html.includes("BERTology <test>"));
  ok(!/<script|<link|<img|\bsrc=|url\(\s*['"]?https?:|@import/i.test(html), "no external resources");
});

Deno.test("reportHtml() numbers figures from 1 on each call", () => {
  const a = reportHtml(sampleReport()), b = reportHtml(sampleReport());
  strictEqual(a, b);
  ok(a.includes("<b>Figure 1.</b>"));
});

Deno.test("reportHtml() numbers its sections 1, 2, … in page order, Reproduce last, added sections included", () => {
  const html = reportHtml({
    ...sampleReport(),
    sections: [
      '<section id="x"><h2>Why BERT decided</h2></section>',
      "<section><h2>7. Pruning to a budget</h2></section>",
    ],
  });
  const numbers = [...html.matchAll(/<h2>(\d+)\. ([^<]*)/g)];
  deepStrictEqual(numbers.map((m) => Number(m[1])), numbers.map((_, i) => i + 1));
  strictEqual((html.match(/<h2>/g) ?? []).length, numbers.length, "no unnumbered section");
  ok(numbers.at(-1)![2]!.startsWith("Reproduce"), numbers.at(-1)![2]);
});

Deno.test("every work the report and the demo cite is in the references", () => {
  const refs = REFERENCES.join(" ");
  const dir = new URL("../", import.meta.url);
  const files = ["report/", ""].flatMap((sub) =>
    [...Deno.readDirSync(new URL(sub, dir))].filter((e) =>
      e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")
    )
      .map((e) => new URL(`${sub}${e.name}`, dir))
  );
  const cited = new Set<string>();
  for (const f of files) {
    const src = Deno.readTextFileSync(f);
    for (const m of src.matchAll(/\b([A-Z][a-z]+) et al\./g)) cited.add(m[1]!);
    for (const m of src.matchAll(/\b([A-Z][a-z]+) (?:&amp;|&) ([A-Z][a-z]+),? \(?\d{4}/g)) cited.add(m[1]!).add(m[2]!);
  }
  for (const name of ["Kwon", "Tenney", "Sundararajan", "Abnar", "Zuidema"]) ok(cited.has(name), `${name} is cited`);
  deepStrictEqual([...cited].filter((name) => !refs.includes(name)), []);
});

Deno.test("reportHtml() draws the masking curve's bootstrap band and random baseline, and states rank stability", () => {
  const d = sampleReport();
  const mk = d.bert.masking;
  mk.steps = mk.steps.map((s, i) => ({
    ...s,
    interval: { low: s.score - 0.05, high: s.score + 0.04 },
    random: { mean: s.score - 0.1 * i, min: s.score - 0.15 * i, max: s.score - 0.06 * i, scores: [1, 2, 3] },
  }));
  mk.randomMasks = 3;
  d.bert.rankStability = { spearman: [0.8, 0.9], mean: 0.85, min: 0.8, max: 0.9 };
  const html = reportHtml(d);
  strictEqual(checkBalancedTags(html), undefined);
  strictEqual((html.match(/<polygon class="band"/g) ?? []).length, 2, "a band for each series");
  ok(html.includes("masked at random (mean of 3; band: min–max)"));
  ok(/<th[^>]*>95 % CI<\/th>/.test(html) && html.includes("0.800–0.890"), "the interval column");
  ok(/<th[^>]*>random masks<\/th>/.test(html) && html.includes("0.750 (0.700–0.790)"), "the random column");
  ok(html.includes("At the final mask (3 heads kept) accuracy is 0.85"), "the statistics paragraph");
  ok(html.includes("every one below the interval: the importance ranking beats random choice here"));
  ok(html.includes("Spearman ρ between the importances measured on two random halves of the dev batches is 0.850"));
  ok(!reportHtml(sampleReport()).includes("masking-statistics"), "nothing without the statistics");
});
