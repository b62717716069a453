/**
 * Maximum flow in a directed network with real capacities (Dinic's algorithm: BFS levels, then blocking
 * flows by DFS with per-node edge cursors) — exact up to floating-point rounding, O(V²E) in the worst case.
 *
 * @module
 */

/** A flow network: add edges, then ask for the maximum flow between two nodes (repeatable). */
export class FlowNetwork {
  /** Number of nodes. */
  readonly nodes: number;
  readonly #to: number[] = [];
  readonly #cap: number[] = [];
  readonly #capacity: number[] = [];
  readonly #adj: number[][];

  /**
   * A network of `nodes` nodes and no edges.
   *
   * @param nodes the node count
   * @throws {Error} for a count that is not a non-negative integer
   */
  constructor(nodes: number) {
    if (!Number.isInteger(nodes) || nodes < 0) throw new Error(`nodes must be a non-negative integer, got ${nodes}`);
    this.nodes = nodes;
    this.#adj = Array.from({ length: nodes }, () => []);
  }

  /**
   * Adds an edge u → v of capacity `capacity` (its residual twin v → u starts at 0).
   *
   * @throws {Error} for a node outside the network or a negative or non-finite capacity
   * @example Usage
   * ```ts
   * import { FlowNetwork } from "./max_flow.ts";
   * const g = new FlowNetwork(2);
   * g.addEdge(0, 1, 0.5);
   * g.maxFlow(0, 1); // 0.5
   * ```
   */
  addEdge(u: number, v: number, capacity: number): void {
    for (const n of [u, v]) {
      if (!Number.isInteger(n) || n < 0 || n >= this.nodes) {
        throw new Error(`Edge ${u} → ${v}: node ${n} is outside the network (0..${this.nodes - 1})`);
      }
    }
    if (!(capacity >= 0) || !Number.isFinite(capacity)) {
      throw new Error(`Edge ${u} → ${v}: capacity must be finite and ≥ 0, got ${capacity}`);
    }
    this.#adj[u]!.push(this.#to.length);
    this.#to.push(v), this.#cap.push(capacity), this.#capacity.push(capacity);
    this.#adj[v]!.push(this.#to.length);
    this.#to.push(u), this.#cap.push(0), this.#capacity.push(0);
  }

  /**
   * The maximum flow from `source` to `sink` (every edge back at its full capacity first).
   *
   * @throws {Error} for a node outside the network
   * @example Usage
   * ```ts
   * import { FlowNetwork } from "./max_flow.ts";
   * const g = new FlowNetwork(4);
   * g.addEdge(0, 1, 1), g.addEdge(0, 2, 1), g.addEdge(1, 3, 0.25), g.addEdge(2, 3, 2);
   * g.maxFlow(0, 3); // 1.25
   * ```
   */
  maxFlow(source: number, sink: number): number {
    for (const n of [source, sink]) {
      if (!Number.isInteger(n) || n < 0 || n >= this.nodes) {
        throw new Error(`Node ${n} is outside the network (0..${this.nodes - 1})`);
      }
    }
    if (source === sink) return 0;
    const cap = this.#cap, to = this.#to, adj = this.#adj;
    for (let e = 0; e < cap.length; e++) cap[e] = this.#capacity[e]!;
    const level = new Int32Array(this.nodes);
    const cursor = new Int32Array(this.nodes);
    const queue = new Int32Array(this.nodes);
    // a capacity below this is spent: rounding must not let a path of ~1e-17 keep the search going
    let largest = 0;
    for (const c of this.#capacity) largest = Math.max(largest, c);
    const eps = largest * 1e-12;

    const bfs = () => {
      level.fill(-1);
      level[source] = 0;
      let head = 0, tail = 0;
      queue[tail++] = source;
      while (head < tail) {
        const u = queue[head++]!;
        for (const e of adj[u]!) {
          const v = to[e]!;
          if (level[v]! < 0 && cap[e]! > eps) {
            level[v] = level[u]! + 1;
            queue[tail++] = v;
          }
        }
      }
      return level[sink]! >= 0;
    };
    const dfs = (u: number, pushed: number): number => {
      if (u === sink) return pushed;
      const edges = adj[u]!;
      for (; cursor[u]! < edges.length; cursor[u]!++) {
        const e = edges[cursor[u]!]!, v = to[e]!;
        if (level[v] !== level[u]! + 1 || cap[e]! <= eps) continue;
        const got = dfs(v, Math.min(pushed, cap[e]!));
        if (got > 0) {
          cap[e]! -= got;
          cap[e ^ 1]! += got;
          return got;
        }
      }
      return 0;
    };

    let flow = 0;
    while (bfs()) {
      cursor.fill(0);
      for (let f = dfs(source, Infinity); f > 0; f = dfs(source, Infinity)) flow += f;
    }
    return flow;
  }
}
