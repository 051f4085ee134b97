#!/usr/bin/env python3
"""Hugging Face transformers baseline for `df11 bench generate`: a LlamaForCausalLM of the same
shape (Llama 3.1 8B by default) with random BF16 weights (normal(0, 0.02), transformers' own init
with initializer_range 0.02) on CUDA, batch-1 greedy generate() with the KV cache, timed after a
warm-up. Prints the GPU, the versions, time to first token, decode tok/s and peak CUDA memory.

Usage (on a machine with a CUDA GPU, torch and transformers):
  python3 bench/reference/transformers_generate.py [--shape llama-3.1-8b|llama-3.3-70b|tiny]
      [--tokens 64] [--prompt-tokens 8] [--layers N] [--repeats 3] [--attn sdpa|eager]

The prompt is the one `df11 bench generate` uses: BOS, then i * 7919 mod vocab. EOS is suppressed
(min_new_tokens) so that every run generates exactly --tokens tokens. Decode speed is
(tokens - 1) / (time of generate(tokens) - time of generate(1)), the median of --repeats runs.
"""
import argparse
import statistics
import sys
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}


def llama3(hidden, intermediate, heads, layers):
    return dict(hidden_size=hidden, intermediate_size=intermediate, num_attention_heads=heads,
                num_key_value_heads=8, head_dim=128, num_hidden_layers=layers, vocab_size=128256,
                max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
                tie_word_embeddings=False, hidden_act="silu", bos_token_id=128000,
                eos_token_id=[128001, 128008, 128009], initializer_range=0.02)


SHAPES = {
    "llama-3.1-8b": llama3(4096, 14336, 32, 32),
    "llama-3.3-70b": llama3(8192, 28672, 64, 80),
    "tiny": dict(hidden_size=256, intermediate_size=688, num_attention_heads=8, num_key_value_heads=2,
                 num_hidden_layers=4, vocab_size=1024, max_position_embeddings=2048, rms_norm_eps=1e-5,
                 rope_theta=10000.0, tie_word_embeddings=False, hidden_act="silu", bos_token_id=1,
                 eos_token_id=2, initializer_range=0.02),
}
PROMPT_ID_STRIDE = 7919


def make_config(shape, layers, attn):
    fields = dict(SHAPES[shape])
    if layers is not None:
        fields["num_hidden_layers"] = layers
    theta = fields.pop("rope_theta")
    rope = {"rope_type": "default", "rope_theta": theta} if shape == "tiny" else {**LLAMA3_ROPE, "rope_theta": theta}
    try:
        config = LlamaConfig(**fields, rope_parameters=rope)
    except TypeError:
        # transformers 4.x: rope_theta and rope_scaling instead of rope_parameters
        rope = dict(rope)
        fields["rope_theta"] = rope.pop("rope_theta")
        if rope["rope_type"] != "default":
            fields["rope_scaling"] = rope
        config = LlamaConfig(**fields)
    config._attn_implementation = attn
    return config


def timed_generate(model, ids, n):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False, use_cache=True,
                         pad_token_id=0, attention_mask=torch.ones_like(ids))
    torch.cuda.synchronize()
    assert out.shape[1] == ids.shape[1] + n, out.shape
    return time.perf_counter() - t0, out[0, ids.shape[1]:].tolist()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shape", default="llama-3.1-8b", choices=sorted(SHAPES))
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--prompt-tokens", type=int, default=8)
    p.add_argument("--layers", type=int)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    a = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device")
    dev = torch.cuda.get_device_properties(0)
    print(f"transformers baseline: {dev.name}, {dev.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, attention {a.attn}")
    config = make_config(a.shape, a.layers, a.attn)
    t0 = time.perf_counter()
    torch.manual_seed(1)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    model.eval()
    torch.cuda.synchronize()
    weights = sum(t.numel() for t in model.parameters())
    print(f"model: synthetic {a.shape}, {config.num_hidden_layers} layers, {weights / 1e9:.2f} G weights "
          f"(random init normal(0, {config.initializer_range}) in bf16 on cuda), built in {time.perf_counter() - t0:.1f} s")
    vocab = config.vocab_size
    prompt = [config.bos_token_id] + [(i * PROMPT_ID_STRIDE) % vocab for i in range(1, a.prompt_tokens)]
    ids = torch.tensor([prompt], device="cuda")
    with torch.inference_mode():
        timed_generate(model, ids, min(8, a.tokens))  # warm-up
        torch.cuda.reset_peak_memory_stats()
        first, full = [], []
        for _ in range(a.repeats):
            first.append(timed_generate(model, ids, 1)[0])
            t, toks = timed_generate(model, ids, a.tokens)
            full.append(t)
    t1, tn = statistics.median(first), statistics.median(full)
    decode = (a.tokens - 1) / (tn - t1) if a.tokens > 1 and tn > t1 else float("nan")
    weight_bytes = (weights - config.vocab_size * config.hidden_size) * 2 + config.hidden_size * 2
    print(f"prompt {len(prompt)} tokens, {a.tokens} new tokens, greedy, batch 1, median of {a.repeats}")
    print(f"time to first token {t1 * 1e3:.1f} ms; generate({a.tokens}) {tn * 1e3:.1f} ms; "
          f"decode {decode:.2f} tok/s ({1e3 / decode:.2f} ms/token); end to end {a.tokens / tn:.2f} tok/s")
    print(f"peak CUDA memory {torch.cuda.max_memory_allocated() / 1e9:.2f} GB; "
          f"{weight_bytes / 1e9:.2f} GB of weights per decode step = {weight_bytes * decode / 1e9:.0f} GB/s effective")
    print(f"first ids: {toks[:16]}")


if __name__ == "__main__":
    main()
