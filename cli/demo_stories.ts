/**
 * The demo's section on a real pretrained decoder: Karpathy's stories260K (llama2.c, TinyStories; a Llama with
 * grouped-query attention, bundled as `models/stories260k`). What it runs, each through the library a user
 * calls:
 *
 * 1. the greedy continuation from BOS (200 tokens, KV cache), compared token for token with llama2.c's
 *    documented output (`generation.json`);
 * 2. head roles (previous-token, duplicate-token, induction; the loss on each repeat) on rows of BOS + r + r
 *    with r random tokens, and on rows whose r is the start of one of the model's own samples;
 * 3. head importance and iterative masking by perplexity on a held-out set of the model's own seeded samples —
 *    text the model generated, said so in the report — beside masks of as many heads drawn at random.
 *
 * The report section says what was found and what was not, from the numbers alone.
 *
 * @module
 */

import { type HeadRoles, headRoles, repeatedRowTokens, repeatedTokenRows } from "@bertology/core/analysis";
import type { LoadedModel } from "@bertology/core/models";
import {
  buildStudyDataset,
  randomMaskingBaseline,
  scoreTask,
  studyHeadImportance,
  studyMasking,
  taskSpec,
} from "@bertology/core/studies";
import { heatmapSvg } from "./report/heatmap.ts";
import { lineChartSvg } from "./report/line_chart.ts";
import { escapeXml, fmtNum } from "./report/svg.ts";

/** The head roles of one kind of row, as the report and summary.json keep them. */
export interface RolesSummary {
  /** What the repeated tokens are. */
  rows: string;
  repeat_len: number;
  count: number;
  previous_token: number[][];
  duplicate_token: number[][];
  induction: number[][];
  loss_first_repeat: number;
  loss_second_repeat: number;
}

/** What the stories260K section measured (also in `summary.json`). */
export interface StoriesSummary {
  model: string;
  layers: number;
  heads: number;
  kv_heads: number;
  parameters: number;
  greedy: { new_tokens: number; matching: number; equal: boolean; text: string; expected_text: string };
  roles_random: RolesSummary;
  roles_text: RolesSummary;
  samples: { count: number; tokens: number; temperature: number; seeds: [number, number]; held_out: number };
  importance: { perplexity: number; loss: number; head_importance: number[][]; attn_entropy: number[][] };
  masking: {
    threshold: number;
    amount: number;
    steps: Array<{ heads_kept: number; fraction_kept: number; perplexity: number; random_perplexity: number[] }>;
  };
}

const GREEDY_TOKENS = 200;
const SAMPLES = 48, SAMPLE_TOKENS = 64, ROLE_ROWS = 16, ROLE_LEN = 24;

/** The grid of a `[layers × heads]` score array. */
function grid(a: ArrayLike<number>, L: number, H: number): number[][] {
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => Number(a[l * H + h]!.toFixed(6))));
}

/** The top head of a score grid and its value. */
function top(g: number[][]): { layer: number; head: number; value: number } {
  let best = { layer: 0, head: 0, value: -Infinity };
  g.forEach((row, l) => row.forEach((v, h) => v > best.value && (best = { layer: l, head: h, value: v })));
  return best;
}

function roles(r: HeadRoles, rows: string): RolesSummary {
  return {
    rows,
    repeat_len: r.repeatLen,
    count: r.rows,
    previous_token: grid(r.previousToken, r.layers, r.heads),
    duplicate_token: grid(r.duplicateToken, r.layers, r.heads),
    induction: grid(r.induction, r.layers, r.heads),
    loss_first_repeat: r.lossFirstRepeat ?? NaN,
    loss_second_repeat: r.lossSecondRepeat ?? NaN,
  };
}

/**
 * Runs the study on a loaded stories260K (or any causal LM with a `generation.json` beside it).
 *
 * @param dir the model folder (for messages and `generation.json`)
 * @param lm the loaded model and tokenizer
 * @param stage runs one named, timed stage
 * @param log a progress line
 * @returns the summary and the report section's HTML
 */
export async function storiesStudy(
  dir: string,
  lm: LoadedModel,
  stage: <T>(name: string, f: () => T | Promise<T>) => Promise<T>,
  log: (line: string) => void,
): Promise<{ summary: StoriesSummary; html: string }> {
  const { model, tokenizer } = lm;
  if (!tokenizer) throw new Error(`${dir}: the stories section needs the model's tokenizer`);
  const c = model.config;
  const L = c.layers, H = c.heads;
  const documented = JSON.parse(await Deno.readTextFile(`${dir}/generation.json`)) as {
    prompt_ids: number[];
    ids: number[];
    expected_llama2c: string;
  };

  const greedy = await stage("stories260K: greedy continuation from BOS (KV cache) vs llama2.c's", async () => {
    const out = await model.generate({
      prompt: documented.prompt_ids,
      tokenizer,
      maxNewTokens: GREEDY_TOKENS,
      temperature: 0,
      stopAtEos: false,
    });
    const got = out.ids.slice(documented.prompt_ids.length), want = documented.ids.slice(documented.prompt_ids.length);
    let matching = 0;
    while (matching < want.length && got[matching] === want[matching]) matching++;
    const text = tokenizer.decode(out.ids, { skipSpecialTokens: true });
    log(`greedy: ${matching} of ${want.length} new tokens equal llama2.c's documented continuation`);
    return {
      new_tokens: got.length,
      matching,
      equal: matching === want.length,
      text,
      expected_text: documented.expected_llama2c,
    };
  });

  // the model's own samples, seeded: the in-distribution text of the head roles and of the importance study
  const samples = await stage(
    `stories260K: ${SAMPLES} seeded samples of ${SAMPLE_TOKENS} tokens (model-generated)`,
    async () => {
      const out: { ids: number[]; text: string }[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const r = await model.generate({
          prompt: documented.prompt_ids,
          tokenizer,
          maxNewTokens: SAMPLE_TOKENS,
          temperature: 1,
          seed: 1000 + i,
          stopAtEos: false,
        });
        out.push({ ids: r.ids.slice(documented.prompt_ids.length), text: r.text ?? "" });
      }
      return out;
    },
  );

  // BOS and the special tokens random rows never draw: the rule `bertology head-roles` and the page use
  const rowTokens = repeatedRowTokens(c.raw, tokenizer);
  if (rowTokens === undefined) throw new Error(`${dir}: no BOS token for the head-role rows`);
  const { bos } = rowTokens;
  const rolesRandom = await stage("stories260K: head roles on repeated random tokens", () =>
    roles(
      headRoles(
        model,
        repeatedTokenRows(c.vocabSize, { repeatLen: ROLE_LEN, rows: ROLE_ROWS, seed: 0, ...rowTokens }),
      ),
      "random tokens (seed 0)",
    ));
  const rolesText = await stage("stories260K: head roles on repeated text (the start of its own samples)", () =>
    roles(
      headRoles(
        model,
        samples.slice(0, ROLE_ROWS).map((s) => {
          const r = s.ids.slice(0, ROLE_LEN);
          return [bos, ...r, ...r];
        }),
      ),
      "the first tokens of the model's own samples",
    ));

  // importance and masking on the samples not used above: held out from the head-role rows
  const heldOut = samples.slice(ROLE_ROWS);
  const data = buildStudyDataset(model, tokenizer, {
    name: "stories260K's own seeded samples (model-generated)",
    outputMode: "classification",
    labels: [],
    examples: heldOut.map((s, i) => ({ guid: `sample-${ROLE_ROWS + i}`, textA: s.text, label: undefined })),
  }, { batchSize: 8, maxSeqLength: SAMPLE_TOKENS + 8 });
  const imp = await stage(
    "stories260K: head importance and entropy by perplexity on held-out samples",
    () => studyHeadImportance(model, data, {}),
  );
  log(`stories260K: perplexity ${Math.exp(imp.loss).toFixed(3)} on ${heldOut.length} of its own samples`);
  const threshold = 0.9, amount = 0.1;
  const masking = await stage("stories260K: iterative masking by perplexity, beside random masks", () => {
    const m = studyMasking(model, data, { threshold, amount, atLeastHeadsPerLayer: 0, rerank: true });
    const score = scoreTask({ ...taskSpec(model, data), metric: m.metric });
    return m.steps.map((s) => ({
      heads_kept: s.headsKept,
      fraction_kept: s.fractionKept,
      perplexity: 1 / s.score,
      random_perplexity: randomMaskingBaseline(model, data.batches, score, s.headsKept, { count: 3 }).scores.map((
        x,
      ) => 1 / x),
    }));
  });

  const summary: StoriesSummary = {
    model: dir,
    layers: L,
    heads: H,
    kv_heads: c.kvHeads,
    parameters: model.params.count(),
    greedy,
    roles_random: rolesRandom,
    roles_text: rolesText,
    samples: {
      count: SAMPLES,
      tokens: SAMPLE_TOKENS,
      temperature: 1,
      seeds: [1000, 1000 + SAMPLES - 1],
      held_out: heldOut.length,
    },
    importance: {
      perplexity: Math.exp(imp.loss),
      loss: imp.loss,
      head_importance: grid(imp.importance.data, L, H),
      attn_entropy: grid(imp.entropy.data, L, H),
    },
    masking: { threshold, amount, steps: masking },
  };
  return { summary, html: storiesSectionHtml(summary) };
}

/** What the numbers show, in sentences (found and not found). */
export function storiesFindings(s: StoriesSummary): { found: string[]; notFound: string[] } {
  const found: string[] = [], notFound: string[] = [];
  const head = (t: { layer: number; head: number }) => `L${t.layer}.H${t.head}`;
  if (s.greedy.equal) {
    found.push(
      `The greedy continuation from BOS equals llama2.c's documented one for all ${s.greedy.matching} tokens.`,
    );
  } else {
    notFound.push(
      `The greedy continuation leaves llama2.c's documented one after ${s.greedy.matching} of ${s.greedy.new_tokens} tokens.`,
    );
  }
  for (const r of [s.roles_random, s.roles_text]) {
    const prev = top(r.previous_token), ind = top(r.induction);
    const drop = r.loss_first_repeat - r.loss_second_repeat;
    const what = `On repeated ${r.rows}`;
    (prev.value >= 0.5 ? found : notFound).push(
      `${what}, the strongest previous-token head is ${head(prev)} (mean attention ${fmtNum(prev.value, 3)} on the ` +
        `token before)${prev.value >= 0.5 ? "." : ": no head puts half its attention there."}`,
    );
    (ind.value >= 0.3 ? found : notFound).push(
      `${what}, the strongest induction score is ${fmtNum(ind.value, 3)} (${head(ind)})${
        ind.value >= 0.3 ? "" : ": no clear induction head"
      }; the loss falls from ${fmtNum(r.loss_first_repeat, 3)} nats on the first repeat to ` +
        `${fmtNum(r.loss_second_repeat, 3)} on the second${
          drop > 0.5
            ? " — the model copies from context."
            : drop < -0.1
            ? " — the repeat is predicted worse than the first time: no copying from context."
            : " — the model barely copies from context."
        }`,
    );
  }
  const steps = s.masking.steps;
  const last = steps[steps.length - 1]!;
  const randomMean = last.random_perplexity.reduce((a, b) => a + b, 0) / Math.max(1, last.random_perplexity.length);
  const better = last.perplexity < randomMean;
  (better ? found : notFound).push(
    `Masking by importance keeps ${last.heads_kept} of ${s.layers * s.heads} heads at perplexity ` +
      `${fmtNum(last.perplexity, 3)} (from ${fmtNum(steps[0]!.perplexity, 3)}); random masks keeping as many heads ` +
      `give ${fmtNum(randomMean, 3)} on average${better ? "." : ": importance does no better than chance here."}`,
  );
  return { found, notFound };
}

/** The report section. */
export function storiesSectionHtml(s: StoriesSummary): string {
  const { layers: L, heads: H } = s;
  const hm = (id: string, title: string, g: number[][], legend: string, domain?: [number, number]) =>
    heatmapSvg({
      id,
      title,
      data: g.flat(),
      rows: L,
      cols: H,
      rowLabel: "layer",
      colLabel: "head",
      legendLabel: legend,
      ...(domain ? { domain } : {}),
    });
  const { found, notFound } = storiesFindings(s);
  const li = (xs: string[]) => xs.map((x) => `<li>${escapeXml(x)}</li>`).join("");
  const steps = s.masking.steps;
  const chart = lineChartSvg({
    id: "stories-masking",
    title: "stories260K: perplexity as heads are masked",
    xLabel: "fraction of heads kept",
    yLabel: "perplexity on its own samples",
    reverseX: true,
    series: [
      { name: "masked by importance", points: steps.map((st) => [st.fraction_kept, st.perplexity]) },
      {
        name: "random masks (mean of 3)",
        points: steps.map((st) => [
          st.fraction_kept,
          st.random_perplexity.reduce((a, b) => a + b, 0) / Math.max(1, st.random_perplexity.length),
        ]),
      },
    ],
  });
  return `<section id="stories260k">
<h2>A real pretrained decoder: stories260K</h2>
<p>Karpathy's stories260K (llama2.c, trained on TinyStories; MIT) in Hugging Face layout, bundled as
<code>${
    escapeXml(s.model)
  }</code>: a Llama of ${L} layers × ${s.heads} query heads sharing ${s.kv_heads} key/value heads
(grouped-query attention), ${s.parameters.toLocaleString("en-US")} parameters — the first model here that someone else
pretrained.</p>
<h3>Greedy continuation from BOS</h3>
<p>${s.greedy.matching} of ${s.greedy.new_tokens} new tokens equal llama2.c's documented greedy output
(<code>generation.json</code>), decoded with the KV cache:</p>
<blockquote>${escapeXml(s.greedy.text.slice(0, 600))}${s.greedy.text.length > 600 ? "…" : ""}</blockquote>
<h3>Head roles</h3>
<p>The head roles of the induction-head literature (Elhage et al. 2021; Olsson et al. 2022). Rows of BOS + r + r
(${s.roles_random.count} rows, ${s.roles_random.repeat_len} tokens per repeat); scores are the mean
attention of the second repeat's queries on the token before (previous-token), on the same token in the first repeat
(duplicate) and on the token after it (induction). Random r first, then r taken from the start of the model's own
samples.</p>
<div class="figs">
${hm("stories-prev", "previous-token (random tokens)", s.roles_random.previous_token, "attention", [0, 1])}
${hm("stories-ind", "induction (random tokens)", s.roles_random.induction, "attention", [0, 1])}
${hm("stories-ind-text", "induction (its own text)", s.roles_text.induction, "attention", [0, 1])}
</div>
<table><tr><th>rows</th><th>loss, first repeat (nats)</th><th>loss, second repeat</th></tr>
<tr><td>random tokens</td><td>${fmtNum(s.roles_random.loss_first_repeat, 3)}</td><td>${
    fmtNum(s.roles_random.loss_second_repeat, 3)
  }</td></tr>
<tr><td>its own text</td><td>${fmtNum(s.roles_text.loss_first_repeat, 3)}</td><td>${
    fmtNum(s.roles_text.loss_second_repeat, 3)
  }</td></tr></table>
<h3>Which heads matter, by perplexity</h3>
<p><strong>The text here is model-generated:</strong> ${s.samples.count} samples of ${s.samples.tokens} tokens drawn from
stories260K itself at temperature ${s.samples.temperature}, seeds ${s.samples.seeds[0]}–${
    s.samples.seeds[1]
  } (TinyStories
itself is not in this repository); the ${s.samples.held_out} not used for the head roles are the held-out set. Perplexity
on them: ${fmtNum(s.importance.perplexity, 3)}.</p>
<div class="figs">
${hm("stories-imp", "head importance (normalised)", s.importance.head_importance, "importance", [0, 1])}
${chart}
</div>
<h3>What is found, and what is not</h3>
<ul>${li(found)}</ul>
${notFound.length ? `<p>Not found:</p><ul>${li(notFound)}</ul>` : ""}
</section>`;
}
