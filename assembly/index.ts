// Every kernel of the contract table in core/kernels/contract.ts, as *_forward / *_backward pairs (llm.c argument
// order: outputs, saved values, inputs, dimensions). Pointers are byte offsets into this module's exported memory.

export { matmul_forward, matmul_part, matmul_scratch_bytes } from "./matmul";
export {
  attention_forward, attention_backward, attention_forward_part, attention_backward_part, set_gemm_scratch,
} from "./attention";
export { layer_norm_forward, layer_norm_backward } from "./layer_norm";
export {
  erf, gelu_erf_forward, gelu_erf_backward, gelu_tanh_forward, gelu_tanh_backward, tanh_forward, tanh_backward,
  relu_forward, relu_backward,
} from "./gelu";
export { softmax_forward } from "./softmax";
export { cross_entropy_forward, cross_entropy_backward } from "./cross_entropy";
export { embedding_forward, embedding_backward } from "./embedding";
export {
  fill_forward, zero_bytes, copy_forward, add_forward, scale_forward, bias_forward, bias_backward, sum_squares,
} from "./elementwise";
export { adamw_update } from "./adamw";
export { dropout_forward, dropout_backward } from "./dropout";
export { attention_entropy, attention_entropy_heads } from "./entropy";
export { fma_peak } from "./peak";
export { half_to_float } from "./convert";
// decoder families (Llama, Qwen2, Mistral, GPT-NeoX): RMSNorm, SiLU and the gated product, rotary embeddings
export { rms_norm_forward, rms_norm_backward } from "./rms_norm";
export { silu_forward, silu_backward, mul_forward, mul_backward } from "./silu";
export { rotary_forward, rotary_backward } from "./rotary";

/** First byte past the module's static data: the kernel memory's allocator starts above it. */
export function heap_base(): usize {
  return __heap_base;
}
