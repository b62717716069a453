/**
 * The residual graph of a pre-norm transformer, as edge attribution patching (Syed et al. 2023), EAP-IG
 * (Hanna et al. 2024) and ACDC (Conmy et al. 2023) see it. Nodes (senders), in forward order: `input` (the
 * embeddings: the residual stream entering block 0), `a{l}.h{h}` (a head's `result`: its context vector times
 * its rows of the output projection, without the projection's bias) and `m{l}` (an MLP's output, with its
 * bias). Receivers, in forward order: `(a{l}.h{h}, q|k|v)` — each query head's q, k and v inputs separately —,
 * `(m{l}, mlp)` and `(logits, logits)`. Each receiver reads its own copy of the pre-norm residual: the sum of
 * its upstream senders' outputs plus the attention-output biases (constants, not nodes), then its own norm and
 * projection. An edge is (sender → receiver); its number is its place in forward order (receivers in order,
 * each receiver's senders in order), which also breaks ties when edges are ranked.
 *
 * The graph is not derived from a family name: a pass records it (`split_run.ts`) from where the forward
 * normalises a residual stream. A sequential block's MLP reads the residual after its attention (it sees the
 * block's heads); a parallel-residual block (GPT-NeoX, `use_parallel_residual`) normalises the block's input
 * for both, so its MLP does not see its own layer's heads. Post-norm encoders (BERT and kin) normalise after
 * the residual sum, so no receiver reads a sum of sender outputs: they have no such graph.
 *
 * @module
 */

/** What a receiver reads its residual copy for. */
export type ReceiverPath = "q" | "k" | "v" | "mlp" | "logits";

/** One receiver: a node's input on one path. */
export interface Receiver {
  /** The node that reads (`a{l}.h{h}`, `m{l}`, `logits`). */
  node: string;
  /** Which of its inputs. */
  path: ReceiverPath;
  /** Its upstream senders: the first `senders` nodes of {@linkcode ResidualGraph.nodes}. */
  senders: number;
}

/** The residual graph of one model (see the module doc). */
export interface ResidualGraph {
  /** Every sender, in forward order. */
  nodes: string[];
  /** Every receiver, in forward order. */
  receivers: Receiver[];
  /** Per receiver, the number of its first edge (edges of receiver r are `edgeStart[r] … edgeStart[r+1]−1`). */
  edgeStart: Int32Array;
  /** How many edges the graph has. */
  edgeCount: number;
}

/** An edge by name, as the JSON files write it. */
export interface EdgeName {
  /** The sender. */
  from: string;
  /** The receiving node. */
  to: string;
  /** The receiver's path. */
  path: ReceiverPath;
}

/** Builds a graph from its nodes and receivers (numbering the edges). */
export function makeGraph(nodes: string[], receivers: Receiver[]): ResidualGraph {
  const edgeStart = new Int32Array(receivers.length + 1);
  receivers.forEach((r, i) => (edgeStart[i + 1] = edgeStart[i]! + r.senders));
  return { nodes, receivers, edgeStart, edgeCount: edgeStart[receivers.length]! };
}

/** Every edge of a graph by name, in forward order. */
export function edgeNames(graph: ResidualGraph): EdgeName[] {
  return graph.receivers.flatMap((r) =>
    graph.nodes.slice(0, r.senders).map((from) => ({ from, to: r.node, path: r.path }))
  );
}

/** The receiver of edge `e` (binary search over `edgeStart`). */
export function receiverOf(graph: ResidualGraph, e: number): number {
  let lo = 0, hi = graph.receivers.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (graph.edgeStart[mid]! <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The edge number of (sender index `s` → receiver index `r`). */
export function edgeIndex(graph: ResidualGraph, r: number, s: number): number {
  return graph.edgeStart[r]! + s;
}

/**
 * The edge numbers of named edges.
 *
 * @param where names the source, for error messages (`--circuit FILE.json`)
 * @throws {Error} naming the entry, for an edge the graph does not have
 */
export function edgeIndices(graph: ResidualGraph, edges: readonly EdgeName[], where: string): number[] {
  const receiver = new Map(graph.receivers.map((r, i) => [`${r.node}:${r.path}`, i]));
  const sender = new Map(graph.nodes.map((n, i) => [n, i]));
  return edges.map((e, i) => {
    const r = receiver.get(`${e?.to}:${e?.path}`), s = sender.get(e?.from);
    if (r === undefined || s === undefined || s >= graph.receivers[r]!.senders) {
      throw new Error(
        `${where}: entry ${i} ${JSON.stringify(e)} is not an edge of this model's residual graph ` +
          `(from: a node such as "input", "a0.h1", "m0"; to and path: "a1.h0" with "q"|"k"|"v", "m1" with "mlp", ` +
          `or "logits" with "logits"; the sender must be upstream of the receiver)`,
      );
    }
    return edgeIndex(graph, r, s);
  });
}

/**
 * Edges ranked by |score|, largest first; ties go to the earlier edge in forward order (NaN last).
 *
 * @returns edge numbers
 */
export function rankEdges(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  const key = (i: number) => {
    const a = Math.abs(scores[i]!);
    return Number.isNaN(a) ? -1 : a;
  };
  return order.sort((a, b) => key(b) - key(a) || a - b);
}

/**
 * Which receivers a name selects: `a1.h2` (its q, k and v), `a1.h2:q` (one path), `m1`, `logits`.
 *
 * @throws {Error} for a name that selects no receiver
 */
export function receiversNamed(graph: ResidualGraph, name: string): number[] {
  const [node, path] = name.split(":");
  const out: number[] = [];
  graph.receivers.forEach((r, i) => {
    if (r.node === node && (path === undefined || r.path === path)) out.push(i);
  });
  if (out.length === 0) {
    throw new Error(`"${name}" names no receiver (e.g. "a1.h2", "a1.h2:q", "m1", "logits")`);
  }
  return out;
}

/**
 * The index of a sender by name.
 *
 * @throws {Error} for a name that is not a node of the graph
 */
export function senderNamed(graph: ResidualGraph, name: string): number {
  const i = graph.nodes.indexOf(name);
  if (i < 0) throw new Error(`"${name}" is not a node of this model (e.g. "input", "a0.h1", "m0")`);
  return i;
}
