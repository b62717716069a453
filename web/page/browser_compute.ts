/// <reference lib="dom" />
/**
 * In-browser compute: the model exported to ONNX (`GET /api/onnx`) run by onnxruntime-web in this page —
 * WebGPU where `navigator.gpu` gives an adapter, else its wasm provider — and turned into the same
 * `/api/analyze` answer the server gives (`../analysis_tables.ts`), so the page draws it with the same code.
 * The tokenizer stays on the server (`POST /api/tokenize`): the page sends the text, gets the ids back.
 * onnxruntime-web itself is loaded at run time from `/vendor/onnxruntime-web/` (served by `serve.ts`), one
 * thread (the page is not cross-origin isolated).
 *
 * @module
 */

import { analysisTables, entropySumsOfPatterns } from "./analysis_tables.ts";
import type { AnalyzeResponse, ModelSummary } from "./types.ts";

/** Where `serve.ts` serves onnxruntime-web's files. */
const VENDOR = "/vendor/onnxruntime-web/";

/** The part of onnxruntime-web's API used here. */
interface OrtWeb {
  env: { wasm: { wasmPaths?: string; numThreads?: number }; logLevel?: string };
  Tensor: new (type: string, data: BigInt64Array | Float32Array, dims: number[]) => unknown;
  InferenceSession: {
    create(bytes: Uint8Array, options: { executionProviders: string[] }): Promise<OrtWebSession>;
  };
}

interface OrtWebSession {
  inputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
}

/** The execution provider a run used: `webgpu` or `wasm`. */
export type BrowserProvider = "webgpu" | "wasm";

/**
 * Loads onnxruntime-web's bundle for a provider and opens the model in it.
 *
 * @param bytes the exported model
 * @param provider `webgpu` or `wasm`
 * @returns the runtime, the session and the provider
 */
async function open(
  bytes: Uint8Array,
  provider: BrowserProvider,
): Promise<{ ort: OrtWeb; session: OrtWebSession; provider: BrowserProvider }> {
  const url = `${VENDOR}${provider === "webgpu" ? "ort.webgpu.bundle.min.mjs" : "ort.wasm.bundle.min.mjs"}`;
  // a run-time URL: the bundler leaves this import alone and the browser fetches the served bundle
  const ort = (await import(url)) as OrtWeb;
  ort.env.wasm.wasmPaths = VENDOR;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider] });
  return { ort, session, provider };
}

/**
 * The model in an onnxruntime-web session in this page, loaded on the first {@linkcode BrowserCompute.analyze}:
 * WebGPU where an adapter exists (wasm when WebGPU cannot run it), else wasm.
 */
export class BrowserCompute {
  readonly #model: ModelSummary;
  #session: Promise<{ ort: OrtWeb; session: OrtWebSession; provider: BrowserProvider }> | undefined;
  #request: <T>(path: string, body: unknown) => Promise<T>;

  /**
   * @param model the server's model summary
   * @param request posts JSON to the server and returns its answer (throws its error)
   */
  constructor(model: ModelSummary, request: <T>(path: string, body: unknown) => Promise<T>) {
    this.#model = model;
    this.#request = request;
  }

  /** The provider, once loaded (`undefined` before the first analysis). */
  async provider(): Promise<BrowserProvider | undefined> {
    return this.#session ? (await this.#session).provider : undefined;
  }

  #load(): Promise<{ ort: OrtWeb; session: OrtWebSession; provider: BrowserProvider }> {
    this.#session ??= (async () => {
      const m = this.#model;
      const outputs = ["attentions", "hidden_states"];
      if (m.task === "lm" || m.has_classifier) outputs.push("logits");
      const res = await fetch(`/api/onnx?outputs=${outputs.join(",")}`);
      if (!res.ok) {
        const err = await res.json().catch(() => ({ detail: `HTTP ${res.status}` }));
        throw new Error(`the exported model: ${err.detail ?? err.error} (HTTP ${res.status})`);
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
      if (adapter) {
        try {
          return await open(bytes, "webgpu");
        } catch (e) {
          console.warn(`bertology: WebGPU could not run the model (${(e as Error).message}); using wasm`);
        }
      }
      return await open(bytes, "wasm");
    })();
    this.#session.catch(() => (this.#session = undefined)); // the next analysis tries again
    return this.#session;
  }

  /**
   * Analyzes a text (or pair) in this page.
   *
   * @param text the text
   * @param textPair the optional second text
   * @returns the answer, as `/api/analyze` gives it (without the word-level part), and the provider used
   * @throws {Error} when onnxruntime-web, the exported model or the tokenizer cannot be had
   */
  async analyze(text: string, textPair?: string): Promise<{ analysis: AnalyzeResponse; provider: BrowserProvider }> {
    const { ort, session, provider } = await this.#load();
    const m = this.#model;
    const tok = await this.#request<{ tokens: string[]; input_ids: number[]; token_type_ids: number[] }>(
      "/api/tokenize",
      textPair ? { text, text_pair: textPair } : { text },
    );
    const t0 = performance.now();
    const T = tok.input_ids.length;
    const ints = (a: number[]) => new ort.Tensor("int64", BigInt64Array.from(a, (v) => BigInt(v)), [1, T]);
    const feeds: Record<string, unknown> = {
      input_ids: ints(tok.input_ids),
      attention_mask: ints(tok.input_ids.map(() => 1)),
      head_mask: new ort.Tensor("float32", new Float32Array(m.layers * m.heads).fill(1), [m.layers, m.heads]),
    };
    if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = ints(tok.token_type_ids);
    const out = await session.run(feeds);
    const data = (name: string): Float32Array => {
      const t = out[name];
      if (!t || !(t.data instanceof Float32Array)) throw new Error(`the exported model gave no float "${name}"`);
      return t.data;
    };
    const shape = {
      layers: m.layers,
      heads: m.heads,
      prunedHeads: m.pruned_heads,
      hidden: m.hidden,
      vocabSize: m.vocab_size,
      task: m.task,
      labels: m.labels,
    };
    const pattern = (l: number) => data(`attentions.${l}`);
    const all = (n: number) => Array.from({ length: n }, (_, i) => i);
    const tables = analysisTables(
      shape,
      T,
      all(m.layers),
      all(m.heads),
      {
        pattern,
        hidden: (i) => data(`hidden_states.${i}`),
        logits: out.logits ? data("logits") : undefined,
        entropySums: entropySumsOfPatterns(shape, T, pattern),
      },
      String,
    );
    const elapsed = Math.round(performance.now() - t0);
    if (tables.next_token) {
      // the tokens' text is the server tokenizer's
      const { tokens } = await this.#request<{ tokens: string[] }>("/api/tokenize", {
        ids: tables.next_token.map((t) => t.id),
      });
      tables.next_token.forEach((t, i) => (t.token = tokens[i] ?? String(t.id)));
    }
    const analysis: AnalyzeResponse = {
      tokens: tok.tokens,
      input_ids: tok.input_ids,
      token_type_ids: tok.token_type_ids,
      layers: all(m.layers),
      heads: all(m.heads),
      ...tables,
      elapsed_ms: elapsed,
    };
    return { analysis, provider };
  }
}
