"""PyTorch CPU reference timings for `deno task bench --pytorch PYTHON` (never a runtime or CI dependency).

The same BERT-base-shaped classifier as bench/bert_bench.ts (random weights; 12 layers, 12 heads, hidden 768,
intermediate 3072, 2 labels), Hugging Face transformers' BertForSequenceClassification on PyTorch CPU:

- forward, batch 1, seq 128 (no grad), median of 9 runs;
- the importance pass with frozen weights: forward + backward to a [layers, heads] head mask, batch 8, seq 128,
  median of 5 runs. Transformers 5 has no `head_mask`, so the mask multiplies each layer's attention context per
  head through a forward hook — the same gradient as `head_mask` on the probabilities (m·P·V = m·(P·V)).

at 1 and 2 threads (`torch.set_num_threads`). Prints one JSON object:
{"forward_ms": {"1t", "2t"}, "importance_examples_per_s": {"1t", "2t"}, "torch", "transformers", "cpu"}.

Usage: python bench/pytorch_reference.py [--out FILE]
(`bench/pytorch_reference.out.json`: what it printed in the bench run the README quotes.)
"""

import argparse
import json
import platform
import statistics
import time

import torch
import transformers
from transformers import BertConfig, BertForSequenceClassification


def build_model() -> torch.nn.Module:
    torch.manual_seed(12345)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        type_vocab_size=2,
        num_labels=2,
    )
    model = BertForSequenceClassification(config).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def batch(size: int, seq: int) -> dict:
    ids = (1000 + (torch.arange(size * seq) * 7919) % 29000).view(size, seq)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def head_mask_hooks(model: torch.nn.Module, mask: torch.Tensor) -> list:
    handles = []
    heads = model.config.num_attention_heads
    for layer, block in enumerate(model.bert.encoder.layer):

        def hook(_module, _inputs, output, layer=layer):
            ctx = output[0]
            b, t, c = ctx.shape
            masked = (ctx.view(b, t, heads, c // heads) * mask[layer].view(1, 1, heads, 1)).view(b, t, c)
            return (masked, *output[1:])

        handles.append(block.attention.self.register_forward_hook(hook))
    return handles


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    args = parser.parse_args()
    model = build_model()
    one, eight = batch(1, 128), batch(8, 128)
    labels = torch.ones(8, dtype=torch.long)
    mask = torch.ones(12, 12, requires_grad=True)
    handles = head_mask_hooks(model, mask)

    def forward():
        with torch.no_grad():
            model(**one)

    def importance():
        mask.grad = None
        out = model(**eight, labels=labels)
        out.loss.backward()
        assert mask.grad is not None and mask.grad.shape == (12, 12)

    result = {"forward_ms": {}, "importance_examples_per_s": {}}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        result["forward_ms"][f"{threads}t"] = round(median_ms(forward, 9), 1)
        result["importance_examples_per_s"][f"{threads}t"] = round(8000 / median_ms(importance, 5), 3)
    for h in handles:
        h.remove()
    result.update(torch=torch.__version__, transformers=transformers.__version__, cpu=platform.processor() or platform.machine())
    text = json.dumps(result)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
