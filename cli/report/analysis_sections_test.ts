import { ok, strictEqual } from "node:assert/strict";
import type { AnalysisStudy, ProbeSummary } from "../demo_analysis.ts";
import { analysisSectionsHtml, mdsScatterSvg } from "./analysis_sections.ts";
import { checkBalancedTags } from "./svg.ts";

function sample(): AnalysisStudy {
  const L = 2,
    H = 3,
    g = (f: (l: number, h: number) => number) =>
      Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => f(l, h)));
  const probe: ProbeSummary = {
    layerAccuracy: [0.5, 0.6, 0.7],
    cumulativeAccuracy: [0.5, 0.62, 0.71],
    delta: [0, 0.12, 0.09],
    expectedLayer: 1.43,
    mixWeights: [0.2, 0.3, 0.5],
    gamma: 1.1,
    centerOfGravity: 1.3,
    mixAccuracy: 0.71,
    trainExamples: 100,
    testExamples: 90,
    skipped: { train: 0, test: 1 },
    classes: 17,
  };
  const best = { layer: 1, head: 2, direction: "dep->parent" as const, accuracy: 0.4 };
  return {
    model: "models/<bert>",
    layers: L,
    heads: H,
    attention: {
      data: "SST-2 dev",
      examples: 10,
      stats: {
        self: g((_l, h) => 0.1 * h),
        next: g(() => 0.05),
        prev: g(() => 0.05),
        cls: g((l) => 0.2 * l),
        sep: g(() => 0.1),
        punct: g(() => 0.02),
        entropy: g(() => 2),
        cls_entropy: g(() => 1.5),
      },
      uniform: 0.05,
      uniformEntropy: 3,
      mds: Array.from({ length: L * H }, (_, i) => [Math.cos(i), Math.sin(i)]),
    },
    syntax: {
      conllu: "data/ud/x.conllu",
      sentences: 5,
      skipped: 1,
      relationView: "subtypes",
      rows: [{ relation: "det<>", count: 60, best, baseline: { offset: 1, accuracy: 0.6 } }],
      all: { relation: "all", count: 60, best, baseline: { offset: 1, accuracy: 0.6 } },
    },
    probes: { train: "a", test: "b", upos: probe, deprel: { ...probe, expectedLayer: null } },
    findings: ["no head tracks <syntax> here"],
  };
}

Deno.test("analysisSectionsHtml() writes the three sections with balanced markup, escaped text and every figure", () => {
  const html = analysisSectionsHtml(sample(), 10);
  strictEqual(checkBalancedTags(html), undefined);
  for (
    const id of [
      "analysis-heads",
      "analysis-syntax",
      "analysis-probing",
      "analysis-mds",
      "analysis-behaviour",
      "analysis-syntax-table",
      "analysis-probe-accuracy",
      "analysis-probe-mix",
    ]
  ) {
    ok(html.includes(`id="${id}"`), id);
  }
  ok(html.includes("<h2>10. BERT: what the heads attend to") && html.includes("<h2>12. BERT: layer probing"));
  ok(html.includes("det&lt;&gt;") && html.includes("no head tracks &lt;syntax&gt; here") && !html.includes("<syntax>"));
  ok(html.includes(">1.2</td><td>dep-&gt;parent</td>"), "syntactic head written layer.head");
  ok(html.includes("nmod:poss, aux:pass and nsubj:pass apart from their base relation"), "the relation view is said");
  strictEqual((html.match(/<svg/g) ?? []).length, 7 + 1 + 2);
});

Deno.test("mdsScatterSvg() draws one labelled point per head and a legend per layer", () => {
  const svg = mdsScatterSvg([[0, 0], [1, 2], [3, 1], [2, 2]], 2, 2);
  strictEqual(checkBalancedTags(svg), undefined);
  strictEqual((svg.match(/<circle/g) ?? []).length, 4 + 2);
  ok(svg.includes(">1.1</text>") && svg.includes(">layer 1</text>"));
});
