/**
 * `GET /api/onnx?outputs=logits,attentions`: the app's model exported to ONNX (the exporter's graph contract:
 * inputs `input_ids`, `attention_mask`, `token_type_ids` for BERT, `head_mask`; the outputs asked for), for a
 * page that runs it in the browser through onnxruntime-web. Exported once per outputs set, on the compute
 * thread and under the compute queue's admission (503 `busy` beyond it), concurrent requests for the same set
 * sharing one export; the bytes are kept (at most `maxOnnxBytes` of them in all) and streamed out in views, so
 * a request holds no copy of its own.
 *
 * @module
 */

import type { TransformerModel } from "@bertology/core/models";
import type { ComputeBackend } from "./_compute.ts";
import { excerpt, HttpError } from "./_errors.ts";
import type { Limits } from "./_limits.ts";
import type { ComputeQueue, Deadline } from "./_queue.ts";

/** The output groups `outputs` may name (HF's names; each group is every layer's). */
export const ONNX_OUTPUT_GROUPS = ["logits", "attentions", "hidden_states"] as const;

/** What `outputs` is when absent. */
const DEFAULT_OUTPUTS = ["logits", "attentions"];

/**
 * Checks the `outputs` query parameter.
 *
 * @param param its value (`null` when absent)
 * @returns the groups, sorted, without repeats
 * @throws {HttpError} 400 `invalid_field` (field `outputs`) for a name that is not a group
 * @example Usage
 * ```ts
 * import { parseOnnxOutputs } from "./onnx_route.ts";
 * parseOnnxOutputs("attentions,logits"); // ["attentions", "logits"]
 * ```
 */
export function parseOnnxOutputs(param: string | null): string[] {
  if (param === null) return DEFAULT_OUTPUTS;
  const names = param.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!(ONNX_OUTPUT_GROUPS as readonly string[]).includes(n)) {
      throw new HttpError(
        400,
        "invalid_field",
        `"outputs" lists ${excerpt(n)}; it takes a comma-separated list of ${ONNX_OUTPUT_GROUPS.join(", ")}`,
        { field: "outputs" },
      );
    }
  }
  return [...new Set(names)].sort();
}

/** Bytes per chunk of a streamed export (fewer, larger writes keep the main thread's share of the work small). */
const CHUNK_BYTES = 256 * 1024;

/** One outputs set's export: the shared work while it runs, then its bytes. */
interface Entry {
  /** Resolves to the bytes (every concurrent request for the set awaits this one promise). */
  bytes: Promise<Uint8Array>;
  /** Its size once done (0 while running). */
  size: number;
}

/**
 * `GET /api/onnx`: the app's model exported per outputs set (once, concurrent requests sharing the work), on
 * the compute backend under the compute queue, the exports kept within `maxOnnxBytes` (least recently asked
 * for dropped first) and streamed out.
 *
 * @example Usage
 * ```ts ignore
 * const onnx = new OnnxDownloads(model, limits, queue, backend);
 * const res = await onnx.response("logits,attentions", queue.deadline());
 * ```
 */
export class OnnxDownloads {
  readonly #model: TransformerModel;
  readonly #limits: Limits;
  readonly #queue: ComputeQueue;
  readonly #backend: ComputeBackend;
  /** Key → export, in least-recently-asked-for order (a Map keeps insertion order; a hit moves to the end). */
  readonly #entries = new Map<string, Entry>();
  /** Key → size of exports too large to hand out (not kept, and not exported again). */
  readonly #tooLarge = new Map<string, number>();

  /**
   * @param model the model (refused: logits of a model without an output head)
   * @param limits `maxOnnxBytes`
   * @param queue the compute queue the exports take turns in
   * @param backend where the exports run (the compute worker, or inline)
   */
  constructor(model: TransformerModel, limits: Limits, queue: ComputeQueue, backend: ComputeBackend) {
    this.#model = model;
    this.#limits = limits;
    this.#queue = queue;
    this.#backend = backend;
  }

  /**
   * The exported model as a streamed `application/octet-stream` response.
   *
   * @param outputsParam the `outputs` query parameter
   * @param deadline the request's deadline (from its arrival)
   * @returns the response
   * @throws {HttpError} 400 for bad `outputs`, 422 for an output the model lacks, 413 `model_too_large`, 503
   *   `busy` when the compute queue is full, 503 `timeout` past the deadline
   */
  async response(outputsParam: string | null, deadline: Deadline): Promise<Response> {
    const outputs = parseOnnxOutputs(outputsParam);
    if (outputs.includes("logits") && this.#model.task !== "lm" && !this.#model.hasHead) {
      throw new HttpError(422, "invalid_field", `"outputs" asks for logits, but this checkpoint has no output head`, {
        field: "outputs",
      });
    }
    const key = [...outputs].sort().join(","); // the default outputs are listed unsorted
    const tooLarge = this.#tooLarge.get(key);
    if (tooLarge !== undefined) this.#refuseSize(tooLarge);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#queue.refuseIfFull(deadline); // 503 busy, as for the compute routes
      // kept before anything is awaited, so that every request arriving meanwhile shares this export
      const bytes = deadline.within(this.#backend.ready(), "the model load")
        .then(() => this.#queue.run((d) => this.#backend.exportOnnx({ outputs }, d), deadline));
      entry = { bytes, size: 0 };
      const started = entry;
      this.#entries.set(key, started);
      started.bytes.then((bytes) => this.#keep(key, started, bytes.byteLength), () => this.#entries.delete(key));
    } else {
      this.#entries.delete(key);
      this.#entries.set(key, entry); // most recently asked for
    }
    const bytes = await deadline.within(entry.bytes, "the ONNX export");
    if (bytes.byteLength > this.#limits.maxOnnxBytes) this.#refuseSize(bytes.byteLength);
    return new Response(chunked(bytes), {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.byteLength),
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    });
  }

  /** Throws the 413 for an export of `size` bytes. */
  #refuseSize(size: number): never {
    throw new HttpError(
      413,
      "model_too_large",
      `The exported model has ${size} bytes; this server hands out at most ${this.#limits.maxOnnxBytes} (maxOnnxBytes)`,
      { field: "outputs" },
    );
  }

  /** Records a finished export's size and drops the least recently asked-for ones past `maxOnnxBytes`. */
  #keep(key: string, entry: Entry, size: number): void {
    if (this.#entries.get(key) !== entry) return;
    entry.size = size;
    // one too large to hand out is not kept (the requests waiting for it get their 413 all the same)
    if (size > this.#limits.maxOnnxBytes) {
      this.#entries.delete(key);
      this.#tooLarge.set(key, size);
    }
    let total = 0;
    for (const e of this.#entries.values()) total += e.size;
    for (const [k, e] of this.#entries) {
      if (total <= this.#limits.maxOnnxBytes) break;
      if (k === key || e.size === 0) continue;
      this.#entries.delete(k);
      total -= e.size;
    }
  }
}

/**
 * A stream of `bytes` in {@linkcode CHUNK_BYTES} pieces, pulled as the client reads: each piece is a view of the
 * shared export (which nothing modifies), so a request costs no copy, and a slow client holds only what its
 * socket buffers. Deno's server and `web/_node_server.ts` write a chunk without taking its buffer over.
 */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const end = Math.min(bytes.byteLength, offset + CHUNK_BYTES);
      controller.enqueue(bytes.subarray(offset, end));
      offset = end;
      if (offset >= bytes.byteLength) controller.close();
    },
  }, { highWaterMark: 0 });
}
