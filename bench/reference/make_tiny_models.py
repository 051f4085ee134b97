"""Make tiny random Llama-family models with Hugging Face transformers, and their reference logits.

This script is ours. It needs torch, transformers (5.x; 4.x works too) and numpy, no network and no
GPU (everything runs on the CPU, in float32, so no TF32 or reduced-precision kernel can creep in).

  python3 make_tiny_models.py --out OUT_DIR

For each architecture below it
1. builds a tiny config (hidden 64, 2 layers, 4 heads, 2 KV heads) with transformers' own config
   class, seeds torch, initialises every weight randomly (matrices N(0, MATRIX_STD), biases
   N(0, BIAS_STD), RMSNorm weights N(1, NORM_STD) so that the norms matter), casts to bfloat16 and
   writes `OUT_DIR/<arch>/` with `save_pretrained` (config.json + BF16 model.safetensors);
2. loads that folder back with `from_pretrained(dtype=torch.float32)`, so the reference computes in
   float32 from the BF16 weights, exactly the numbers a BF16 engine starts from (checked);
3. for each prompt (token ids, lengths 1, 7 and 16) runs greedy decoding for GREEDY_STEPS tokens by
   argmax over full forward passes (no KV cache, no end-of-sequence stop), recording the gap between
   the best and second-best logit at each step, then one forward pass over prompt + greedy tokens
   whose logits at every position go to `<arch>/logits-<i>.bin` (float32 little-endian,
   row-major [positions, vocab]); `model.generate(do_sample=False)` is run as a cross-check;
4. measures how much the logits move when an architectural detail is dropped (rope scaling or
   theta, biases, q/k norms), so that the tolerance of a parity test can be judged against it;
5. writes `OUT_DIR/manifest.json`: versions, the command, init, and per model the config as
   written, file sizes and SHA-256, prompts, greedy ids, gaps, logits files and shapes.

Why MATRIX_STD is 0.16 and not the usual 0.02: transformers initialises with std 0.02 for models
thousands wide. At hidden size 64 that gives logits with a spread of ~0.16 and near-uniform
attention, so a wrong rotary frequency would barely move the logits. 0.02 * sqrt(4096 / 64) = 0.16
gives each dot product the variance a 4096-wide model has at 0.02: attention that really depends on
position, and logits spread over a few units.
"""
import argparse
import copy
import hashlib
import json
import os
import platform
import sys
import time
import traceback

import numpy as np
import torch
import transformers
from safetensors import safe_open
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

SEED = 20250601
MATRIX_STD = 0.16
BIAS_STD = 0.1
NORM_STD = 0.2
GREEDY_STEPS = 16
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
BOS = 1
EOS = 2
PROMPTS = [
    [BOS],
    [BOS, 45, 200, 17, 99, 3, 150],
    [BOS, 230, 7, 64, 64, 12, 181, 90, 5, 33, 254, 128, 71, 19, 240, 8],
]

# One entry per fixture model: folder name, classes, config fields beyond the shared ones, and the
# perturbations used to measure how much each detail moves the logits.
ARCHS = [
    {
        "name": "llama2",
        "what": "LlamaForCausalLM, Llama-2 style: default rope (theta 10000), tied embeddings",
        "config_cls": LlamaConfig,
        "model_cls": LlamaForCausalLM,
        "config": dict(
            vocab_size=320,
            intermediate_size=172,
            max_position_embeddings=128,
            rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            tie_word_embeddings=True,
        ),
        "perturb": ["rope_theta_x2"],
    },
    {
        "name": "llama3",
        "what": "LlamaForCausalLM, Llama-3.1 style: llama3 rope scaling (theta 500000, factor 8, "
        "original context 64, so the frequencies of wavelength 16..64 are smoothed and longer ones divided by 8), untied head",
        "config_cls": LlamaConfig,
        "model_cls": LlamaForCausalLM,
        "config": dict(
            vocab_size=512,
            intermediate_size=128,
            max_position_embeddings=256,
            rms_norm_eps=1e-5,
            rope_parameters={
                "rope_type": "llama3",
                "rope_theta": 500000.0,
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
            },
            tie_word_embeddings=False,
        ),
        "perturb": ["rope_default"],
    },
    {
        "name": "mistral",
        "what": "MistralForCausalLM: theta 1e6, no sliding window, untied head",
        "config_cls": MistralConfig,
        "model_cls": MistralForCausalLM,
        "config": dict(
            vocab_size=384,
            intermediate_size=160,
            max_position_embeddings=128,
            rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            sliding_window=None,
            tie_word_embeddings=False,
        ),
        "perturb": ["rope_theta_x2"],
    },
    {
        "name": "qwen2",
        "what": "Qwen2ForCausalLM: q/k/v bias, theta 1e6, tied embeddings",
        "config_cls": Qwen2Config,
        "model_cls": Qwen2ForCausalLM,
        "config": dict(
            vocab_size=448,
            intermediate_size=144,
            max_position_embeddings=128,
            rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            use_sliding_window=False,
            tie_word_embeddings=True,
        ),
        "perturb": ["zero_biases", "rope_theta_x2"],
    },
    {
        "name": "qwen3",
        "what": "Qwen3ForCausalLM: per-head q/k RMSNorm, head_dim 32 (hidden / heads is 16), theta 1e6, tied embeddings",
        "config_cls": Qwen3Config,
        "model_cls": Qwen3ForCausalLM,
        "config": dict(
            vocab_size=256,
            intermediate_size=128,
            head_dim=32,
            max_position_embeddings=128,
            rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            use_sliding_window=False,
            tie_word_embeddings=True,
        ),
        "perturb": ["unit_qk_norms", "rope_theta_x2"],
    },
]


def log(msg):
    print(msg, flush=True)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_config(arch):
    fields = dict(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        hidden_act="silu",
        bos_token_id=BOS,
        eos_token_id=EOS,
        attention_dropout=0.0,
    )
    fields.update(copy.deepcopy(arch["config"]))
    try:
        return arch["config_cls"](**fields)
    except TypeError:
        # transformers 4.x: rope_theta and rope_scaling instead of rope_parameters
        rope = fields.pop("rope_parameters")
        fields["rope_theta"] = rope.pop("rope_theta")
        if rope.get("rope_type") != "default":
            fields["rope_scaling"] = rope
        return arch["config_cls"](**fields)


@torch.no_grad()
def randomize(model, seed):
    """Random weights in a fixed order (sorted parameter names), from one seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if p.dim() == 1 and name.endswith("norm.weight"):
            values = 1.0 + NORM_STD * torch.randn(p.shape, generator=gen)
        elif name.endswith(".bias"):
            values = BIAS_STD * torch.randn(p.shape, generator=gen)
        else:
            values = MATRIX_STD * torch.randn(p.shape, generator=gen)
        p.copy_(values.to(p.dtype))


def inv_freq_of(model):
    try:
        return [float(x) for x in model.model.rotary_emb.inv_freq.float()]
    except Exception as e:  # noqa: BLE001 - informative only
        return repr(e)


def load_f32(model_dir):
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager").eval()


@torch.no_grad()
def all_logits(model, ids):
    return model(torch.tensor([ids], dtype=torch.long)).logits[0].float()


@torch.no_grad()
def greedy(model, prompt, steps):
    """Greedy ids by argmax over full forward passes; gap = best - second best logit at each step."""
    seq = list(prompt)
    ids, gaps = [], []
    for _ in range(steps):
        last = all_logits(model, seq)[-1]
        top = torch.topk(last, 2)
        nxt = int(top.indices[0])
        ids.append(nxt)
        gaps.append(float(top.values[0] - top.values[1]))
        seq.append(nxt)
    return ids, gaps


@torch.no_grad()
def generate_check(model, prompt, steps):
    try:
        out = model.generate(
            torch.tensor([prompt], dtype=torch.long),
            do_sample=False,
            max_new_tokens=steps,
            pad_token_id=0,
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
        )
        return {"ids": [int(t) for t in out[0, len(prompt):]]}
    except Exception as e:  # noqa: BLE001 - a cross-check only
        return {"error": repr(e)}


def perturbed(model_dir, model_cls, kind):
    """The f32 model with one detail changed: a new model from an edited config, the same weights."""
    model = load_f32(model_dir)
    if kind in ("zero_biases", "unit_qk_norms"):
        with torch.no_grad():
            for name, p in model.named_parameters():
                if kind == "zero_biases" and name.endswith(".bias"):
                    p.zero_()
                if kind == "unit_qk_norms" and (name.endswith("q_norm.weight") or name.endswith("k_norm.weight")):
                    p.fill_(1.0)
        return model
    cfg = copy.deepcopy(model.config)
    rope = dict(getattr(cfg, "rope_parameters", None) or {})
    if kind == "rope_theta_x2":
        rope["rope_theta"] = rope.get("rope_theta", 10000.0) * 2
    elif kind == "rope_default":
        rope = {"rope_type": "default", "rope_theta": rope.get("rope_theta", 10000.0)}
    cfg.rope_parameters = rope
    other = model_cls(cfg).eval()
    other.load_state_dict(model.state_dict())
    return other


def make_one(arch, out_dir, index):
    name = arch["name"]
    model_dir = os.path.join(out_dir, name)
    os.makedirs(model_dir, exist_ok=True)
    seed = SEED + index
    torch.manual_seed(seed)
    config = build_config(arch)
    model = arch["model_cls"](config).eval()
    randomize(model, seed)
    model = model.to(torch.bfloat16)
    bf16_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.save_pretrained(model_dir)
    files = {}
    for f in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, f)
        files[f] = {"bytes": os.path.getsize(path), "sha256": sha256_file(path)}
    log(f"{name}: wrote {files}")

    ref = load_f32(model_dir)
    # the reference must hold exactly the BF16 weights of the file, upcast, and nothing else
    ref_state = ref.state_dict()
    with safe_open(os.path.join(model_dir, "model.safetensors"), framework="pt") as f:
        saved = {k: f.get_tensor(k) for k in f.keys()}
    bad = [k for k, v in saved.items() if v.dtype != torch.bfloat16 or k not in ref_state or not torch.equal(ref_state[k], v.float())]
    unsaved = sorted(set(ref_state) - set(saved))
    tied = config.tie_word_embeddings and unsaved == ["lm_head.weight"] and torch.equal(ref_state["lm_head.weight"], ref_state["model.embed_tokens.weight"])
    if bad or (unsaved and not tied) or any(not torch.equal(saved[k], bf16_state[k]) for k in saved):
        raise RuntimeError(f"{name}: f32 reload differs from the BF16 weights: bad {bad}, not in the file {unsaved}")
    if any(p.dtype != torch.float32 for p in ref.parameters()):
        raise RuntimeError(f"{name}: reference is not float32")

    entry = {
        "name": name,
        "what": arch["what"],
        "class": arch["model_cls"].__name__,
        "seed": seed,
        "files": files,
        "config": json.load(open(os.path.join(model_dir, "config.json"))),
        "tensors": {k: {"dtype": str(v.dtype).split(".")[-1], "shape": list(v.shape)} for k, v in sorted(saved.items())},
        "attn_implementation": getattr(ref.config, "_attn_implementation", None),
        "inv_freq": inv_freq_of(ref),
        "prompts": [],
        "sensitivity": {},
    }
    for i, prompt in enumerate(PROMPTS):
        ids, gaps = greedy(ref, prompt, GREEDY_STEPS)
        seq = prompt + ids
        logits = all_logits(ref, seq)
        # the teacher-forced pass must pick the same tokens as the greedy loop
        forced = [int(t) for t in logits[len(prompt) - 1 : len(seq) - 1].argmax(-1)]
        file = f"logits-{i}.bin"
        logits.numpy().astype("<f4").tofile(os.path.join(model_dir, file))
        entry["prompts"].append(
            {
                "prompt": prompt,
                "greedy": ids,
                "greedy_gaps": gaps,
                "teacher_forced_argmax_equal": forced == ids,
                "generate": generate_check(ref, prompt, GREEDY_STEPS),
                "logits_file": file,
                "logits_shape": [len(seq), int(logits.shape[1])],
                "max_abs_logit": float(logits.abs().max()),
            }
        )
        log(f"{name}: prompt {i} greedy {ids} min gap {min(gaps):.4g}")
    longest = PROMPTS[-1] + entry["prompts"][-1]["greedy"]
    base = all_logits(ref, longest)
    for kind in arch["perturb"]:
        try:
            other = all_logits(perturbed(model_dir, arch["model_cls"], kind), longest)
            entry["sensitivity"][kind] = {"max_abs_diff": float((other - base).abs().max()), "positions": len(longest)}
        except Exception as e:  # noqa: BLE001 - informative only
            entry["sensitivity"][kind] = {"error": repr(e)}
        log(f"{name}: sensitivity {kind} {entry['sensitivity'][kind]}")
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    manifest = {
        "generator": "bench/reference/make_tiny_models.py",
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
        },
        "machine": platform.platform(),
        "device": "cpu",
        "compute_dtype": "float32 (BF16 weights upcast)",
        "init": {"matrix_std": MATRIX_STD, "bias_std": BIAS_STD, "norm_mean": 1.0, "norm_std": NORM_STD, "seed_base": SEED},
        "greedy_steps": GREEDY_STEPS,
        "logits_format": "float32 little-endian, row-major [positions, vocab]; positions = prompt + greedy ids",
        "models": [],
        "failures": [],
    }
    for index, arch in enumerate(ARCHS):
        try:
            manifest["models"].append(make_one(arch, args.out, index))
        except Exception:  # noqa: BLE001 - one architecture failing must not stop the others
            tb = traceback.format_exc()
            log(tb)
            manifest["failures"].append({"name": arch["name"], "traceback": tb})
    manifest["seconds"] = round(time.time() - started, 1)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    log(f"done in {manifest['seconds']} s, {len(manifest['failures'])} failures")
    return 1 if manifest["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
