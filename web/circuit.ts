/**
 * `POST /api/circuit` and `POST /api/circuit/faithfulness`: edge attribution patching on a pre-norm model's
 * residual graph, through `@bertology/core/circuits` as `bertology eap` runs it. `/api/circuit` scores every
 * edge (EAP, or EAP-IG with `ig_steps`: one forward and one backward per step) and answers the nodes, the edges
 * with their scores in `bertology eap --json`'s shape and forward order, m(clean) and m(corrupted);
 * `/api/circuit/faithfulness` measures a given edge set by edge-level patching (every other edge fed its
 * corrupted value), as `bertology eap --circuit FILE.json` does. A post-norm encoder (BERT and kin) has no
 * residual sum for a receiver to read: both answer 400 saying so. `/api/circuit` also answers the node-level
 * views of the same pair: direct logit attribution of the clean prompt (`bertology dla --json`) and attribution
 * patching beside exact activation patching (`bertology atp --json`).
 *
 * @module
 */

import {
  attributionPatching,
  directLogitAttribution,
  edgeAttribution,
  edgeIndices,
  type EdgeName,
  edgeNames,
  faithfulness,
  type MetricSpec,
  resolvePairMetric,
  splitPass,
} from "@bertology/core/circuits";
import type { Batch, TransformerModel } from "@bertology/core/models";
import { type Tokenizer, wordTokenId } from "@bertology/core/tokenizers";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { Deadline } from "./_queue.ts";
import { encodeChecked } from "./analyze.ts";
import { refuseUnknown, requireHead, targetName } from "./attribute.ts";
import { requireObject, textField } from "./_validate.ts";

/** The most EAP-IG steps a request may ask for (each is one forward and one backward of the prompt). */
export const MAX_CIRCUIT_IG_STEPS = 64;

/** The most edges a faithfulness request may name (a 12-layer, 12-head GPT-2 has about 32 000 edges). */
export const MAX_CIRCUIT_EDGES = 200_000;

/** A checked `/api/circuit` request. */
export interface CircuitRequest {
  clean: string;
  corrupted: string;
  /** m's target: a token id or token string (classifiers: a class index or label); default the clean prediction. */
  target?: number | string;
  /** m's distractor, likewise; default the corrupted run's best other token (classifiers: the clean run's best other class). */
  distractor?: number | string;
  /** EAP-IG's steps K; absent: plain EAP. */
  ig_steps?: number;
}

/** A checked `/api/circuit/faithfulness` request: the pair and metric, and the circuit's edges. */
export interface CircuitFaithfulnessRequest extends Omit<CircuitRequest, "ig_steps"> {
  /** The edges in the circuit (every other edge is fed its corrupted value). */
  edges: EdgeName[];
}

/** One scored edge: `bertology eap --json`'s `edges` entry. */
export interface ScoredEdge extends EdgeName {
  /** (out_u(corrupted) − out_u(clean)) · ∂m/∂input_v, summed over positions. */
  score: number;
}

/** Direct logit attribution on the clean prompt: `bertology dla --json`'s fields. */
export interface CircuitDla {
  /** m from the model's own logits. */
  metric: number;
  /** The embeddings' share. */
  embed: number;
  /** [L][H] each head's share (`null` for a pruned head). */
  heads: (number | null)[][];
  /** [L] each MLP output's share. */
  mlps: number[];
  /** [L] each attention-output bias's share. */
  attn_bias: number[];
  /** The final norm bias's (and unembedding bias's) constant term. */
  constant: number;
}

/** Attribution patching beside exact activation patching: `bertology atp --json`'s fields. */
export interface CircuitAtp {
  /** [L][H] AtP of each head's z (`null` for a pruned head). */
  heads: (number | null)[][];
  /** [L] AtP of each MLP output. */
  mlps: number[];
  /** Exact patching: m(corrupted with the component from the clean run) − m(corrupted). */
  exact: { heads: (number | null)[][]; mlps: number[] };
  /** Pearson correlation of AtP and exact patching over every head and MLP. */
  pearson: number | null;
}

/** The `/api/circuit` answer. */
export interface CircuitResponse {
  /** The senders in forward order: `input`, `a{l}.h{h}`, `m{l}`; the receivers add `logits`. */
  nodes: string[];
  /** Every edge, in forward order of receivers (as `bertology eap --json`). */
  edges: ScoredEdge[];
  /** m on the clean prompt. */
  m_clean: number;
  /** m on the corrupted prompt (the empty circuit's m). */
  m_corrupted: number;
  /** m's target logit. */
  target: number;
  /** m's distractor logit. */
  distractor: number;
  /** The token (or class name) of `target`. */
  target_name: string;
  /** The token (or class name) of `distractor`. */
  distractor_name: string;
  /** EAP-IG's K, or `null` for plain EAP. */
  ig_steps: number | null;
  /** Direct logit attribution of the clean prompt (language models; `null` for a classifier). */
  dla: CircuitDla | null;
  /** AtP of every head and MLP beside exact activation patching. */
  atp: CircuitAtp;
  /** The clean prompt's tokens. */
  tokens_clean: string[];
  /** The corrupted prompt's tokens. */
  tokens_corrupted: string[];
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

/** The `/api/circuit/faithfulness` answer: `bertology eap --json`'s `faithfulness` entry, with m's ends. */
export interface CircuitFaithfulnessResponse {
  /** How many distinct edges the circuit has. */
  k: number;
  /** m with every edge outside the circuit patched. */
  m_circuit: number;
  /** (m(circuit) − m(corrupted)) / (m(clean) − m(corrupted)). */
  value: number;
  /** m on the clean prompt. */
  m_clean: number;
  /** m on the corrupted prompt. */
  m_corrupted: number;
  /** Compute time in milliseconds (queueing excluded). */
  elapsed_ms: number;
}

const PAIR_FIELDS = ["clean", "corrupted", "target", "distractor"];

/** A logit field: a non-negative integer or a non-empty string. */
function logitField(obj: Record<string, unknown>, key: "target" | "distractor"): number | string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if ((typeof v === "number" && Number.isInteger(v) && v >= 0) || (typeof v === "string" && v.trim() !== "")) {
    return v;
  }
  throw new HttpError(400, "invalid_field", `"${key}" must be a token id or a token string, got ${excerpt(v)}`, {
    field: key,
  });
}

function parsePair(obj: Record<string, unknown>, model: TransformerModel, limits: Limits): CircuitRequest {
  const req: CircuitRequest = {
    clean: textField(obj, "clean", "clean", limits, false)!,
    corrupted: textField(obj, "corrupted", "corrupted", limits, false)!,
  };
  for (const key of ["target", "distractor"] as const) {
    const v = logitField(obj, key);
    if (v !== undefined) req[key] = v;
  }
  requireHead(model, "clean");
  return req;
}

/**
 * Checks an `/api/circuit` body.
 *
 * @param body the parsed JSON
 * @param model the model (it must have a head)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413/422 naming the field
 * @example Usage
 * ```ts ignore
 * parseCircuitRequest({ clean: "When Mary and John", corrupted: "When Anna and John", ig_steps: 5 }, model, limits);
 * ```
 */
export function parseCircuitRequest(body: unknown, model: TransformerModel, limits: Limits): CircuitRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, [...PAIR_FIELDS, "ig_steps"]);
  const req = parsePair(obj, model, limits);
  const steps = obj.ig_steps;
  if (steps !== undefined && steps !== null) {
    if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > MAX_CIRCUIT_IG_STEPS) {
      throw new HttpError(
        400,
        "invalid_field",
        `"ig_steps" must be an integer in 1..${MAX_CIRCUIT_IG_STEPS}, got ${excerpt(steps)}`,
        { field: "ig_steps" },
      );
    }
    req.ig_steps = steps;
  }
  return req;
}

/**
 * Checks an `/api/circuit/faithfulness` body: the pair as `/api/circuit` takes it, and `edges`, a list of
 * `{from, to, path}` (the edges of `/api/circuit`'s answer; a score is ignored).
 *
 * @param body the parsed JSON
 * @param model the model (it must have a head)
 * @param limits the limits
 * @returns the checked request
 * @throws {HttpError} 400/413/422 naming the field (`edges[3].path`)
 * @example Usage
 * ```ts ignore
 * parseCircuitFaithfulnessRequest({ clean: "a b", corrupted: "a c", edges: [{ from: "input", to: "logits", path: "logits" }] }, model, limits);
 * ```
 */
export function parseCircuitFaithfulnessRequest(
  body: unknown,
  model: TransformerModel,
  limits: Limits,
): CircuitFaithfulnessRequest {
  const obj = requireObject(body);
  refuseUnknown(obj, [...PAIR_FIELDS, "edges"]);
  const list = obj.edges;
  if (!Array.isArray(list)) {
    throw new HttpError(
      400,
      "invalid_field",
      `"edges" must be a list of {"from", "to", "path"}, got ${excerpt(list)}`,
      {
        field: "edges",
      },
    );
  }
  if (list.length > MAX_CIRCUIT_EDGES) {
    throw new HttpError(400, "invalid_field", `"edges" has ${list.length} entries; the limit is ${MAX_CIRCUIT_EDGES}`, {
      field: "edges",
    });
  }
  const edges = list.map((e, i): EdgeName => {
    const where = `edges[${i}]`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      throw new HttpError(
        400,
        "invalid_field",
        `"${where}" must be an object {"from", "to", "path"}, got ${excerpt(e)}`,
        {
          field: where,
        },
      );
    }
    const rec = e as Record<string, unknown>;
    for (const key of ["from", "to", "path"]) {
      if (typeof rec[key] !== "string") {
        throw new HttpError(400, "invalid_field", `"${where}.${key}" must be a string, got ${excerpt(rec[key])}`, {
          field: `${where}.${key}`,
        });
      }
    }
    return { from: rec.from as string, to: rec.to as string, path: rec.path as EdgeName["path"] };
  });
  return { ...parsePair(obj, model, limits), edges };
}

/** A checked target or distractor as a logit index (language models: a token id or token; classifiers: a class). */
function resolveLogit(
  model: TransformerModel,
  tokenizer: Tokenizer,
  value: number | string | undefined,
  field: "target" | "distractor",
): number | undefined {
  if (value === undefined) return undefined;
  const lm = model.task === "lm";
  const width = lm ? model.config.vocabSize : Math.max(1, model.config.labels.length);
  const refuse = (why: string) => new HttpError(422, "invalid_field", `"${field}" ${why}`, { field });
  if (typeof value === "number") {
    if (value >= width) throw refuse(`${value} is outside 0..${width - 1}`);
    return value;
  }
  const id = lm ? wordTokenId(tokenizer, value) : model.config.labels.indexOf(value);
  if (id === undefined || id < 0) {
    throw refuse(`${excerpt(value)} is not a ${lm ? "token id or a token of the vocabulary" : "class index or label"}`);
  }
  return id;
}

interface Pair {
  clean: Batch;
  corrupted: Batch;
  tokensClean: string[];
  tokensCorrupted: string[];
  target?: number;
  distractor?: number;
}

function encodePair(model: TransformerModel, tokenizer: Tokenizer, req: CircuitRequest, limits: Limits): Pair {
  const clean = encodeChecked(tokenizer, req.clean, undefined, limits, "clean");
  const corrupted = encodeChecked(tokenizer, req.corrupted, undefined, limits, "corrupted");
  if (corrupted.ids.length !== clean.ids.length) {
    throw new HttpError(
      422,
      "invalid_field",
      `"corrupted" must encode to as many tokens as "clean" (${clean.ids.length}), got ${corrupted.ids.length}`,
      { field: "corrupted" },
    );
  }
  const row = (ids: readonly number[]): Batch => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });
  const pair: Pair = {
    clean: row(clean.ids),
    corrupted: row(corrupted.ids),
    tokensClean: clean.tokens,
    tokensCorrupted: corrupted.tokens,
  };
  const target = resolveLogit(model, tokenizer, req.target, "target");
  const distractor = resolveLogit(model, tokenizer, req.distractor, "distractor");
  if (target !== undefined) pair.target = target;
  if (distractor !== undefined) pair.distractor = distractor;
  if (target !== undefined && target === distractor) {
    throw new HttpError(422, "invalid_field", `"distractor" is the target's logit (${target}): m would be 0`, {
      field: "distractor",
    });
  }
  return pair;
}

/** The library's refusals that depend on the model or the input, as HTTP errors naming the field. */
function asCircuitError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  if (e.message.includes("post-norm")) {
    return new HttpError(
      400,
      "bad_request",
      `The residual graph is for pre-norm models (GPT-2, Llama and kin): ${e.message}`,
      { field: "model" },
    );
  }
  if (/^(target|distractor) /.test(e.message)) {
    const field = e.message.split(" ")[0]!;
    return new HttpError(422, "invalid_field", `"${field}": ${e.message}`, { field });
  }
  return e;
}

function metricOf(model: TransformerModel, pair: Pair): MetricSpec {
  try {
    return resolvePairMetric(model, pair.clean, pair.corrupted, { target: pair.target, distractor: pair.distractor });
  } catch (e) {
    throw asCircuitError(e);
  }
}

/**
 * Scores every edge by EAP or EAP-IG (synchronous compute; call it from the compute queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked before the compute
 * @returns the answer
 * @throws {HttpError} 400 for a post-norm model; 422 for too many tokens, prompts of different token counts or a
 *   target equal to its distractor; 503 when the deadline passes
 * @example Usage
 * ```ts ignore
 * circuit(model, tokenizer, { clean: "When Mary and John", corrupted: "When Anna and John" }, limits, deadline).edges;
 * ```
 */
export function circuit(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: CircuitRequest,
  limits: Limits,
  deadline: Deadline,
): CircuitResponse {
  const t0 = performance.now();
  const pair = encodePair(model, tokenizer, req, limits);
  const metric = metricOf(model, pair);
  deadline.check("edge attribution patching");
  let r;
  try {
    r = edgeAttribution(model, pair.clean, pair.corrupted, {
      ...metric,
      ...(req.ig_steps !== undefined ? { igSteps: req.ig_steps } : {}),
    });
  } catch (e) {
    throw asCircuitError(e);
  }
  deadline.check("direct logit attribution and attribution patching");
  const cleanInput = { inputIds: Array.from(pair.clean.inputIds) };
  const corruptedInput = { inputIds: Array.from(pair.corrupted.inputIds) };
  const { layers: L, heads: H } = model.config;
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  const grid = (data: ArrayLike<number>) =>
    Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => num(data[l * H + h]!)));
  let dla: CircuitDla | null = null;
  if (model.task === "lm") {
    const d = directLogitAttribution(model, cleanInput, metric);
    dla = {
      metric: d.metric,
      embed: d.embed,
      heads: grid(d.heads.data),
      mlps: Array.from(d.mlps),
      attn_bias: Array.from(d.attnBias),
      constant: d.constant,
    };
  }
  const a = attributionPatching(model, cleanInput, corruptedInput, metric);
  const atp: CircuitAtp = {
    heads: grid(a.heads.data),
    mlps: Array.from(a.mlps),
    exact: { heads: grid(a.exact!.heads.data), mlps: Array.from(a.exact!.mlps) },
    pearson: a.pearson === undefined ? null : num(a.pearson),
  };
  return {
    dla,
    atp,
    nodes: r.graph.nodes,
    edges: edgeNames(r.graph).map((e, i) => ({ ...e, score: r.scores[i]! })),
    m_clean: r.clean.metric,
    m_corrupted: r.corrupted.metric,
    target: metric.target,
    distractor: metric.distractor,
    target_name: targetName(model, tokenizer, metric.target),
    distractor_name: targetName(model, tokenizer, metric.distractor),
    ig_steps: req.ig_steps ?? null,
    tokens_clean: pair.tokensClean,
    tokens_corrupted: pair.tokensCorrupted,
    elapsed_ms: Math.round(performance.now() - t0),
  };
}

/**
 * Measures the faithfulness of an edge set by edge-level patching (synchronous compute; from the queue).
 *
 * @param model the model
 * @param tokenizer its tokenizer
 * @param req the checked request
 * @param limits the limits
 * @param deadline checked before the compute
 * @returns the answer
 * @throws {HttpError} as {@linkcode circuit}, and 422 naming `edges` for an edge the graph does not have
 * @example Usage
 * ```ts ignore
 * circuitFaithfulness(model, tokenizer, { clean, corrupted, edges: answer.edges.slice(0, 10) }, limits, deadline).value;
 * ```
 */
export function circuitFaithfulness(
  model: TransformerModel,
  tokenizer: Tokenizer,
  req: CircuitFaithfulnessRequest,
  limits: Limits,
  deadline: Deadline,
): CircuitFaithfulnessResponse {
  const t0 = performance.now();
  const pair = encodePair(model, tokenizer, req, limits);
  const metric = metricOf(model, pair);
  deadline.check("edge-level patching");
  try {
    const clean = splitPass(model, pair.clean, metric);
    const corrupted = splitPass(model, pair.corrupted, metric, { senders: true });
    let edges: number[];
    try {
      edges = [...new Set(edgeIndices(corrupted.graph, req.edges, '"edges"'))];
    } catch (e) {
      throw new HttpError(422, "invalid_field", (e as Error).message, { field: "edges" });
    }
    const f = faithfulness(model, pair.clean, metric, corrupted, clean.metric, edges);
    return {
      ...f,
      m_clean: clean.metric,
      m_corrupted: corrupted.metric,
      elapsed_ms: Math.round(performance.now() - t0),
    };
  } catch (e) {
    throw asCircuitError(e);
  }
}
