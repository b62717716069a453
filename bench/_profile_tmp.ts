import { randomBertBase } from "./bert_bench.ts";
import { computeHeadImportance } from "@bertology/core/bertology";
const threads = Number(Deno.args[0] ?? 1);
const mode = Deno.args[1] ?? "forward";
const model = randomBertBase(threads);
const k = model.kernels as unknown as Record<string, unknown>;
const times = new Map<string, [number, number]>();
for (const name of Object.keys(k)) {
  const f = k[name];
  if (typeof f !== "function" || name === "close") continue;
  k[name] = (...a: unknown[]) => {
    const t = performance.now();
    const r = (f as (...a: unknown[]) => unknown).apply(k, a);
    const e = times.get(name) ?? [0, 0];
    e[0] += performance.now() - t; e[1]++;
    times.set(name, e);
    return r;
  };
}
const B = mode === "forward" ? 1 : 8, T = 128;
const ids = new Int32Array(B * T);
for (let i = 0; i < ids.length; i++) ids[i] = 1000 + ((i * 7919) % 29000);
const batch = { batchSize: B, seqLen: T, inputIds: ids, attentionMask: new Int32Array(ids.length).fill(1) };
const labels = new Int32Array(B).fill(1);
const go = () => mode === "forward" ? model.run({ batch }) : computeHeadImportance(model, [{ batch, labels }]);
go(); times.clear();
const reps = mode === "forward" ? 5 : 2;
const t0 = performance.now();
for (let i = 0; i < reps; i++) go();
const total = (performance.now() - t0) / reps;
let sum = 0;
const rows = [...times].sort((a, b) => b[1][0] - a[1][0]);
for (const [n, [t, c]] of rows) { sum += t; console.log(n.padEnd(22), (t / reps).toFixed(1).padStart(8), "ms", String(c / reps).padStart(6)); }
console.log("kernels", (sum / reps).toFixed(1), "total", total.toFixed(1));
(model.kernels as { close?: () => void }).close?.();
