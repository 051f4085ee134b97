"""Turn a run_reference.py manifest into the committed digest fixtures.

  python3 build_fixtures.py --manifest MANIFEST_JSON --model-dir MODEL_DIR --out test/fixtures/reference

Writes stories260K-df11.json (every tensor the reference wrote for the demo model, by SHA-256) and
synthetic.json (generator parameters, input digests, and the reference's outputs or failure for
each synthetic unit). Only digests and small facts are written; no model bytes.
"""
import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synthetic_units  # noqa: E402

REFERENCE = {
    "repository": "LeanModels/DFloat11",
    "commit": "4577338",
    "package_version": "0.5.0",
    "huffman_library": "dahuffman 0.4.2 (soxofaan/dahuffman tag v0.4.2, the version the reference pins)",
}
MODEL_CALLS = {
    False: "compress_model(model, pattern_dict, save_path, save_single_file=False, check_correctness=True)",
    True: "compress_model(model, pattern_dict, save_path, save_single_file=True, check_correctness=True)",
}
UNIT_FIELDS = ("luts", "encoded_exponent", "sign_mantissa", "output_positions", "gaps", "split_positions")
PRNG_VECTOR_SEEDS = (1, 0xDEADBEEF)
PRNG_VECTOR_DRAWS = 8
BF16_VECTOR_ELEMENTS = 8


def file_digest(path):
    with open(path, "rb") as f:
        blob = f.read()
    return {"file": os.path.basename(path), "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}


def clean_file(entry):
    out = {"file": entry["file"], "bytes": entry["bytes"], "sha256": entry["sha256"]}
    if "tensors" in entry:
        out["safetensors_metadata"] = entry.get("metadata")
        out["tensors"] = entry["tensors"]
    if "json" in entry:
        out["json"] = entry["json"]
    return out


def model_fixture(manifest, model_dir):
    env = manifest["environment"]
    runs, config = [], None
    for run in manifest["model_runs"]:
        item = {
            "name": run["name"],
            "call": MODEL_CALLS[run["save_single_file"]],
            "pattern_dict": run["pattern_dict"],
            "save_single_file": run["save_single_file"],
            "outcome": run["outcome"],
        }
        if run["outcome"] != "ok":
            item["exception"] = " ".join(run["exception"].split())
        item["files"] = [clean_file(f) for f in run["files"]]
        runs.append(item)
        if run["name"] == "single-full" and run["outcome"] == "ok":
            config = next(f["json"] for f in run["files"] if f["file"] == "config.json")["dfloat11_config"]
    loaded = manifest["model_runs"][0]["loaded_weights"]
    return {
        "description": (
            "What the reference DFloat11 compressor wrote for the stories260K demo model, tensor by "
            "tensor (SHA-256 of each tensor's raw bytes). A byte-identical encoder must reproduce every "
            "DF11 tensor. Runs: per-unit shards and single file, each with the full published Llama "
            "pattern dict and with the layer pattern only."),
        "reference": REFERENCE,
        "environment": {k: env.get(k) for k in ("python", "numpy", "torch", "transformers", "cupy",
                                                 "safetensors", "accelerate", "gpu")},
        "input": {
            "model": "stories260K",
            "files": [file_digest(os.path.join(model_dir, n)) for n in ("config.json", "model.safetensors")],
            "loaded_as": "transformers LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)",
            "loaded_weights_match_file": not loaded["mismatched"] and not loaded["missing_in_model"],
            "lm_head_tied_to_embed_tokens": loaded["lm_head_is_embed_tokens"],
        },
        "dfloat11_config": config,
        "runs": runs,
    }


def prng_vectors():
    out = []
    for seed in PRNG_VECTOR_SEEDS:
        draws = synthetic_units.mulberry32_block(seed, 0, PRNG_VECTOR_DRAWS).tolist()
        out.append({"seed": seed, "first_draws": draws})
    return out


def unit_outputs(record):
    shard = next((f for f in record.get("files", []) if f["file"] == "unit.safetensors"), None)
    if shard is None:
        return None
    by_field = {t["name"].split(".")[-1]: t for t in shard["tensors"]}
    return {field: {k: by_field[field][k] for k in ("dtype", "shape", "bytes", "sha256")}
            for field in UNIT_FIELDS}


def synthetic_fixture(manifest):
    records = {}
    for record in manifest["synthetic_units"]:
        records.setdefault(record["name"], record)
    units = []
    for spec in synthetic_units.unit_specs():
        data = synthetic_units.generate(spec).astype("<u2")
        entry = {"params": spec, "n": int(data.size),
                 "input_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                 "first_bf16_hex": [f"{v:04x}" for v in data[:BF16_VECTOR_ELEMENTS].tolist()],
                 "reference": []}
        for name in (spec["name"] + "-nocheck", spec["name"]):
            record = records.get(name)
            if record is None:
                continue
            if record.get("input_sha256") not in (None, entry["input_sha256"]):
                raise SystemExit(f"{name}: the device generated different input bytes")
            result = {"check_correctness": record.get("check_correctness", True), "outcome": record["outcome"]}
            if record.get("exception"):
                result["exception"] = " ".join(record["exception"].split())
            outputs = unit_outputs(record)
            if outputs:
                result["outputs"] = outputs
            entry["reference"].append(result)
            if "code_table" in record:
                entry["huffman"] = {
                    "histogram": record["histogram"],
                    "unlimited_max_len": record["unlimited_max_len"],
                    "limiter_steps": record["limiter_steps"],
                    "demoted_symbols": record["demoted_symbols"],
                    "code_table": record["code_table"],
                }
        units.append(entry)
    env = manifest["environment"]
    return {
        "description": (
            "Synthetic BF16 units encoded by the reference DFloat11 compressor (compress_model on a "
            "module holding one Linear, per-unit shard mode). Inputs are regenerated from `params` by "
            "the generator below; outputs are SHA-256 digests of the six tensors the reference wrote."),
        "reference": REFERENCE,
        "environment": {k: env.get(k) for k in ("python", "numpy", "torch", "gpu")},
        "generator": {
            "source": "bench/reference/synthetic_units.py",
            "prng": ("mulberry32: draw i (0-based) of seed s is computed from t = (s + (i + 1) * 0x6D2B79F5) "
                     "mod 2^32; t = imul(t ^ (t >>> 15), t | 1); t = t ^ ((t + imul(t ^ (t >>> 7), t | 61)) "
                     "mod 2^32); draw = (t ^ (t >>> 14)) >>> 0. All values are unsigned 32-bit. Sequentially: "
                     "state = (state + 0x6D2B79F5) mod 2^32, then hash it. Keep the state wrapped: the common "
                     "JS closure (let t = a += 0x6D2B79F5) lets `a` grow as a double and diverges after "
                     "about 4.9 million draws (2^53 / 0x6D2B79F5), which the limiter units exceed."),
            "prng_vectors": prng_vectors(),
            "kinds": {
                "irwin-hall": ("For element j: s = sum of draws 12j .. 12j+11 (an exact integer below 2^36); "
                               "x = (s / 2^32 - 6) * scale in float64; f = x rounded to float32 (nearest "
                               "even, Math.fround); with b = the float32 bits, bf16 = (b + 0x7FFF + "
                               "((b >>> 16) & 1)) >>> 16."),
                "counts": ("counts = [[exponent, count], ...], n = sum of counts. layout = each exponent "
                           "repeated count times, in list order. Layout element k goes to element "
                           "p(k) = (k * stride) mod n (gcd(stride, n) = 1, stride < 2^26). Element j: "
                           "sm = draw(j) & 0xFF, bf16 = ((sm & 0x80) << 8) | (exponent << 7) | (sm & 0x7F)."),
            },
            "byte_order": "input_sha256 is over the BF16 values as little-endian uint16, element order",
        },
        "notes": [
            "reference[].outcome: ok | exception | hung (the GPU round-trip check never returned; the "
            "process was ended by a watchdog after 60 s).",
            "check_correctness=false entries show the bytes the encoder writes where the check fails.",
            "huffman.histogram lists [exponent, count] in ascending exponent order, as the reference "
            "builds it; code_table lists the final codes (after the 32-bit limiter) in the dahuffman "
            "table order, EOF included; limiter_steps replays each limiter iteration with numpy's "
            "argpartition on the same machine and flags ties at the k-th smallest frequency.",
        ],
        "units": units,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    for name, doc in (("stories260K-df11.json", model_fixture(manifest, args.model_dir)),
                      ("synthetic.json", synthetic_fixture(manifest))):
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(name, os.path.getsize(os.path.join(args.out, name)))


if __name__ == "__main__":
    main()
