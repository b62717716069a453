/**
 * The demo's attribution study: integrated gradients, gradient × input, saliency, attention rollout and flow
 * of the bundled BERT on a few dev sentences, head patching of one sentence against itself with its most
 * attributed token masked, and the logit lens of the bundled GPT-2 — the numbers behind
 * `report/attribution_sections.ts`.
 *
 * @module
 */

import {
  argmax,
  attentionFlow,
  attentionRollout,
  integratedGradients,
  logitLens,
  outputLogits,
  patchHeads,
  resolveBaseline,
  tokenGradients,
  wordScores,
  wordSpans,
} from "@bertology/core/attribution";
import type { InputExample } from "@bertology/core/data";
import type { LoadedModel } from "@bertology/core/models";
import {
  ATTRIBUTION_CSS,
  type AttributionSection,
  attributionSectionHtml,
  type LogitLensSection,
  logitLensSectionHtml,
  type PatchingFigure,
} from "./report/attribution_sections.ts";
import { specialPositions } from "./commands/_target.ts";

/** Options of {@linkcode attributionStudy}. */
export interface AttributionStudyOptions {
  /** Integrated-gradients steps (default 50). */
  steps?: number;
  /** Display names of the classes (default the model's labels). */
  labelNames?: readonly string[];
  /** Shell-quoted model folder for the reproduce commands (default `dir`). */
  quotedDir?: string;
}

/**
 * The first `n` examples whose first sentence encodes to `minTokens`–`maxTokens` tokens (fewer if the data has
 * fewer).
 *
 * @example Usage
 * ```ts ignore
 * const picked = pickSentences(data.examples, tokenizer, 4);
 * ```
 */
export function pickSentences(
  examples: readonly InputExample[],
  tokenizer: NonNullable<LoadedModel["tokenizer"]>,
  n: number,
  minTokens = 6,
  maxTokens = 14,
): InputExample[] {
  const out: InputExample[] = [];
  for (const e of examples) {
    if (out.length >= n) break;
    const len = tokenizer.encode(e.textA.trim()).ids.length;
    if (len >= minTokens && len <= maxTokens) out.push(e);
  }
  return out;
}

/**
 * Explains a classifier's predictions on `examples` with every method, and patches the first sentence's
 * heads against a copy with its most attributed word token replaced by `[MASK]` (`[PAD]` without one).
 *
 * @param loaded a classifier with its tokenizer
 * @param dir its folder (for the reproduce commands)
 * @param examples the sentences (and gold labels)
 * @param opts steps, label names
 * @throws {Error} for a model that is not a classifier
 */
export function attributionStudy(
  loaded: LoadedModel,
  dir: string,
  examples: readonly InputExample[],
  opts: AttributionStudyOptions = {},
): AttributionSection {
  const { model } = loaded;
  const tok = loaded.tokenizer!;
  if (model.task !== "classify") throw new Error(`attributionStudy explains a classifier, not a ${model.task} model`);
  const steps = opts.steps ?? 50;
  const names = opts.labelNames ?? model.config.labels;
  const name = (c: number) => names[c] ?? String(c);
  const baseline = resolveBaseline(model, tok, "pad");
  let patchSource: { ids: number[]; tokens: string[]; position: number; sentence: string } | undefined;
  const out = examples.map((e) => {
    const sentence = e.textA.trim();
    const enc = tok.encode(sentence);
    const input = { inputIds: enc.ids, tokenTypeIds: enc.tokenTypeIds };
    const keep = specialPositions(tok, enc.ids);
    const g = tokenGradients(model, input);
    const ig = integratedGradients(model, input, { target: g.target, steps, baseline, keep });
    const rollout = attentionRollout(model, input).scores;
    const flow = attentionFlow(model, input).scores;
    const logits = model.run({ batch: { batchSize: 1, seqLen: enc.ids.length, inputIds: Int32Array.from(enc.ids) } })
      .logits!.data;
    const max = Math.max(...logits);
    const z = Array.from(logits).reduce((s, v) => s + Math.exp(v - max), 0);
    const spans = wordSpans(enc, sentence);
    const perWord = wordScores(ig.scores, spans);
    if (patchSource === undefined) {
      let best = -1;
      ig.scores.forEach((v, t) => {
        if (!keep[t] && (best < 0 || Math.abs(v) > Math.abs(ig.scores[best]!))) best = t;
      });
      if (best >= 0) patchSource = { ids: enc.ids, tokens: enc.tokens, position: best, sentence };
    }
    const gold = typeof e.label === "string" ? model.config.labels.indexOf(e.label) : -1;
    return {
      sentence,
      ...(gold >= 0 ? { gold: name(gold) } : {}),
      tokens: enc.tokens,
      target: name(g.target),
      probability: Math.exp(logits[g.target]! - max) / z,
      words: spans.map((w, i) => ({ text: w.text, score: perWord[i]! })),
      methods: [
        { method: "integrated gradients", scores: Array.from(ig.scores), signed: true },
        { method: "gradient × input", scores: Array.from(g.gradInput), signed: true },
        { method: "saliency", scores: Array.from(g.saliency), signed: false },
        { method: "rollout", scores: Array.from(rollout), signed: false },
        { method: "flow", scores: Array.from(flow), signed: false },
      ],
      completenessGap: ig.relativeGap,
    };
  });
  const q = opts.quotedDir ?? dir;
  const first = examples[0]?.textA.trim() ?? "";
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const commands = ["ig", "grad-input", "saliency", "rollout", "flow"].map((m) =>
    `deno task cli attribute --model ${q} --text ${quote(first)} --method ${m}`
  );
  const section: AttributionSection = {
    model: dir,
    steps,
    baseline: tok.idToToken(baselineId(baseline)),
    examples: out,
    commands,
  };
  if (patchSource !== undefined) {
    const corrupted = corruptedIds(loaded, patchSource);
    const figure = patchingFigure(loaded, patchSource, corrupted, name);
    if (figure !== undefined) {
      section.patching = figure;
      const text = tok.decode(corrupted, { skipSpecialTokens: true });
      commands.push(
        `deno task cli patch --model ${q} --clean ${quote(patchSource.sentence)} --corrupted ${quote(text)}`,
      );
    }
  }
  return section;
}

function baselineId(b: ReturnType<typeof resolveBaseline>): number {
  return b.kind === "token" ? b.tokenId : 0;
}

/** Replacements tried for the corrupted token: [MASK] and a few words of either sentiment. */
const REPLACEMENTS = ["[MASK]", "bad", "good", "dull", "great", "boring", "fine", "awful"];

/**
 * The corrupted ids: the chosen position's token replaced by whichever of {@linkcode REPLACEMENTS} (in the
 * vocabulary) changes the logit difference of the prediction most.
 */
function corruptedIds(loaded: LoadedModel, src: { ids: number[]; position: number }): number[] {
  const tok = loaded.tokenizer!;
  const ids = REPLACEMENTS.map((w) => tok.tokenToId(w)).filter((v): v is number => v !== undefined);
  const variants = [src.ids, ...ids.map((id) => src.ids.map((v, i) => (i === src.position ? id : v)))];
  const T = src.ids.length;
  const logits = outputLogits(loaded.model, {
    batchSize: variants.length,
    seqLen: T,
    inputIds: Int32Array.from(variants.flat()),
  });
  const W = logits.width, row = (r: number) => logits.data.subarray(r * W, (r + 1) * W);
  const target = argmax(row(0)), other = argmax(row(0), target);
  const d = (r: number) => row(r)[target]! - row(r)[other]!;
  let best = 1;
  for (let r = 2; r < variants.length; r++) if (Math.abs(d(r) - d(0)) > Math.abs(d(best) - d(0))) best = r;
  return variants[Math.min(best, variants.length - 1)]!;
}

function patchingFigure(
  loaded: LoadedModel,
  src: { ids: number[]; tokens: string[]; position: number; sentence: string },
  corrupted: number[],
  name: (c: number) => string,
): PatchingFigure | undefined {
  const { model } = loaded;
  let p;
  try {
    p = patchHeads(model, { inputIds: src.ids }, { inputIds: corrupted });
  } catch {
    return undefined; // the swap changed nothing: there is nothing to restore
  }
  return {
    sentence: src.sentence,
    swap: {
      position: src.position,
      from: src.tokens[src.position]!,
      to: loaded.tokenizer!.idToToken(corrupted[src.position]!),
    },
    layers: model.config.layers,
    heads: model.config.heads,
    effect: Array.from(p.heads.data),
    mlp: Array.from(p.mlp),
    logitDiffClean: p.logitDiffClean,
    logitDiffCorrupted: p.logitDiffCorrupted,
    target: name(p.target),
    other: name(p.other),
  };
}

/**
 * The logit lens of a language model on one sentence (cut to `maxTokens` tokens).
 *
 * @param loaded a language model with its tokenizer
 * @param dir its folder
 * @param sentence the text
 * @param maxTokens the most tokens shown (default 12)
 * @param quotedDir the folder as the reproduce command writes it (default `dir`)
 * @throws {Error} for a model that is not a language model
 */
export function logitLensStudy(
  loaded: LoadedModel,
  dir: string,
  sentence: string,
  maxTokens = 12,
  quotedDir = dir,
): LogitLensSection {
  const tok = loaded.tokenizer!;
  const ids = tok.encode(sentence).ids.slice(0, maxTokens);
  const text = tok.decode(ids);
  const lens = logitLens(loaded.model, { inputIds: ids }, { topK: 1 });
  const T = ids.length;
  // byte-level BPE pieces read as their text ("Ġfilm" → "film"); a bare space as ␣
  const show = (id: number) => tok.decode([id]).trim() || "␣";
  const grid = <V>(f: (r: number, t: number) => V) =>
    lens.layers.map((_, r) => Array.from({ length: T }, (_, t) => f(r, t)));
  return {
    model: dir,
    sentence: text,
    tokens: ids.map(show),
    layers: lens.layers,
    top: grid((r, t) => show(lens.topIds[r * T + t]!)),
    topProb: grid((r, t) => lens.topProbs[r * T + t]!),
    targetRank: grid((r, t) => lens.ranks[r * T + t]!),
    targets: Array.from(lens.targets, show),
    command: `deno task cli logit-lens --model ${quotedDir} --text '${text.replace(/'/g, `'\\''`)}'`,
  };
}

/** What {@linkcode attributionSections} studies. */
export interface AttributionSectionsInput {
  /** The BERT classifier. */
  bert: LoadedModel;
  /** Its folder. */
  bertDir: string;
  /** Dev examples to pick the explained sentences from. */
  examples: readonly InputExample[];
  /** The GPT-2 language model. */
  gpt2: LoadedModel;
  /** Its folder. */
  gpt2Dir: string;
  /** The sentence of the logit-lens figure. */
  sentence: string;
  /** Sentences explained (default 4). */
  count?: number;
  /** How a path is written in a shell command. */
  quote?: (s: string) => string;
}

/**
 * The report's attribution and logit-lens sections as HTML, with their own styles. SST-2 classes are named
 * negative (0) and positive (1).
 *
 * @example Usage
 * ```ts ignore
 * const sections = attributionSections({ bert, bertDir, examples, gpt2, gpt2Dir, sentence });
 * ```
 */
export function attributionSections(o: AttributionSectionsInput): string[] {
  const quote = o.quote ?? ((s: string) => s);
  const picked = pickSentences(o.examples, o.bert.tokenizer!, o.count ?? 4);
  const labels = o.bert.model.config.labels;
  const sst2 = labels.length === 2 && labels[0] === "0" && labels[1] === "1";
  const attribution = attributionStudy(o.bert, o.bertDir, picked, {
    quotedDir: quote(o.bertDir),
    ...(sst2 ? { labelNames: ["negative", "positive"] } : {}),
  });
  const lens = logitLensStudy(o.gpt2, o.gpt2Dir, o.sentence, 12, quote(o.gpt2Dir));
  return [
    `<style>${ATTRIBUTION_CSS}</style>\n${attributionSectionHtml(attribution)}`,
    logitLensSectionHtml(lens),
  ];
}
