/**
 * The kernel contract: every numeric operation the models run, forward and backward.
 *
 * Data lives in one linear memory (the WASM instance's). Kernels take byte offsets ("pointers") into that
 * memory plus dimensions; TypeScript never loops over floats on the hot path. Two backends implement this
 * interface with identical semantics: the WASM-SIMD one (`wasm_kernels.ts`, the fast path) and a plain
 * TypeScript reference (`reference_kernels.ts`, used by tests to check the SIMD one).
 *
 * Argument order follows llm.c: outputs first, then values saved for backward, then inputs, then dimensions.
 * Backward kernels ACCUMULATE (`+=`) into gradient buffers unless the doc says otherwise; callers zero them.
 * All float tensors are f32, row-major, contiguous unless a stride is given.
 *
 * The table in `contract.ts` is the single source of argument kinds, saved values, pairings and flag bits; this
 * interface is its documented face, and the compile-time check at the end of this file keeps the two equal.
 *
 * @module
 */
import type { ContractKernels, GeluKind, KernelName } from "./contract.ts";

/** A byte offset into the kernel memory. 0 means "absent" where a pointer is optional. */
export type Ptr = number;

export { MatmulFlags } from "./contract.ts";
export type { GeluKind } from "./contract.ts";

/** The memory the kernels work in, with a bump allocator. */
export interface KernelMemory {
  /** The underlying memory; views must be re-made after any `alloc` (the buffer may grow and detach). */
  readonly memory: WebAssembly.Memory;
  /** Allocates `bytes` bytes, 64-byte aligned, zero-filled; grows the memory as needed. */
  alloc(bytes: number): Ptr;
  /**
   * Allocates like {@linkcode KernelMemory.alloc} but leaves the bytes as they are (whatever an earlier, released
   * allocation left): for a kernel's output that the kernel writes in full, which zeroing would only slow down.
   */
  allocUninitialized(bytes: number): Ptr;
  /** The current top of the allocator, for {@linkcode KernelMemory.release}. */
  mark(): number;
  /** Frees everything allocated after `mark` (a stack discipline, for per-call activations). */
  release(mark: number): void;
  /** A fresh Float32Array view of `length` floats at `ptr`. */
  f32(ptr: Ptr, length: number): Float32Array;
  /** A fresh Int32Array view of `length` ints at `ptr`. */
  i32(ptr: Ptr, length: number): Int32Array;
}

/** Every kernel, forward and backward. Semantics are normative: both backends must agree within 1e-5 rel. */
export interface Kernels {
  /** Name of the backend, e.g. "wasm-relaxed-simd", "wasm-simd", "reference". */
  readonly name: string;
  /** The memory every pointer refers to. */
  readonly mem: KernelMemory;
  /** Threads the kernels split matmuls and attention across, the caller included (1: the caller alone). */
  readonly threads: number;
  /**
   * Stops the backend's worker threads, if it has any (they keep a Deno process alive until stopped); the
   * kernels keep working, on the calling thread alone. Idempotent; a no-op for single-threaded kernels.
   */
  close(): void;

  // ---------------------------------------------------------------- elementwise
  /** out[i] = value for i < n. */
  fill(out: Ptr, value: number, n: number): void;
  /** out[i] = a[i] (n floats). `out` and `a` may be equal. */
  copy(out: Ptr, a: Ptr, n: number): void;
  /** out[i] = a[i] + b[i]. `out` may alias `a` or `b` (residual adds, gradient accumulation). */
  add(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  /** out[i] = a[i] * s. `out` may alias `a`. */
  scale(out: Ptr, a: Ptr, s: number, n: number): void;
  /** out[r, c] = a[r, c] + bias[c] for r < rows, c < cols. `out` may alias `a`. */
  addBias(out: Ptr, a: Ptr, bias: Ptr, rows: number, cols: number): void;
  /** dbias[c] += Σ_r dout[r, c]  (the backward of addBias / of a matmul bias). */
  biasBackward(dbias: Ptr, dout: Ptr, rows: number, cols: number): void;

  // ---------------------------------------------------------------- matmul
  /**
   * out[M, N] = op(A)[M, K] · op(B)[K, N] + bias[N]   (or += with ACCUMULATE).
   * op(A) = A stored [M, K], or Aᵀ when TRANS_A (A stored [K, M]).
   * op(B) = B stored [K, N], or Bᵀ when TRANS_B (B stored [N, K], nn.Linear's weight layout).
   * `bias` 0 means no bias. `out` must not alias A or B. Row strides equal the stored widths.
   * Backward of y = x·Wᵀ + b (W [N, K]):  dx += dy·W  (flags ACCUMULATE),  dW += dyᵀ·x  (TRANS_A|ACCUMULATE).
   */
  matmul(out: Ptr, a: Ptr, b: Ptr, bias: Ptr, M: number, K: number, N: number, flags: number): void;

  // ---------------------------------------------------------------- layer norm
  /**
   * For each of `rows` rows of width C: out = (x − mean) · rstd · weight + bias, with rstd = 1/sqrt(var + eps)
   * (biased variance, as torch.nn.LayerNorm). Saves mean[rows] and rstd[rows] for backward.
   * `out` may alias `inp`.
   */
  layerNormForward(
    out: Ptr,
    mean: Ptr,
    rstd: Ptr,
    inp: Ptr,
    weight: Ptr,
    bias: Ptr,
    rows: number,
    C: number,
    eps: number,
  ): void;
  /**
   * Accumulates dinp, dweight, dbias from dout, using the saved mean/rstd. `dinp` must not alias `dout`.
   * A 0 `dweight` or `dbias` is a gradient not wanted: it is not computed.
   */
  layerNormBackward(
    dinp: Ptr,
    dweight: Ptr,
    dbias: Ptr,
    dout: Ptr,
    inp: Ptr,
    weight: Ptr,
    mean: Ptr,
    rstd: Ptr,
    rows: number,
    C: number,
  ): void;

  // ---------------------------------------------------------------- activations
  /** out = gelu(inp): erf form 0.5x(1+erf(x/√2)); tanh form 0.5x(1+tanh(√(2/π)(x+0.044715x³))). `out` may alias `inp`. */
  geluForward(out: Ptr, inp: Ptr, n: number, kind: GeluKind): void;
  /** dinp += gelu'(inp) · dout. */
  geluBackward(dinp: Ptr, inp: Ptr, dout: Ptr, n: number, kind: GeluKind): void;
  /** out = tanh(inp) (BERT pooler). `out` may alias `inp`. */
  tanhForward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += (1 − out²) · dout, from the saved forward output. */
  tanhBackward(dinp: Ptr, out: Ptr, dout: Ptr, n: number): void;
  /** out = max(inp, 0) (DistilBERT's classifier head, `relu` MLPs). `out` may alias `inp`. */
  reluForward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += (inp > 0) · dout (0 at inp = 0, as PyTorch). */
  reluBackward(dinp: Ptr, inp: Ptr, dout: Ptr, n: number): void;
  /** In place softmax over each of `rows` rows of width `cols` (max-subtracted). */
  softmaxRows(x: Ptr, rows: number, cols: number): void;

  // ---------------------------------------------------------------- attention
  /**
   * Multi-head scaled dot-product attention for a batch, all heads, grouped-query attention included.
   *
   * q: row (b, t) of query head h starts at `q + 4·((b·T + t)·ldq + h·D)`; k, v: row (b, t) of kv head g at
   * `k + 4·((b·T + t)·ldkv + g·D)` — so BERT's separate Q/K/V [B, T, H·D] use ldq = ldkv = H·D, GPT-2's fused
   * c_attn output [B, T, 3·H·D] uses ldq = ldkv = 3·H·D with k = q + 4·H·D, v = q + 8·H·D, and Llama's separate
   * q [B, T, H·D], k, v [B, T, Hkv·D] use ldq = H·D, ldkv = Hkv·D.
   * Query head h reads kv head g(h) = kvHead[h] (i32 [H], each in [0, Hkv): a layer whose kept query heads keep
   * their unpruned groups), or, with kvHead 0, g(h) = ⌊h / (H / Hkv)⌋ (Hkv divides H; Hkv = H: plain multi-head).
   * keyMask: f32 [B, T], 1 = real token, 0 = padding (0 pointer = all real).
   * headMask: f32 [H] multipliers (any real values; 0 pointer = all ones), applied to the probabilities.
   * causal: key j > query i is masked (GPT, GPT-2).
   * window: > 0, key j ≤ i − window is masked too (a sliding window: with causal, query i sees the `window` keys
   * i − window < j ≤ i — HF's GPT-Neo `window_size` and Mistral's `sliding_window`); 0 = no window.
   *
   * scores = scale · q·kᵀ;  masked keys are excluded (probability exactly 0); a row with every key masked is
   * uniform over all T keys (what HF's additive finfo.min mask gives).
   * probs[b, h, i, j] = softmax_j(scores)   — saved UNMASKED by headMask (backward needs it).
   * ctx[b, t, h·D + d] = Σ_j headMask[h] · probs[b, h, t, j] · v[b, j, g(h), d]   (ctx is [B, T, H·D], contiguous).
   * `probs` 0: the probabilities are not saved — each (batch, head)'s are computed in `scratch` (T·T floats)
   * and dropped (an inference pass nothing reads them from); with `probs`, `scratch` may be 0.
   * `past` > 0 (incremental decoding): the T queries are positions past … past + T − 1 of each row, whose k, v and
   * keyMask hold Tk = past + T positions (a KV cache); query i sees keys j ≤ past + i, and probs is [B, H, T, Tk]
   * (scratch T·Tk floats). Backward takes past = 0 only.
   */
  attentionForward(
    ctx: Ptr,
    probs: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    ldq: number,
    ldkv: number,
    keyMask: Ptr,
    headMask: Ptr,
    kvHead: Ptr,
    B: number,
    T: number,
    past: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
    causal: boolean,
    window: number,
    scratch: Ptr,
  ): void;
  /**
   * Backward of attentionForward. Accumulates dq (the layout of q, stride ldq), dk, dv (the layout of k, v,
   * stride ldkv: a kv head's gradient sums every query head it serves, in ascending order) and dheadMask[H]
   * (Σ over batch, queries, keys of dP'·P where P' = m·P). `dheadMask` 0 = not wanted.
   * `scratch` must hold T·T floats.
   */
  attentionBackward(
    dq: Ptr,
    dk: Ptr,
    dv: Ptr,
    dheadMask: Ptr,
    dctx: Ptr,
    probs: Ptr,
    q: Ptr,
    k: Ptr,
    v: Ptr,
    ldq: number,
    ldkv: number,
    headMask: Ptr,
    kvHead: Ptr,
    scratch: Ptr,
    B: number,
    T: number,
    H: number,
    Hkv: number,
    D: number,
    scale: number,
  ): void;

  // ---------------------------------------------------------------- losses
  /**
   * Softmax cross-entropy over `rows` rows of width V. targets: i32 [rows]; a negative target means "ignore"
   * (loss 0, gradient 0). Writes losses[rows] (0 where ignored) and probs[rows, V] (the softmax).
   */
  crossEntropyForward(losses: Ptr, probs: Ptr, logits: Ptr, targets: Ptr, rows: number, V: number): void;
  /** dlogits[r, :] += scale · (probs[r, :] − onehot(target[r])) for non-ignored rows. */
  crossEntropyBackward(dlogits: Ptr, probs: Ptr, targets: Ptr, rows: number, V: number, scale: number): void;

  // ---------------------------------------------------------------- embeddings
  /** out[r, :] = table[ids[r], :] (C floats per row). ids: i32 [rows]; the caller has range-checked them. */
  embeddingForward(out: Ptr, table: Ptr, ids: Ptr, rows: number, C: number): void;
  /** dtable[ids[r], :] += dout[r, :]. */
  embeddingBackward(dtable: Ptr, dout: Ptr, ids: Ptr, rows: number, C: number): void;

  // ---------------------------------------------------------------- optimiser
  /**
   * One AdamW step (torch.optim.AdamW semantics, decoupled weight decay):
   * p −= lr·wd·p;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
   * p −= lr · (m / (1 − β1^step)) / (sqrt(v / (1 − β2^step)) + eps).
   */
  adamw(
    param: Ptr,
    grad: Ptr,
    m: Ptr,
    v: Ptr,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  /** Σ x[i]² over n floats (for gradient-norm clipping), accumulated in f64 where possible. */
  sumSquares(x: Ptr, n: number): number;
  // ---------------------------------------------------------------- dropout (training)
  /**
   * Inverted dropout with a stateless counter-based RNG, so a (seed, i) pair always gives the same draw on
   * every backend: element i is kept when u(seed, i) ≥ p, where u = (hash(seed, i) >>> 8) / 2²⁴ and
   * hash(seed, i) = mix(mix(i ^ key) + key), key = mix(seed >>> 0), mix = "lowbias32"
   * (x ^= x>>>16; x *= 0x7feb352d; x ^= x>>>15; x *= 0x846ca68b; x ^= x>>>16; all mod 2³²).
   * Writes mask[i] = keep ? f32(1/(1 − p)) : 0 (saved for backward) and out[i] = inp[i]·mask[i].
   * `p` in [0, 1); `out` may alias `inp`.
   */
  dropoutForward(out: Ptr, mask: Ptr, inp: Ptr, n: number, p: number, seed: number): void;
  /** dinp[i] += dout[i] · mask[i] (the saved mask of {@linkcode Kernels.dropoutForward}). */
  dropoutBackward(dinp: Ptr, mask: Ptr, dout: Ptr, n: number): void;

  // ---------------------------------------------------------------- analysis
  /**
   * Attention entropy per head, accumulated: out[h] += Σ_b Σ_{i: queryMask[b, i] ≠ 0} −Σ_j p ln p over the
   * probabilities probs [B, H, T, T] (0 ln 0 = 0; sums in f64). queryMask: f32 [B, T], 0 pointer = every query.
   * A head mask, if wanted, is the caller's to apply to `probs` beforehand.
   */
  attentionEntropy(out: Ptr, probs: Ptr, queryMask: Ptr, B: number, H: number, T: number): void;

  // ---------------------------------------------------------------- benchmark
  /**
   * The multiply-add peak: `iterations` steps of matmul's micro-kernel instruction mix — two f32x4 loads and six
   * splats from a 64-byte block in L1, twelve independent f32x4 multiply-adds into registers
   * ({@linkcode FMA_PEAK_FLOPS_PER_ITERATION} FLOPs a step), no stores. Each step adds 0.5·0 to accumulators
   * started at k/16, so it returns 16.5 exactly (fused or not). Time it to measure the backend's FLOP/s.
   */
  fmaPeak(iterations: number): number;
  // ---------------------------------------------------------------- weight storage
  /**
   * out[i] = f32(inp[first + i]) for i < n, where `inp` holds 16-bit floats: IEEE half, or bfloat16 when
   * `bfloat` (exact; infinities and NaN stay so). Lets F16/BF16 weights stay half-size in kernel memory and be
   * widened just before a kernel reads them. `first` counts 16-bit elements, so `inp` stays 4-byte aligned.
   */
  halfToFloat(out: Ptr, inp: Ptr, first: number, n: number, bfloat: boolean): void;

  // ---------------------------------------------------------------- decoder families (Llama, Qwen2, Mistral, GPT-NeoX)
  /**
   * RMSNorm (HF's LlamaRMSNorm, in f32) over each of `rows` rows of width C: out = x · rstd · (offset + weight),
   * rstd = 1/sqrt(mean(x²) + eps); saves rstd[rows] for backward. `offset` is 0 (Llama, Qwen2, Mistral) or 1
   * (Gemma's 1 + γ). `out` may alias `inp`.
   */
  rmsNormForward(
    out: Ptr,
    rstd: Ptr,
    inp: Ptr,
    weight: Ptr,
    rows: number,
    C: number,
    eps: number,
    offset: number,
  ): void;
  /**
   * Accumulates dinp (and dweight unless 0: not wanted) from dout and the saved rstd: with x̂ = x·rstd and
   * ĝ = (offset + weight)·dout, dinp += rstd·(ĝ − x̂·mean(ĝ·x̂)), dweight += Σ_rows dout·x̂. `dinp` must not alias `dout`.
   */
  rmsNormBackward(
    dinp: Ptr,
    dweight: Ptr,
    dout: Ptr,
    inp: Ptr,
    weight: Ptr,
    rstd: Ptr,
    rows: number,
    C: number,
    offset: number,
  ): void;
  /** out = silu(inp) = inp·sigmoid(inp) (HF's `silu`, the gated MLP's activation). `out` may alias `inp`. */
  siluForward(out: Ptr, inp: Ptr, n: number): void;
  /** dinp += silu'(inp) · dout, silu' = s·(1 + x·(1 − s)), s = sigmoid(x). */
  siluBackward(dinp: Ptr, inp: Ptr, dout: Ptr, n: number): void;
  /** out[i] = a[i] · b[i] (the gated MLP's silu(gate) ⊙ up). `out` may alias `a` or `b`. */
  mulForward(out: Ptr, a: Ptr, b: Ptr, n: number): void;
  /** da += dout ⊙ b and db += dout ⊙ a; a 0 `da` or `db` is not wanted. `da` and `db` may be one buffer (a ⊙ a). */
  mulBackward(da: Ptr, db: Ptr, dout: Ptr, a: Ptr, b: Ptr, n: number): void;
  /**
   * Rotary position embedding, HF's rotate-half layout (Llama, Qwen2, Mistral; GPT-NeoX's partial rotary).
   * Row r of `inp` (row stride `ld` floats, ≥ H·D: a view of a fused projection) holds H heads of D dims; in
   * each head the first `rotaryDim` (even, ≤ D) dims are halves x1, x2 rotated by the angles
   * θ_i = f32(invFreq_i · positions[r]), invFreq_i = f32(1 / f32(theta^f32(2i / rotaryDim))) (HF's float32
   * arithmetic): y1 = x1·cos θ − x2·sin θ, y2 = x2·cos θ + x1·sin θ; the dims past rotaryDim pass through.
   * `out` is dense [rows, H·D] and may alias `inp` when ld = H·D. positions: i32 [rows]. `table` is scratch for
   * 3·rotaryDim/2 floats.
   */
  rotaryForward(
    out: Ptr,
    inp: Ptr,
    positions: Ptr,
    table: Ptr,
    rows: number,
    ld: number,
    H: number,
    D: number,
    rotaryDim: number,
    theta: number,
  ): void;
  /**
   * Backward of rotaryForward: dinp (row stride `ld`) += the inverse rotation of dout (dense [rows, H·D]),
   * dx1 += dy1·cos + dy2·sin, dx2 += dy2·cos − dy1·sin; the pass-through dims' gradient is added unchanged.
   */
  rotaryBackward(
    dinp: Ptr,
    dout: Ptr,
    positions: Ptr,
    table: Ptr,
    rows: number,
    ld: number,
    H: number,
    D: number,
    rotaryDim: number,
    theta: number,
  ): void;
}

// Compile-time check that the interface above is exactly the table in contract.ts: the same kernel names, and
// for each one the same parameter and return types. A mismatch makes `Same` false (or boolean), which fails
// `Assert`'s `extends true`.
type Assert<T extends true> = T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type KernelMethodName = Exclude<keyof Kernels, "name" | "mem" | "threads" | "close">;
type SameNames = Same<KernelMethodName, KernelName>;
type SameSignatures = {
  [N in KernelName]: Same<Parameters<Kernels[N]>, Parameters<ContractKernels[N]>> extends true
    ? Same<ReturnType<Kernels[N]>, ReturnType<ContractKernels[N]>>
    : false;
}[KernelName];
type _InterfaceMatchesContract = [Assert<SameNames>, Assert<SameSignatures>];
