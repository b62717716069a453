/**
 * Times the app's server backends against each other in one run: `/api/analyze` (one sentence, every map) and
 * `/api/importance` (8 examples) through `app.fetch`, compute inline, the backends interleaved so that load on
 * the machine hits them alike; prints each one's median and its ratio to `wasm` (our engine). Not a test.
 *
 * @example Usage
 * ```sh
 * deno run --allow-read --allow-env --allow-ffi web/backend_timing.ts --model models/bert-sst2 --runs 20
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { localFiles } from "@bertology/core/checkpoint/deno";
import { loadModel } from "@bertology/core/models";
import type { BackendName } from "@bertology/core/export/runtime";
import { createApp } from "./app.ts";
import { BUNDLED_MODEL_DIR } from "./_model_dir.ts";
import { parseServeBackends } from "./serve.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: BUNDLED_MODEL_DIR },
    runs: { type: "string", default: "20" },
    backend: { type: "string", default: "wasm,ort-wasm,ort-node" },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`);
const backends: BackendName[] = parseServeBackends(values.backend);
const { model, tokenizer } = await loadModel(localFiles(values.model));
const app = createApp({ model, tokenizer: tokenizer!, backends, compute: "inline" });
const sentence = "An unbelievably gripping, beautifully acted film that never lets go of its audience.";
const label = model.task === "lm" ? {} : { label: 0 };
const bodies = {
  analyze: { text: sentence },
  importance: { examples: Array.from({ length: 8 }, (_, i) => ({ text: `${sentence} Take ${i}.`, ...label })) },
};

async function time(path: string, body: object): Promise<number> {
  const t0 = performance.now();
  const res = await app.fetch(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${path} ${JSON.stringify(body).slice(0, 60)}: ${JSON.stringify(json)}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${values.model}: ${model.config.layers} layers × ${model.config.heads} heads, ${runs} runs each`);
for (const [route, body] of Object.entries(bodies)) {
  const path = `/api/${route}`;
  const times = new Map(backends.map((b) => [b, [] as number[]]));
  for (const b of backends) await time(path, { ...body, backend: b }); // warm-up: export, session, JIT
  for (let r = 0; r < runs; r++) {
    for (const b of backends) times.get(b)!.push(await time(path, { ...body, backend: b }));
  }
  const base = median(times.get(backends[0]!)!);
  for (const b of backends) {
    const m = median(times.get(b)!);
    console.log(
      `${path} ${b.padEnd(10)} median ${m.toFixed(1).padStart(7)} ms  ×${(m / base).toFixed(2)} of ${backends[0]}`,
    );
  }
}
app.close?.();
