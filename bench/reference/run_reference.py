"""Run the reference DFloat11 compressor (LeanModels/DFloat11) and record exactly what it writes.

This script is ours; the reference package and its Huffman library are NOT part of this repository.
Point --ref at a folder holding the reference's `dfloat11/` package and a `dahuffman_src/` folder
with the `dahuffman` 0.4.2 package. Needs torch, transformers, cupy, numpy and a CUDA GPU (the
reference checks every unit with a GPU round trip).

  python3 run_reference.py --ref REF_DIR --model-dir MODEL_DIR --out OUT_DIR

What it does, each step isolated so that one crash does not stop the rest:
1. Compresses the demo Llama model four times: per-unit shards and single file, each with the full
   published Llama pattern dict and with the layer pattern only.
2. Compresses each synthetic unit of synthetic_units.py through the reference's `compress_model`
   (a one-Linear holder module, per-unit shard mode), and records the Huffman code table and the
   32-bit limiter's choices made by the reference helpers.
3. Writes a JSON manifest (every output file and tensor with its SHA-256), the logs, and tarballs
   (model outputs; synthetic outputs, without input and sign_mantissa for the largest units).
"""
import argparse
import contextlib
import hashlib
import importlib
import io
import json
import os
import platform
import shutil
import struct
import sys
import tarfile
import threading
import time
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synthetic_units  # noqa: E402  (our generator, beside this file)

LLAMA_LAYER_ATTRS = [
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
]
LLAMA_PATTERN_FULL = {r"model\.layers\.\d+": LLAMA_LAYER_ATTRS, "lm_head": [], "model.embed_tokens": []}
LLAMA_PATTERN_LAYERS = {r"model\.layers\.\d+": LLAMA_LAYER_ATTRS}
MODEL_RUNS = [
    ("shards-full", LLAMA_PATTERN_FULL, False),
    ("single-full", LLAMA_PATTERN_FULL, True),
    ("shards-layers", LLAMA_PATTERN_LAYERS, False),
    ("single-layers", LLAMA_PATTERN_LAYERS, True),
]
SYNTHETIC_UNIT_PATH = "unit"
# Units whose BF16 input is larger than this ship neither the input nor sign_mantissa (both are pure
# functions of the generator parameters); their digests are in the manifest.
MAX_SHIPPED_INPUT_BYTES = 4 * 1024 * 1024
# Tarballs of synthetic outputs: each large unit gets its own, the rest share one.
LARGE_UNITS = ("limiter", "limiter-tie")
# Units whose GPU round-trip check may never return (the reference kernel loops forever on a LUT
# entry that points at the length row). They run last: first without the check, then with it
# under a watchdog, with the outputs written before the risky step.
HANG_PRONE_UNITS = ("exponent-255",)
# Units also compressed without the GPU check, to record the bytes the encoder writes where the
# check fails or hangs.
NOCHECK_UNITS = ("exponent-255", "dense-chunk")
GPU_CHECK_WATCHDOG_S = 60
PENDING = "pending: if this is the final state, the check never returned and the process was killed"
SAFETENSORS_HEADER_LEN_BYTES = 8


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_safetensors(path):
    """Parse a safetensors file: returns (metadata, [(name, dtype, shape, bytes)]) in file order."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[SAFETENSORS_HEADER_LEN_BYTES:SAFETENSORS_HEADER_LEN_BYTES + header_len])
    base = SAFETENSORS_HEADER_LEN_BYTES + header_len
    metadata = header.pop("__metadata__", None)
    tensors = []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        tensors.append((name, info["dtype"], info["shape"], blob[base + start:base + end]))
    return metadata, tensors


def describe_dir(path):
    """Every file in an output folder with its digest; safetensors files also per tensor."""
    files = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        with open(full, "rb") as f:
            blob = f.read()
        entry = {"file": name, "bytes": len(blob), "sha256": sha256(blob)}
        if name.endswith(".safetensors"):
            metadata, tensors = read_safetensors(full)
            entry["metadata"] = metadata
            entry["tensors"] = [
                {"name": t, "dtype": d, "shape": s, "bytes": len(b), "sha256": sha256(b)}
                for t, d, s, b in tensors
            ]
        elif name.endswith(".json"):
            entry["json"] = json.loads(blob)
        files.append(entry)
    return files


class _Router(io.TextIOBase):
    """A stream that forwards to a switchable target. Installed as sys.stdout/sys.stderr before the
    reference is imported, because dahuffman binds sys.stdout as a default argument at import."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def write(self, text):
        return self.target.write(text)

    def flush(self):
        self.target.flush()


OUT_ROUTER = _Router(sys.stdout)
ERR_ROUTER = _Router(sys.stderr)


@contextlib.contextmanager
def captured(log_path):
    """Send stdout and stderr (Python level) to a log file for the duration of the block."""
    saved = OUT_ROUTER.target, ERR_ROUTER.target
    with open(log_path, "w", encoding="utf-8") as log:
        OUT_ROUTER.target = ERR_ROUTER.target = log
        try:
            yield log
        finally:
            OUT_ROUTER.target, ERR_ROUTER.target = saved


def attempt(record, log_path, fn):
    """Run fn() with output captured; store the outcome (ok/exception/traceback/seconds) in record."""
    started = time.time()
    with captured(log_path):
        try:
            fn()
            record["outcome"] = "ok"
        except BaseException as exc:  # noqa: BLE001  (we record every failure mode, then go on)
            record["outcome"] = "exception"
            record["exception"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc()
            traceback.print_exc()
    record["seconds"] = round(time.time() - started, 3)
    with open(log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    record["log_tail"] = text[-3000:]


def install_pkg_resources_shim():
    """The reference imports pkg_resources only for resource_filename; newer setuptools lacks it."""
    try:
        import pkg_resources  # noqa: F401
        return "setuptools pkg_resources"
    except ImportError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package, resource):
            module = sys.modules.get(package) or importlib.import_module(package)
            return os.path.join(os.path.dirname(module.__file__), resource)

        shim.resource_filename = resource_filename
        sys.modules["pkg_resources"] = shim
        return "shim (resource_filename only)"


def environment(pkg_resources_source):
    import numpy
    import torch
    info = {
        "python": sys.version, "platform": platform.platform(), "numpy": numpy.__version__,
        "torch": torch.__version__, "pkg_resources": pkg_resources_source,
    }
    for mod in ("transformers", "cupy", "safetensors", "accelerate", "tqdm", "huggingface_hub"):
        try:
            info[mod] = importlib.import_module(mod).__version__
        except Exception as exc:  # noqa: BLE001
            info[mod] = f"unavailable: {exc}"
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def load_model(model_dir):
    import torch
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16)
    model.eval()
    return model


def check_loaded_weights(model, model_dir):
    """Compare every tensor of the source file with the loaded model's bytes."""
    import torch
    _, tensors = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    state = model.state_dict()
    report = {"file_tensors": len(tensors), "mismatched": [], "missing_in_model": []}
    for name, _dtype, _shape, blob in tensors:
        if name not in state:
            report["missing_in_model"].append(name)
            continue
        t = state[name].detach().cpu().contiguous()
        got = t.view(-1).view(torch.int16).numpy().tobytes()
        if got != blob:
            report["mismatched"].append(name)
    report["model_only"] = sorted(set(state) - {t[0] for t in tensors})
    lm, emb = model.lm_head.weight, model.model.embed_tokens.weight
    report["lm_head_is_embed_tokens"] = lm is emb
    report["lm_head_shares_storage"] = lm.data_ptr() == emb.data_ptr()
    return report


def run_model(name, pattern, single_file, model_dir, work):
    import dfloat11
    save_dir = os.path.join(work, "model", name)
    os.makedirs(save_dir, exist_ok=True)
    record = {"name": name, "pattern_dict": pattern, "save_single_file": single_file,
              "check_correctness": True, "save_dir": f"model/{name}"}

    def go():
        model = load_model(model_dir)
        record["loaded_weights"] = check_loaded_weights(model, model_dir)
        dfloat11.compress_model(model, pattern_dict=json.loads(json.dumps(pattern)), save_path=save_dir,
                                save_single_file=single_file, check_correctness=True)

    attempt(record, os.path.join(work, "model", f"{name}.log"), go)
    record["files"] = describe_dir(save_dir)
    return record


def limiter_trace(counter):
    """Replay the reference limiter with the same numpy, recording each argpartition choice and ties."""
    import numpy as np
    from dahuffman import HuffmanCodec

    def max_len(c):
        return max(bits for bits, _ in HuffmanCodec.from_frequencies(c).get_code_table().values())

    freq = np.array(list(counter.values()))
    keys = np.array(list(counter.keys()))
    steps, k, current = [], 2, max_len(counter)
    while current > 32:
        chosen = np.argpartition(freq, k)[:k]
        ordered = np.sort(freq)
        boundary = int(ordered[k - 1])
        tied = [int(x) for x in keys[freq == boundary]]
        below = int((freq < boundary).sum())
        demoted = dict(counter)
        for key in keys[chosen]:
            demoted[int(key)] = 1
        current = max_len(demoted)
        steps.append({
            "k": k, "chosen_indices": [int(i) for i in chosen],
            "chosen_symbols": sorted(int(x) for x in keys[chosen]), "max_len_after": current,
            "boundary_frequency": boundary, "next_frequency": int(ordered[k]) if k < len(ordered) else None,
            "tie": bool(k < len(ordered) and ordered[k - 1] == ordered[k]),
            "tied_symbols": tied, "slots_for_tied": k - below,
        })
        k += 1
    return steps


def code_table_json(table):
    rows = []
    for symbol, (bits, value) in table.items():
        rows.append({"symbol": symbol if isinstance(symbol, int) else "EOF", "bits": bits,
                     "code": format(value, f"0{bits}b")})
    return rows


def run_synthetic(spec, work, check=True):
    import numpy as np
    import torch
    import torch.nn as nn
    import dfloat11
    from dfloat11 import dfloat11_utils

    name = spec["name"] if check else spec["name"] + "-nocheck"
    unit_dir = os.path.join(work, "synthetic", name)
    save_dir = os.path.join(unit_dir, "saved")
    os.makedirs(save_dir, exist_ok=True)
    data = synthetic_units.generate(spec).astype("<u2")
    record = {"name": name, "spec": spec, "check_correctness": check, "n": int(data.size),
              "input_sha256": sha256(data.tobytes())}
    small = data.size * 2 <= MAX_SHIPPED_INPUT_BYTES
    if small:
        data.tofile(os.path.join(unit_dir, "input.bf16"))
    weight = torch.from_numpy(data.view(np.int16).copy()).view(torch.bfloat16)

    def diagnose():
        _codec, counter = dfloat11_utils.get_codec(weight)
        record["histogram"] = [[int(k), int(v)] for k, v in counter.items()]
        record["unlimited_max_len"] = max(b for b, _ in _codec.get_code_table().values())
        record["limiter_steps"] = limiter_trace(counter)
        codec, compressed_counter, table = dfloat11_utils.get_32bit_codec(counter)
        record["demoted_symbols"] = sorted(int(k) for k in counter if compressed_counter[k] != counter[k])
        record["code_table"] = code_table_json(table)

    diag = {}
    attempt(diag, os.path.join(unit_dir, "diagnose.log"), diagnose)
    record["diagnose_outcome"] = {k: diag[k] for k in ("outcome", "exception", "traceback") if k in diag}

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            linear = nn.Linear(1, 1, bias=False)
            linear.weight = nn.Parameter(weight.view(1, -1), requires_grad=False)
            setattr(self, SYNTHETIC_UNIT_PATH, linear)

    def compress():
        dfloat11.compress_model(Holder(), pattern_dict={SYNTHETIC_UNIT_PATH: []}, save_path=save_dir,
                                save_single_file=False, check_correctness=check)

    attempt(record, os.path.join(unit_dir, "compress.log"), compress)
    record["files"] = describe_dir(save_dir)
    shard = os.path.join(save_dir, f"{SYNTHETIC_UNIT_PATH}.safetensors")
    if os.path.exists(shard):
        _, tensors = read_safetensors(shard)
        for tname, _d, _s, blob in tensors:
            field = tname.split(".")[-1]
            if small or field != "sign_mantissa":
                with open(os.path.join(unit_dir, field + ".bin"), "wb") as f:
                    f.write(blob)
        if not small:
            os.remove(shard)  # too large to ship; its digests are in the manifest
    return record


def make_tar(out_dir, name, root, members):
    path = os.path.join(out_dir, name)
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            tar.add(os.path.join(root, member), arcname=member)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="folder with dfloat11/ and dahuffman_src/")
    parser.add_argument("--model-dir", required=True, help="folder with config.json and model.safetensors")
    parser.add_argument("--out", required=True, help="folder for the tarballs and manifest")
    parser.add_argument("--work", default="/tmp/df11-reference-work")
    parser.add_argument("--only", default="", help="comma-separated run names to limit to")
    args = parser.parse_args()

    ref = os.path.abspath(args.ref)
    sys.stdout, sys.stderr = OUT_ROUTER, ERR_ROUTER
    sys.path[:0] = [ref, os.path.join(ref, "dahuffman_src")]
    shutil.rmtree(args.work, ignore_errors=True)
    for sub in ("model", "synthetic"):
        os.makedirs(os.path.join(args.work, sub))
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))

    manifest = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    shim = install_pkg_resources_shim()
    manifest["environment"] = environment(shim)
    import_record = {}
    attempt(import_record, os.path.join(args.work, "import.log"), lambda: importlib.import_module("dfloat11"))
    manifest["import_dfloat11"] = import_record

    manifest["model_runs"], manifest["synthetic_units"], manifest["driver_errors"] = [], [], []
    jobs = [("model_runs", name, lambda n=name, p=pattern, s=single: run_model(n, p, s, args.model_dir, args.work))
            for name, pattern, single in MODEL_RUNS]
    specs = synthetic_units.unit_specs()
    for spec in specs:
        if spec["name"] in NOCHECK_UNITS:
            jobs.append(("synthetic_units", spec["name"] + "-nocheck",
                         lambda sp=spec: run_synthetic(sp, args.work, False)))
        if spec["name"] not in HANG_PRONE_UNITS:
            jobs.append(("synthetic_units", spec["name"], lambda sp=spec: run_synthetic(sp, args.work)))
    try:
        for group, name, job in jobs:
            if only and name not in only:
                continue
            try:
                manifest[group].append(job())
                print(name, manifest[group][-1].get("outcome"), flush=True)
            except Exception:  # noqa: BLE001  (a fault in this driver must not lose the other results)
                manifest["driver_errors"].append({"job": name, "traceback": traceback.format_exc()})
                print(name, "DRIVER ERROR", traceback.format_exc(), flush=True)
    finally:
        write_outputs(manifest, args)
    for spec in specs:
        if spec["name"] in HANG_PRONE_UNITS and (not only or spec["name"] in only):
            run_with_watchdog(spec, manifest, args)


def run_with_watchdog(spec, manifest, args):
    """Run a hang-prone unit with the GPU check; record a hang if the watchdog fires."""
    placeholder = {"name": spec["name"], "check_correctness": True, "outcome": PENDING}
    manifest["synthetic_units"].append(placeholder)
    write_outputs(manifest, args)

    def on_timeout():
        placeholder["outcome"] = "hung"
        placeholder["exception"] = f"no return from compress_model after {GPU_CHECK_WATCHDOG_S} s; process ended"
        write_outputs(manifest, args)
        os._exit(3)

    watchdog = threading.Timer(GPU_CHECK_WATCHDOG_S, on_timeout)
    watchdog.daemon = True
    watchdog.start()
    record = run_synthetic(spec, args.work)
    watchdog.cancel()
    manifest["synthetic_units"][-1] = record
    print(spec["name"], record.get("outcome"), flush=True)
    write_outputs(manifest, args)


def write_outputs(manifest, args):
    manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(os.path.join(args.work, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, default=str)
    shutil.copy(os.path.join(args.work, "manifest.json"), os.path.join(args.out, "manifest.json"))
    if manifest.get("model_runs"):
        make_tar(args.out, "reference-model.tar.gz", args.work, ["manifest.json", "import.log", "model"])
    synthetic = sorted(os.listdir(os.path.join(args.work, "synthetic")))
    small = [f"synthetic/{u}" for u in synthetic if u not in LARGE_UNITS]
    if small:
        make_tar(args.out, "reference-synthetic.tar.gz", args.work, small)
    for unit in LARGE_UNITS:
        if unit in synthetic:
            make_tar(args.out, f"reference-synthetic-{unit}.tar.gz", args.work, [f"synthetic/{unit}"])
    for name in sorted(os.listdir(args.out)):
        print(name, os.path.getsize(os.path.join(args.out, name)))


if __name__ == "__main__":
    main()
