/**
 * Runs an exported model (`export.ts`) through ONNX Runtime — onnxruntime-web (wasm, webgpu) in Deno or a
 * browser, or onnxruntime-node from Deno CLI code — and returns what `TransformerModel.run` returns: logits,
 * the cache by stable activation name, loss, dL/dhead_mask. The runtime module is passed in (it is the same
 * API in all three packages), so nothing here loads a native library or touches the file system.
 *
 * @module
 */

import type { ModelConfig } from "../models/config.ts";
import { type Batch, checkBatch, checkHeadMask, type HeadMask } from "../models/inputs.ts";
import { checkLabels, labelKind, unreachableTask } from "../models/losses.ts";
import type { Labels, RunResult } from "../models/model.ts";
import type { Tensor } from "../tensor.ts";
import { outputHookName } from "./export.ts";

/** A tensor of an ONNX Runtime package (the part of its API used here). */
export interface OrtTensor {
  /** Its shape. */
  readonly dims: readonly number[];
  /** Its values (a typed array for CPU tensors). */
  readonly data: unknown;
  /** Its element type (`float32`, `int64` …). */
  readonly type: string;
}

/** An ONNX Runtime inference session (the part of its API used here). */
export interface OrtSession {
  /** The graph's input names. */
  readonly inputNames: readonly string[];
  /** The graph's output names. */
  readonly outputNames: readonly string[];
  /** Runs the graph. */
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** An ONNX Runtime package: `onnxruntime-web`, `onnxruntime-web/webgpu` or `onnxruntime-node`. */
export interface OrtRuntime {
  /** Sessions. */
  InferenceSession: {
    create(model: Uint8Array, options?: { executionProviders?: string[] }): Promise<OrtSession>;
  };
  /** Tensors. */
  Tensor: {
    new (type: "int64", data: BigInt64Array, dims: readonly number[]): OrtTensor;
    new (type: "float32", data: Float32Array, dims: readonly number[]): OrtTensor;
  };
}

/** What to compute in one {@linkcode OrtModel.run} (the subset of `RunRequest` an exported graph can do). */
export interface OrtRunRequest {
  /** The padded batch. */
  batch: Batch;
  /**
   * Outputs to return, by HF or stable name; every graph output when absent. A name the graph was not
   * exported with is an error.
   */
  names?: Iterable<string>;
  /** [layers][heads] multipliers (original head numbering); ones when absent. */
  headMask?: HeadMask;
  /** Labels for the loss: required by a graph exported with the head-mask gradient; `"lm"` for an LM. */
  labels?: Labels;
}

/** An exported model in an ONNX Runtime session. */
export class OrtModel {
  /** The model's config (the one it was exported from). */
  readonly config: ModelConfig;
  /** Where it runs, for messages (`onnxruntime-web wasm` …). */
  readonly backend: string;
  readonly #ort: OrtRuntime;
  readonly #session: OrtSession;

  private constructor(ort: OrtRuntime, session: OrtSession, config: ModelConfig, backend: string) {
    this.#ort = ort;
    this.#session = session;
    this.config = config;
    this.backend = backend;
  }

  /**
   * Loads an exported model in a session.
   *
   * @param ort the ONNX Runtime package
   * @param bytes the `.onnx` file's bytes
   * @param config the config it was exported from
   * @param options `executionProviders` (`["wasm"]`, `["webgpu"]`, `["cpu"]` …) and a name for messages
   * @returns the loaded model
   * @throws {Error} when the runtime refuses the file, or its inputs are not the exporter's
   * @example Usage
   * ```ts
   * import * as ort from "npm:onnxruntime-web@1.30.0";
   * import { exportOnnx } from "./export.ts";
   * import { OrtModel } from "./ort_backend.ts";
   * import { loadModel } from "../models/load.ts";
   * import { localFiles } from "../checkpoint/local_files.ts";
   * const { model } = await loadModel(localFiles("tests/fixtures/models/gpt2-tiny-random"), { tokenizer: false });
   * ort.env.wasm.numThreads = 1;
   * const onnx = await OrtModel.create(ort, exportOnnx(model).bytes, model.config, { executionProviders: ["wasm"] });
   * const { logits } = await onnx.run({ batch: { batchSize: 1, seqLen: 3, inputIds: Int32Array.from([1, 2, 3]) } });
   * logits!.shape; // [1, 3, vocab]
   * await onnx.release();
   * ```
   */
  static async create(
    ort: OrtRuntime,
    bytes: Uint8Array,
    config: ModelConfig,
    options: { executionProviders: string[]; backend?: string },
  ): Promise<OrtModel> {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: options.executionProviders });
    for (const name of ["input_ids", "attention_mask", "head_mask"]) {
      if (!session.inputNames.includes(name)) {
        await session.release();
        throw new Error(`ONNX model: input "${name}" is missing (inputs: ${session.inputNames.join(", ")})`);
      }
    }
    return new OrtModel(ort, session, config, options.backend ?? options.executionProviders.join("+"));
  }

  /** The graph's output names. */
  get outputNames(): readonly string[] {
    return this.#session.outputNames;
  }

  /** Whether the graph computes the loss and `head_mask_grad` (exported with the head-mask gradient). */
  get hasGrad(): boolean {
    return this.#session.outputNames.includes("head_mask_grad");
  }

  /**
   * Runs the graph on a batch.
   *
   * @param req batch, outputs, head mask, labels
   * @returns logits, the cache by stable activation name, loss and dL/dhead_mask (as `TransformerModel.run`)
   * @throws {Error} for a bad batch, head mask or labels, or a name the graph has no output for
   */
  async run(req: OrtRunRequest): Promise<RunResult> {
    const c = this.config, ort = this.#ort, s = this.#session;
    const { batch } = req;
    checkBatch(batch, c);
    if (req.headMask) checkHeadMask(req.headMask, c);
    const B = batch.batchSize, T = batch.seqLen;
    const ints = (a: Int32Array | undefined, fill: number) =>
      new ort.Tensor(
        "int64",
        a ? BigInt64Array.from(a, (v) => BigInt(v)) : new BigInt64Array(B * T).fill(BigInt(fill)),
        [B, T],
      );
    const mask = new Float32Array(c.layers * c.heads).fill(1);
    if (req.headMask) {
      for (let l = 0; l < c.layers; l++) {
        for (let h = 0; h < c.heads; h++) mask[l * c.heads + h] = req.headMask[l]![h]!;
      }
    }
    const feeds: Record<string, OrtTensor> = {
      input_ids: ints(batch.inputIds, 0),
      attention_mask: ints(batch.attentionMask, 1),
      head_mask: new ort.Tensor("float32", mask, [c.layers, c.heads]),
    };
    if (s.inputNames.includes("token_type_ids")) feeds.token_type_ids = ints(batch.tokenTypeIds, 0);
    const labels = req.labels;
    if (this.hasGrad && labels === undefined) {
      throw new Error(`This graph computes a loss and its head-mask gradient: it needs labels`);
    }
    let counted = 0;
    if (labels !== undefined) {
      if (!this.hasGrad) throw new Error("This graph was exported without the loss (export it with grad head_mask)");
      counted = checkLabels(c, batch, labels);
      const kind = labelKind(c.task);
      switch (kind) {
        case "next_token":
          break;
        case "per_row_value":
          feeds.labels = new ort.Tensor("float32", Float32Array.from(labels as ArrayLike<number>), [B]);
          break;
        case "per_row_class":
        case "per_position": {
          const values = BigInt64Array.from(Array.from(labels as ArrayLike<number>), (v) => BigInt(v));
          feeds.labels = new ort.Tensor("int64", values, kind === "per_row_class" ? [B] : [B, batch.seqLen]);
          break;
        }
        default:
          unreachableTask(kind as never);
      }
    }

    // which graph outputs to hand back: by stable name
    const byHook = new Map(s.outputNames.map((o) => [o === "loss" ? "loss" : outputHookName(o, c), o]));
    let keep: Set<string>;
    if (req.names === undefined) keep = new Set(s.outputNames);
    else {
      keep = new Set();
      for (const n of req.names) {
        const o = byHook.get(n === "loss" ? "loss" : outputHookName(n, c));
        if (o === undefined) {
          throw new Error(
            `The ONNX graph has no output "${n}" (its outputs: ${
              s.outputNames.join(", ")
            }; export it with that output)`,
          );
        }
        keep.add(o);
      }
    }
    const out = await s.run(feeds);
    const cache = new Map<string, Tensor>();
    const result: RunResult = { cache };
    for (const o of s.outputNames) {
      const t = out[o];
      if (t === undefined) throw new Error(`ONNX Runtime returned no "${o}"`);
      if (!(t.data instanceof Float32Array)) throw new Error(`ONNX output "${o}" is ${t.type}, expected float32`);
      const tensor: Tensor = { shape: [...t.dims], data: t.data.slice() };
      if (o === "loss") {
        result.loss = tensor.data[0]!;
        result.lossCount = counted;
        continue;
      }
      if (o === "head_mask_grad") result.headMaskGrad = tensor;
      if (o === "logits") result.logits = tensor;
      if (keep.has(o)) cache.set(outputHookName(o, c), tensor);
    }
    return result;
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}
