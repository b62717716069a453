/**
 * The edge-level circuit commands on a pre-norm model's residual graph (`@bertology/core/circuits`):
 * `bertology eap` (edge attribution patching, EAP-IG, faithfulness of the top-k edges or of a given circuit),
 * `bertology path-patch` (Wang et al.'s path patching) and `bertology acdc` (Conmy et al.'s ACDC).
 *
 * @module
 */

import {
  acdc,
  edgeAttribution,
  edgeIndices,
  type EdgeName,
  edgeNames,
  type Faithfulness,
  faithfulness,
  faithfulnessAtK,
  pathPatching,
  rankEdges,
} from "@bertology/core/circuits";
import type { Batch, TransformerModel } from "@bertology/core/models";
import type { Tokenizer } from "@bertology/core/tokenizers";
import {
  DTYPE_OPTION,
  dtypeFlag,
  formatTable,
  numberFlag,
  openModel,
  parseFlags,
  readJsonFile,
  required,
  UsageError,
} from "../_common.ts";
import { encodeText, parseTarget, targetName } from "./_target.ts";

const PAIR_USAGE =
  `--model DIR --clean S --corrupted S2 [--target TOKEN] [--distractor TOKEN] [--json] [--dtype f32|f16]`;
const PAIR_HELP =
  `  m = logit[target] − logit[distractor] at the last position (a classifier: the best other logit); --target
  and --distractor take a token id or a token string (default: the clean prediction, and the corrupted run's best
  other token — a classifier: the clean run's best other class). The
  clean and corrupted prompts must have the same number of tokens. Nodes: input, a{l}.h{h} (a head's result,
  without the output-projection bias), m{l}, logits; each receiver — (a{l}.h{h}, q|k|v), (m{l}, mlp),
  (logits, logits) — reads its own copy of the pre-norm residual. Pre-norm models only: a post-norm encoder
  (BERT and kin) has no residual sum for a receiver to read (use patch, attribute).`;

/** Help text of `bertology eap`. */
export const EAP_HELP = `bertology eap ${PAIR_USAGE}
                   [--ig-steps K] [--top-k N] [--faithfulness] [--circuit FILE.json]
  Edge attribution patching: score(u → v) = (out_u(corrupted) − out_u(clean)) · ∂m/∂input_v on the clean run,
  summed over positions, every edge from one forward and one backward; --ig-steps K: EAP-IG, the gradient
  averaged over K runs whose input embeddings are emb_corr + (k/K)(emb_clean − emb_corr), k = 1…K.
  --top-k N (default 20): the table shows the N edges of largest |score| (ties: the earlier edge).
  --faithfulness: (m(circuit) − m(corrupted)) / (m(clean) − m(corrupted)) of the top k = 5, 10, 20, 50 and N
  edges, measured by running the model with every other edge fed its corrupted value (edge-level patching).
  --circuit FILE.json: the faithfulness of that edge set (a list of {from, to, path}, or an object with such an
  "edges" list, as acdc --json writes).
${PAIR_HELP}
  --json prints {"edges": [{from, to, path, score}] (forward order of receivers), "faithfulness": [{k,
  m_circuit, value}]}.`;

/** Help text of `bertology path-patch`. */
export const PATH_PATCH_HELP = `bertology path-patch ${PAIR_USAGE}
                   --receivers R1,R2… [--senders N1,N2…]
  Path patching (Wang et al. 2022): the edges from the senders to the receivers carry the senders' corrupted
  outputs, every other path its clean value; reports m and the share of m(clean) − m(corrupted) the paths
  carry, (m(clean) − m(patched)) / (m(clean) − m(corrupted)). Receivers: logits, m1, a2.h0 (its q, k and v),
  a2.h0:q. Without --senders: every head alone, as a [layer × head] table.
${PAIR_HELP}
  --json prints {"m_clean", "m_corrupted", "effects": [{senders, m_patched, fraction}]}.`;

/** Help text of `bertology acdc`. */
export const ACDC_HELP = `bertology acdc ${PAIR_USAGE} [--tau T]
  ACDC (Conmy et al. 2023): from the logits backwards, every edge whose removal (its corrupted value fed in)
  raises KL(clean ‖ circuit) of the last position's next-token distribution by less than τ (default 0.001) is
  removed. Reports the circuit, its edge count and the faithfulness it measured. One run per edge visited: for
  small models.
${PAIR_HELP}
  --json prints {"edges": [{from, to, path}], "edge_count", "kl", "m_clean", "m_corrupted", "m_circuit",
  "faithfulness", "passes"} (its edges read back with eap --circuit).`;

const PAIR_FLAGS = {
  model: { type: "string" },
  clean: { type: "string" },
  corrupted: { type: "string" },
  target: { type: "string" },
  distractor: { type: "string" },
  json: { type: "boolean" },
  offline: { type: "boolean" },
  ...DTYPE_OPTION,
} as const;

interface Pair {
  model: TransformerModel;
  tokenizer: Tokenizer;
  clean: Batch;
  corrupted: Batch;
  target?: number;
  distractor?: number;
}

async function openPair(values: {
  model?: string | undefined;
  clean?: string | undefined;
  corrupted?: string | undefined;
  target?: string | undefined;
  distractor?: string | undefined;
  offline?: boolean | undefined;
  dtype?: string | undefined;
}): Promise<Pair> {
  const modelDir = required(values.model, "model");
  const cleanText = required(values.clean, "clean"), corruptedText = required(values.corrupted, "corrupted");
  const { model, tokenizer } = await openModel(modelDir, {
    offline: values.offline === true,
    dtype: dtypeFlag(values.dtype),
  });
  if (!model.hasHead) throw new Error(`${modelDir} has no LM or classifier head: there is no logit difference`);
  const tok = tokenizer!;
  const clean = encodeText(model, tok, cleanText, undefined, "--clean");
  const corrupted = encodeText(model, tok, corruptedText, undefined, "--corrupted");
  if (corrupted.tokens.length !== clean.tokens.length) {
    throw new UsageError(
      `--clean and --corrupted must have the same number of tokens (${clean.tokens.length}: ${
        clean.tokens.join(" ")
      } vs ${corrupted.tokens.length}: ${corrupted.tokens.join(" ")})`,
    );
  }
  const row = (ids: readonly number[]): Batch => ({ batchSize: 1, seqLen: ids.length, inputIds: Int32Array.from(ids) });
  const pair: Pair = {
    model,
    tokenizer: tok,
    clean: row(clean.input.inputIds),
    corrupted: row(corrupted.input.inputIds),
  };
  const target = parseTarget(model, tok, values.target);
  const distractor = parseTarget(model, tok, values.distractor, "distractor");
  if (target !== undefined) pair.target = target;
  if (distractor !== undefined) pair.distractor = distractor;
  return pair;
}

function metricLine(p: Pair, m: { target: number; distractor: number }, clean: number, corrupted: number): string {
  const name = (i: number) => `${i} (${JSON.stringify(targetName(p.model, p.tokenizer, i))})`;
  return `m = logit[${name(m.target)}] − logit[${name(m.distractor)}]: clean ${clean.toFixed(5)}, corrupted ${
    corrupted.toFixed(5)
  }`;
}

const edgeLabel = (e: EdgeName) => `${e.from} → ${e.to}${e.path === "logits" ? "" : `.${e.path}`}`;

/** Reads `--circuit FILE.json`: a list of {from, to, path}, or an object with an `edges` list. */
function readCircuit(path: string): EdgeName[] {
  const json = readJsonFile(path);
  const list = Array.isArray(json) ? json : (json as { edges?: unknown } | null)?.edges;
  if (!Array.isArray(list)) {
    throw new Error(`${path}: a circuit is a list of {"from", "to", "path"} (or an object with such an "edges" list)`);
  }
  return list as EdgeName[];
}

/** Runs `bertology eap`; returns the exit code. */
export async function eapCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    ...PAIR_FLAGS,
    "ig-steps": { type: "string" },
    "top-k": { type: "string" },
    faithfulness: { type: "boolean" },
    circuit: { type: "string" },
  });
  const igSteps = values["ig-steps"] === undefined ? undefined : numberFlag(values["ig-steps"], "ig-steps", 1, true);
  if (igSteps !== undefined && igSteps < 1) throw new UsageError(`--ig-steps must be at least 1, got ${igSteps}`);
  const topK = numberFlag(values["top-k"], "top-k", 20, true);
  if (topK < 0) throw new UsageError(`--top-k must be at least 0, got ${topK}`);
  const p = await openPair(values);
  const r = edgeAttribution(p.model, p.clean, p.corrupted, {
    ...(p.target !== undefined ? { target: p.target } : {}),
    ...(p.distractor !== undefined ? { distractor: p.distractor } : {}),
    ...(igSteps !== undefined ? { igSteps } : {}),
  });
  const names = edgeNames(r.graph);
  const faith: Faithfulness[] = [];
  if (values.faithfulness === true) {
    const ks = [...new Set([5, 10, 20, 50, topK])].sort((a, b) => a - b);
    faith.push(...faithfulnessAtK(p.model, p.clean, r.metric, r.corrupted, r.clean.metric, r.scores, ks));
  }
  if (values.circuit !== undefined) {
    const edges = edgeIndices(r.graph, readCircuit(values.circuit), values.circuit);
    faith.push(faithfulness(p.model, p.clean, r.metric, r.corrupted, r.clean.metric, [...new Set(edges)]));
  }
  if (values.json === true) {
    console.log(JSON.stringify({
      edges: names.map((e, i) => ({ ...e, score: r.scores[i] })),
      faithfulness: faith,
    }));
    return 0;
  }
  console.log(metricLine(p, r.metric, r.clean.metric, r.corrupted.metric));
  console.log(
    `${
      igSteps === undefined ? "EAP" : `EAP-IG (${igSteps} steps)`
    }: ${r.graph.edgeCount} edges between ${r.graph.nodes.length} nodes and ${r.graph.receivers.length} receivers; top ${
      Math.min(topK, r.graph.edgeCount)
    } by |score|:`,
  );
  const order = rankEdges(r.scores).subarray(0, topK);
  const labels = [...order].map((e) => edgeLabel(names[e]!));
  const width = Math.max(4, ...labels.map((l) => l.length));
  console.log(`${"rank".padStart(4)}  ${"edge".padEnd(width)}  score`);
  order.forEach((e, i) =>
    console.log(`${String(i + 1).padStart(4)}  ${labels[i]!.padEnd(width)}  ${r.scores[e]!.toFixed(6)}`)
  );
  for (const f of faith) {
    console.log(
      `faithfulness of ${f.k} edges: m ${f.m_circuit.toFixed(5)}, (m − m_corr)/(m_clean − m_corr) ${
        f.value.toFixed(4)
      }`,
    );
  }
  return 0;
}

/** Runs `bertology path-patch`; returns the exit code. */
export async function pathPatchCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...PAIR_FLAGS, receivers: { type: "string" }, senders: { type: "string" } });
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const receivers = list(required(values.receivers, "receivers"));
  if (receivers.length === 0) throw new UsageError("--receivers names no receiver");
  const p = await openPair(values);
  const r = pathPatching(p.model, p.clean, p.corrupted, {
    receivers,
    ...(values.senders !== undefined ? { senders: list(values.senders) } : {}),
    ...(p.target !== undefined ? { target: p.target } : {}),
    ...(p.distractor !== undefined ? { distractor: p.distractor } : {}),
  });
  if (values.json === true) {
    console.log(JSON.stringify({ m_clean: r.m_clean, m_corrupted: r.m_corrupted, effects: r.effects }));
    return 0;
  }
  console.log(metricLine(p, r.metric, r.m_clean, r.m_corrupted));
  if (values.senders !== undefined) {
    const e = r.effects[0]!;
    console.log(
      `${e.senders.join(", ")} → ${receivers.join(", ")}: m ${e.m_patched.toFixed(5)}, share ${e.fraction.toFixed(4)}`,
    );
    return 0;
  }
  const { layers: L, heads: H } = p.model.config;
  const table = new Float32Array(L * H).fill(NaN);
  for (const e of r.effects) {
    const [l, h] = e.senders[0]!.slice(1).split(".h").map(Number);
    table[l! * H + h!] = e.fraction;
  }
  console.log(
    formatTable(`share of m(clean) − m(corrupted) each head's paths to ${receivers.join(", ")} carry`, table, L, H, 4),
  );
  return 0;
}

/** Runs `bertology acdc`; returns the exit code. */
export async function acdcCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { ...PAIR_FLAGS, tau: { type: "string" } });
  const tau = numberFlag(values.tau, "tau", 1e-3);
  if (tau < 0) throw new UsageError(`--tau must be at least 0, got ${tau}`);
  const p = await openPair(values);
  const r = acdc(p.model, p.clean, p.corrupted, {
    tau,
    ...(p.target !== undefined ? { target: p.target } : {}),
    ...(p.distractor !== undefined ? { distractor: p.distractor } : {}),
  });
  const names = edgeNames(r.graph);
  if (values.json === true) {
    console.log(JSON.stringify({
      edges: r.edges.map((e) => names[e]),
      edge_count: r.edges.length,
      kl: r.kl,
      m_clean: r.m_clean,
      m_corrupted: r.m_corrupted,
      m_circuit: r.m_circuit,
      faithfulness: r.faithfulness,
      passes: r.passes,
    }));
    return 0;
  }
  console.log(metricLine(p, r.metric, r.m_clean, r.m_corrupted));
  console.log(
    `ACDC, τ = ${tau}: ${r.edges.length} of ${r.graph.edgeCount} edges kept (${r.passes} runs); KL(clean ‖ circuit) ${
      r.kl.toExponential(3)
    }; m(circuit) ${r.m_circuit.toFixed(5)}; faithfulness ${r.faithfulness.toFixed(4)}`,
  );
  for (const e of r.edges) console.log(`  ${edgeLabel(names[e]!)}`);
  return 0;
}
