import { ok, strictEqual, throws } from "node:assert/strict";
import { FlowNetwork } from "./max_flow.ts";

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

Deno.test("FlowNetwork.maxFlow() on CLRS's network (Figure 26.1) is 23", () => {
  // s=0, v1..v4 = 1..4, t=5
  const g = new FlowNetwork(6);
  for (
    const [u, v, c] of [[0, 1, 16], [0, 2, 13], [1, 3, 12], [2, 1, 4], [2, 4, 14], [3, 2, 9], [3, 5, 20], [4, 3, 7], [
      4,
      5,
      4,
    ]]
  ) {
    g.addEdge(u!, v!, c!);
  }
  strictEqual(g.maxFlow(0, 5), 23);
  strictEqual(g.maxFlow(0, 5), 23, "a second call starts from full capacities again");
  strictEqual(g.maxFlow(5, 0), 0);
  strictEqual(g.maxFlow(0, 0), 0);
});

Deno.test("FlowNetwork.maxFlow() needs a residual (backward) edge to reach the optimum", () => {
  // the greedy path 0→1→2→3 blocks both others; max flow 2 needs to push back along 1→2
  const g = new FlowNetwork(4);
  g.addEdge(0, 1, 1), g.addEdge(0, 2, 1), g.addEdge(1, 2, 1), g.addEdge(1, 3, 1), g.addEdge(2, 3, 1);
  strictEqual(g.maxFlow(0, 3), 2);
});

Deno.test("FlowNetwork.maxFlow() with real capacities: a hand-computed min cut", () => {
  // s, a, b, t: cuts {s→a, s→b} = 1.2, {a→t, b→t} = 1.25, {s→a, b→a, b→t} = 0.3 + 0.2 + 0.45 = 0.95 (minimal);
  // the flow s→a→t 0.3, s→b→t 0.45, s→b→a→t 0.2 attains it
  const g = new FlowNetwork(4);
  g.addEdge(0, 1, 0.3), g.addEdge(0, 2, 0.9), g.addEdge(1, 3, 0.8), g.addEdge(2, 3, 0.45), g.addEdge(2, 1, 0.2);
  ok(close(g.maxFlow(0, 3), 0.95));
});

Deno.test("FlowNetwork refuses bad nodes and capacities, naming them", () => {
  const g = new FlowNetwork(2);
  throws(() => g.addEdge(0, 2, 1), /Edge 0 → 2: node 2 is outside the network \(0\.\.1\)/);
  throws(() => g.addEdge(0, 1, -1), /capacity must be finite and ≥ 0, got -1/);
  throws(() => g.addEdge(0, 1, NaN), /got NaN/);
  throws(() => g.maxFlow(0, 3), /Node 3 is outside/);
  throws(() => new FlowNetwork(-1), /non-negative integer/);
});
