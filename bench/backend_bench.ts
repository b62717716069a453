/**
 * The accelerator path (issue 24): `deno task bench --backend ort-webgpu,ort-node` times the BERT-base-shaped
 * forward (batch 1 × 128) and importance pass (forward + backward to the head mask, batch 8 × 128) of the model
 * exported to ONNX on each named ONNX Runtime backend, beside our WASM engine (1 thread) in the same run,
 * interleaved, and says what actually ran:
 *
 * - `ort-webgpu`: the WebGPU adapter onnxruntime-web's device was created on (vendor, architecture,
 *   description), and whether it is a software adapter (`isFallbackAdapter`, or a CPU rasteriser such as
 *   llvmpipe, lavapipe, SwiftShader, WARP) — reported as such, never as a GPU;
 * - `ort-node`: the execution provider of every node, read from onnxruntime-node's own profile of one run
 *   (`CPUExecutionProvider`, `CUDAExecutionProvider` …).
 *
 * Each backend's logits and head-mask gradient are checked against ours (max |Δ|). A backend that cannot run
 * here is a row that says why. Our importance pass here is the head-mask gradient alone, as the exported graph
 * computes it (no entropy meter).
 *
 * @module
 */

import { exportOnnx } from "@bertology/core/export";
import { BackendUnavailable, isBackendName, loadOrt, type OrtBackendName } from "@bertology/core/export/runtime";
import { createWasmKernels } from "@bertology/core/kernels";
import { type Batch, TransformerModel } from "@bertology/core/models";
import { type Feed, feedsOf, randomBatch, randomBertBaseWeights } from "./bert_bench.ts";

/** What one backend did. */
export interface BackendRun {
  /** What ran, in words: the adapter or the execution providers. */
  ran: string;
  /** Whether that was a GPU (false for a software adapter or a CPU provider). */
  gpu: boolean;
  /** Median forward milliseconds, batch 1 × 128. */
  forward_ms?: number;
  /** Importance pass examples per second, batch 8 × 128. */
  importance_examples_per_s?: number;
  /** How many timed rounds each median is of (1 for a runtime whose warm-up took over a minute). */
  rounds?: { forward: number; importance: number };
  /** Max |Δ| against our engine: logits of the forward, head-mask gradient of the importance pass. */
  max_abs_diff?: { logits: number; head_mask_grad: number };
  /** Why it did not run, when it did not. */
  unavailable?: string;
}

/** What {@linkcode benchBackends} measured: our engine at 1 thread, and each backend asked for. */
export interface BackendBenchFigures {
  /** By `ours_1t` and backend name. */
  backend_runs: Record<string, BackendRun>;
}

/**
 * Parses the bench's `--backend` list.
 *
 * @param list comma-separated backend names
 * @returns the ONNX Runtime backends named
 * @throws {Error} naming a value that is not an ONNX Runtime backend
 * @example Usage
 * ```ts
 * import { parseBackendList } from "./backend_bench.ts";
 * parseBackendList("ort-webgpu,ort-node"); // ["ort-webgpu", "ort-node"]
 * ```
 */
export function parseBackendList(list: string): OrtBackendName[] {
  return list.split(",").map((name) => {
    if (!isBackendName(name) || name === "wasm") {
      throw new Error(`--backend: "${name}" is not an ONNX Runtime backend (ort-wasm, ort-webgpu, ort-node)`);
    }
    return name;
  });
}

/** A loaded backend: its timed calls and what it ran on. */
interface Runner {
  name: string;
  ran: string;
  gpu: boolean;
  forward: () => Promise<{ ms: number; logits: Float32Array }>;
  importance: () => Promise<{ ms: number; grad: Float32Array }>;
  release: () => Promise<void>;
}

type Session = {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
  endProfiling?(): unknown;
};
type Ort = {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<Session> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  env: { webgpu?: { adapter?: unknown; device?: Promise<unknown> } };
};

const SLOW_WARM_UP_MS = 60_000;
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|warp|basic render|software/i;

/** What a WebGPU adapter says of itself (`GPUAdapterInfo`). */
export interface AdapterInfo {
  /** The vendor (a name or a PCI id). */
  vendor?: string | undefined;
  /** The architecture family. */
  architecture?: string | undefined;
  /** The device (a name or id). */
  device?: string | undefined;
  /** The driver's description (`llvmpipe (LLVM 15.0.6, 256 bits)`, `NVIDIA H100 80GB HBM3` …). */
  description?: string | undefined;
  /** Whether the browser / Deno marks it a fallback (software) adapter. */
  isFallbackAdapter?: boolean | undefined;
}

/**
 * Describes a WebGPU adapter in words, and whether it is a GPU: a fallback adapter, or one whose description
 * names a CPU rasteriser (llvmpipe, lavapipe, softpipe, SwiftShader, WARP, Microsoft Basic Render), is reported
 * as a software adapter, never as a GPU.
 *
 * @param info the adapter's info
 * @returns the words and the verdict
 * @example Usage
 * ```ts
 * import { describeAdapter } from "./backend_bench.ts";
 * describeAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: "65541" }).gpu; // false
 * ```
 */
export function describeAdapter(info: AdapterInfo): { ran: string; gpu: boolean } {
  const words = [
    info.description,
    info.vendor && `vendor ${info.vendor}`,
    info.architecture,
    info.device && `device ${info.device}`,
  ].filter((w) => w !== undefined && w !== "" && w !== "device 0").join(", ");
  const software = info.isFallbackAdapter === true ||
    SOFTWARE_ADAPTER.test(`${info.description ?? ""} ${info.architecture ?? ""}`);
  return {
    ran: `WebGPU adapter "${words}"${software ? " — a software adapter (the CPU rasterises), not a GPU" : " — a GPU"}` +
      " (nodes the WebGPU provider does not take, shape ops at least, run on onnxruntime-web's wasm CPU kernels)",
    gpu: !software,
  };
}

/** The adapter onnxruntime-web's WebGPU device runs on, in words, and whether it is a GPU. */
async function webgpuAdapter(ort: Ort): Promise<{ ran: string; gpu: boolean }> {
  const adapter = ort.env.webgpu?.adapter as { info?: AdapterInfo; isFallbackAdapter?: boolean } | undefined;
  let info: AdapterInfo | undefined;
  if (adapter?.info) {
    const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
    info = {
      vendor,
      architecture,
      device,
      description,
      isFallbackAdapter: adapter.isFallbackAdapter ?? isFallbackAdapter,
    };
  } else {
    info = (await ort.env.webgpu?.device as { adapterInfo?: AdapterInfo } | undefined)?.adapterInfo;
  }
  if (info === undefined) return { ran: "a WebGPU adapter onnxruntime-web does not describe", gpu: false };
  return describeAdapter(info);
}

/** The execution provider of each node of one onnxruntime-node run, from its profile: `{ provider: nodes }`. */
async function nodeProviders(ort: Ort, bytes: Uint8Array, providers: string[], feeds: Record<string, unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "bertology-ort-profile-" });
  try {
    const s = await ort.InferenceSession.create(bytes, {
      executionProviders: providers,
      enableProfiling: true,
      profileFilePrefix: `${dir}/profile`,
    });
    await s.run(feeds);
    s.endProfiling?.();
    await s.release();
    const counts: Record<string, number> = {};
    for (const entry of Deno.readDirSync(dir)) {
      const events = JSON.parse(Deno.readTextFileSync(`${dir}/${entry.name}`)) as Array<
        { cat?: string; name?: string; args?: { provider?: string } }
      >;
      for (const e of events) {
        if (e.cat === "Node" && e.args?.provider && e.name?.endsWith("_kernel_time")) {
          counts[e.args.provider] = (counts[e.args.provider] ?? 0) + 1;
        }
      }
    }
    return counts;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens a backend's two sessions (forward, forward + head-mask gradient), or says why it cannot. */
async function openRunner(
  name: OrtBackendName,
  forwardOnnx: Uint8Array,
  gradOnnx: Uint8Array,
  fwdFeeds: Record<string, Feed>,
  impFeeds: Record<string, Feed>,
): Promise<Runner> {
  const loaded = await loadOrt(name);
  const ort = loaded.ort as unknown as Ort;
  const tensors = (feeds: Record<string, Feed>) =>
    Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]));
  const fwdT = tensors(fwdFeeds), impT = tensors(impFeeds);
  // no spinning between runs (onnxruntime-node): an idle pool would take the core the next runtime is timed on
  const options = {
    executionProviders: loaded.providers,
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
  const fwd = await ort.InferenceSession.create(forwardOnnx, options);
  const grad = await ort.InferenceSession.create(gradOnnx, options);
  let ran: { ran: string; gpu: boolean };
  if (name === "ort-webgpu") ran = await webgpuAdapter(ort);
  else if (name === "ort-node") {
    const counts = await nodeProviders(ort, forwardOnnx, loaded.providers, fwdT);
    const list = Object.entries(counts).map(([p, n]) => `${p} (${n} nodes)`).join(", ");
    const gpu = Object.keys(counts).some((p) => !p.startsWith("CPU"));
    ran = {
      ran:
        `onnxruntime-node, providers asked [${loaded.providers.join(", ")}], ran ${
          list || "(no node in the profile)"
        }` +
        (gpu ? "" : " — the CPU, not a GPU"),
      gpu,
    };
  } else ran = { ran: `${loaded.label} — the CPU, not a GPU`, gpu: false };
  const timed = async (s: Session, feeds: Record<string, unknown>, output: string) => {
    const t = performance.now();
    const out = await s.run(feeds);
    const ms = performance.now() - t;
    return { ms, data: Float32Array.from(out[output]!.data as Float32Array) };
  };
  return {
    name,
    ...ran,
    forward: async () => {
      const r = await timed(fwd, fwdT, "logits");
      return { ms: r.ms, logits: r.data };
    },
    importance: async () => {
      const r = await timed(grad, impT, "head_mask_grad");
      return { ms: r.ms, grad: r.data };
    },
    release: async () => {
      await fwd.release();
      await grad.release();
    },
  };
}

/**
 * Times each backend beside our engine, prints what ran and the figures, and returns them.
 *
 * @param backends the ONNX Runtime backends to time
 * @param rounds interleaved timed rounds after one warm-up (default 3)
 * @returns the figures ({@linkcode BackendBenchFigures})
 */
export async function benchBackends(backends: OrtBackendName[], rounds = 3): Promise<BackendBenchFigures> {
  const progress = (what: string) => console.error(`  … ${what}`);
  const { config, weights } = randomBertBaseWeights();
  const model = new TransformerModel(config, weights, createWasmKernels({ threads: 1 }));
  const T = 128;
  const one = randomBatch(1, T), eight = randomBatch(8, T);
  progress("exporting the model to ONNX (forward, and forward + head-mask gradient)");
  const forwardOnnx = exportOnnx({ config, weights }, { outputs: ["logits"] }).bytes;
  const gradOnnx = exportOnnx({ config, weights }, { outputs: ["logits"], grad: "head_mask" }).bytes;
  const runs: Record<string, BackendRun> = {};
  const runners: Runner[] = [];
  for (const name of backends) {
    progress(`opening ${name}`);
    try {
      runners.push(
        await openRunner(name, forwardOnnx, gradOnnx, feedsOf(one, config, false), feedsOf(eight, config, true)),
      );
    } catch (e) {
      if (!(e instanceof BackendUnavailable)) throw e;
      runs[name] = { ran: "nothing", gpu: false, unavailable: e.message };
    }
  }
  for (const r of runners) console.log(`  ${r.name}: ${r.ran}`);

  const labels = new Int32Array(8).fill(1);
  const ours = {
    forward: () => {
      const t = performance.now();
      const logits = model.run({ batch: one }).logits!.data;
      return Promise.resolve({ ms: performance.now() - t, logits });
    },
    importance: () => {
      const t = performance.now();
      const grad = oursGrad(model, eight, labels);
      return Promise.resolve({ ms: performance.now() - t, grad });
    },
  };
  const all = [{ name: "ours_1t", ...ours }, ...runners];
  const fwdTimes = all.map(() => [] as number[]), impTimes = all.map(() => [] as number[]);
  const logits: Float32Array[] = [], grads: Float32Array[] = [];
  // a runtime whose warm-up took over a minute (a software WebGPU adapter compiling its shaders, then drawing on
  // the CPU) is timed in one round: the rows say how many rounds each median is of
  const roundsOf = all.map(() => rounds);
  const warm = async <R extends { ms: number }>(j: number, call: () => Promise<R>): Promise<R> => {
    const r = await call();
    if (r.ms > SLOW_WARM_UP_MS) roundsOf[j] = 1;
    return r;
  };
  progress(`timing the forward (1 × ${T}): one warm-up, ${rounds} interleaved rounds`);
  for (const [j, r] of all.entries()) logits[j] = (await warm(j, r.forward)).logits;
  for (let i = 0; i < rounds; i++) {
    for (const [j, r] of all.entries()) if (i < roundsOf[j]!) fwdTimes[j]!.push((await r.forward()).ms);
  }
  progress(`timing the importance pass (8 × ${T}): one warm-up, ${rounds} interleaved rounds`);
  for (const [j, r] of all.entries()) grads[j] = (await warm(j, r.importance)).grad;
  for (let i = 0; i < rounds; i++) {
    for (const [j, r] of all.entries()) if (i < roundsOf[j]!) impTimes[j]!.push((await r.importance()).ms);
  }
  for (const r of runners) await r.release();

  const fwd = fwdTimes.map(median), imp = impTimes.map(median);
  all.forEach((r, j) => {
    const run: BackendRun = j === 0
      ? { ran: `our WASM engine (${model.kernels.name}), 1 thread — the CPU`, gpu: false }
      : { ran: runners[j - 1]!.ran, gpu: runners[j - 1]!.gpu };
    run.rounds = { forward: fwdTimes[j]!.length, importance: impTimes[j]!.length };
    run.forward_ms = round(fwd[j]!);
    run.importance_examples_per_s = round(8 / (imp[j]! / 1000), 3);
    if (j > 0) {
      run.max_abs_diff = {
        logits: maxAbsDiff(logits[j]!, logits[0]!),
        head_mask_grad: maxAbsDiff(grads[j]!, grads[0]!),
      };
    }
    runs[r.name] = run;
  });
  console.log(
    `BERT-base-shaped (random weights) exported to ONNX, beside our engine in the same run (median of ${rounds} ` +
      `interleaved rounds):\n` +
      Object.entries(runs).map(([name, r]) =>
        r.unavailable !== undefined
          ? `  ${name}: did not run — ${r.unavailable}`
          : `  ${name}: forward 1 × ${T} ${r.forward_ms!.toFixed(0)} ms (${
            (r.forward_ms! / runs.ours_1t!.forward_ms!).toFixed(2)
          }× ours), importance 8 × ${T} ${r.importance_examples_per_s!.toFixed(2)} examples/s (rounds: ${
            r.rounds!.forward
          } / ${r.rounds!.importance})${
            r.max_abs_diff
              ? `; max |Δ| vs ours: logits ${r.max_abs_diff.logits.toExponential(1)}, head-mask gradient ${
                r.max_abs_diff.head_mask_grad.toExponential(1)
              }`
              : ""
          }\n    ran on: ${r.ran}`
      ).join("\n"),
  );
  return { backend_runs: runs };
}

/** Our head-mask gradient of the batch, [layers × heads] (the importance pass's gradient, not its sums). */
function oursGrad(model: TransformerModel, batch: Batch, labels: Int32Array): Float32Array {
  return model.run({ batch, labels, names: ["hook_head_mask_grad"] }).headMaskGrad!.data;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.main) await benchBackends(parseBackendList(Deno.args[0] ?? "ort-webgpu,ort-node"));
