"""Times the reference DFloat11 CUDA decode kernel (LeanModels/DFloat11 `decode.ptx`) on units written
by bench/dump-units.ts, launched exactly as the reference launches it (512 threads per block, one block
per 4096-byte chunk, dynamic shared memory 4*512 + 4 + 2 * the largest chunk), checks the output bit for
bit against the original weights, and prints GB/s of BF16 output next to a device-to-device copy of the
same number of bytes (cupy), timed with CUDA events.

The reference package is not part of this repository: pass the path of its `decode.ptx`.
    python3 bench/reference/decode_reference.py --ptx path/to/dfloat11/decode.ptx --units-dir /tmp/units
"""
import argparse
import os
import statistics

import cupy as cp
import numpy as np

THREADS = 512
BYTES_PER_THREAD = 8


def load(unit_dir, name, dtype=np.uint8):
    return np.fromfile(os.path.join(unit_dir, name), dtype=dtype)


def time_ms(fn, iterations, repeats=5):
    fn()
    cp.cuda.Device().synchronize()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    samples = []
    for _ in range(repeats):
        start.record()
        for _ in range(iterations):
            fn()
        stop.record()
        stop.synchronize()
        samples.append(cp.cuda.get_elapsed_time(start, stop) / iterations)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ptx", required=True)
    parser.add_argument("--units-dir", required=True)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()

    decode = cp.RawModule(path=args.ptx).get_function("decode")
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    print(f"device: {props['name'].decode()}, cupy {cp.__version__}, CUDA runtime {cp.cuda.runtime.runtimeGetVersion()}")
    print(f"{'unit':8} {'weights':>11} {'shared B':>9} {'ms':>8} {'GB/s':>7} {'copy GB/s':>10}  check")
    for name in sorted(os.listdir(args.units_dir)):
        unit_dir = os.path.join(args.units_dir, name)
        luts = load(unit_dir, "luts.bin")
        encoded = load(unit_dir, "encoded_exponent.bin")
        sign_mantissa = load(unit_dir, "sign_mantissa.bin")
        op_bytes = load(unit_dir, "output_positions.bin")
        gaps = load(unit_dir, "gaps.bin")
        weights = load(unit_dir, "weights.bf16", np.uint16)
        n, n_bytes, n_luts = sign_mantissa.size, encoded.size, luts.size // 256
        op = op_bytes.view(np.uint32)
        shared = THREADS * 4 + 4 + int((op[1:].astype(np.int64) - op[:-1]).max()) * 2
        blocks = (n_bytes + THREADS * BYTES_PER_THREAD - 1) // (THREADS * BYTES_PER_THREAD)
        # one spare byte after gaps: the kernel reads gaps[320K] (df11-format.md section 6)
        d_gaps = cp.zeros(gaps.size + 1, dtype=cp.uint8)
        d_gaps[: gaps.size] = cp.asarray(gaps)
        d = [cp.asarray(a) for a in (luts, encoded, sign_mantissa, op_bytes)]
        out = cp.empty(n, dtype=cp.uint16)

        def run():
            decode((blocks,), (THREADS,), (d[0], d[1], d[2], d[3], d_gaps, out, np.int32(n_luts), np.int32(n_bytes), np.int32(n)), shared_mem=shared)

        run()
        cp.cuda.Device().synchronize()
        exact = bool((out.get() == weights).all())
        ms = time_ms(run, args.iterations)
        dst = cp.empty_like(out)
        copy_ms = time_ms(lambda: cp.copyto(dst, out), args.iterations)
        gbs = 2 * n / ms / 1e6
        copy = 2 * n / copy_ms / 1e6
        print(f"{name:8} {n:>11} {shared:>9} {ms:>8.3f} {gbs:>7.0f} {copy:>10.0f}  {'exact' if exact else 'WRONG'}")


if __name__ == "__main__":
    main()
