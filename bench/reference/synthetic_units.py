"""Deterministic synthetic BF16 units for checking a DF11 encoder against the reference compressor.

Every input is a pure function of a small parameter record, built only from 32-bit integer
arithmetic plus (for the "irwin-hall" kind) exact float64 sums, one float64 multiply, and IEEE
round-to-nearest-even narrowing. A TypeScript port therefore reproduces the same bytes exactly.

PRNG: mulberry32 (Tommy Ettinger's public-domain generator). Draw i (0-based) of seed s is
    t = (s + (i + 1) * 0x6D2B79F5) mod 2^32
    t = imul(t ^ (t >>> 15), t | 1)
    t = t ^ ((t + imul(t ^ (t >>> 7), t | 61)) mod 2^32)
    draw = t ^ (t >>> 14)
where imul is multiplication mod 2^32 and every value is an unsigned 32-bit integer. Sequentially:
state = (state + 0x6D2B79F5) mod 2^32, then hash the state. Keep the state wrapped to 32 bits: the
common JS closure (`let t = a += 0x6D2B79F5`) lets `a` grow as a double and loses precision after
2^53 / 0x6D2B79F5 (about 4.9 million) draws, so it diverges on the larger units here.

Kinds (element j = 0 .. n-1, draws from one generator seeded with `seed`):
- "irwin-hall": s = sum of draws 12j .. 12j+11 (an exact integer < 2^36);
  x = (s / 2^32 - 6) * scale in float64 (approximately normal(0, scale));
  f = x narrowed to float32 (round to nearest even), then to BF16 by rounding the float32 bits b:
  bf16 = (b + 0x7FFF + ((b >>> 16) & 1)) >>> 16.
- "counts": exact exponent counts. `counts` is a list of [exponent, count] pairs with sum n. Lay the
  exponents out in list order, each repeated `count` times: layout[0 .. n-1]. Layout element k goes
  to position p(k) = (k * stride) mod n (stride < 2^26 and gcd(stride, n) = 1, so p is a bijection
  and k * stride stays below 2^53). Element j then has exponent e and sm = draw(j) & 0xFF, and
  bf16 = ((sm & 0x80) << 8) | (e << 7) | (sm & 0x7F).

Usage: python3 synthetic_units.py  -> prints each unit's name, size and SHA-256 of its BF16 bytes.
"""
import hashlib
import json
import math
import sys

import numpy as np

MULBERRY_INCREMENT = 0x6D2B79F5
IRWIN_HALL_TERMS = 12
# A prime below 2^26, so gcd(STRIDE, n) = 1 for every n that it does not divide.
STRIDE = 40_000_003
MAX_STRIDE = 1 << 26


def fibonacci(count):
    """The first `count` Fibonacci numbers 1, 1, 2, 3, 5, ..."""
    out = [1, 1]
    while len(out) < count:
        out.append(out[-1] + out[-2])
    return out[:count]


def _counts(exponents, counts):
    return [[int(e), int(c)] for e, c in zip(exponents, counts)]


def caterpillar(bottom, count):
    """`bottom` counts, then counts that each exceed the mass below the previous one (EOF's 1
    included), so that every new count hangs one level above the rest: a Huffman caterpillar."""
    out = list(bottom)
    while len(out) < count:
        out.append(max(2 + sum(out[:-1]), out[-1] + 1))
    return out


_TAIL = [144, 89, 55, 34, 21, 13, 8, 5, 3, 2]


def _edge_counts(top):
    """A geometric bulk (codes of 1 to 5 bits), the Fibonacci tail, then one element of exponent
    132 (a 16-bit code). `top` tunes the total bit count one bit at a time."""
    return ([[119, top], [118, 4000], [120, 2000], [117, 1000], [121, 500]]
            + _counts(range(122, 132), _TAIL) + [[132, 1]])


def unit_specs():
    """The synthetic units, in the order they are run. Parameters only; see `generate`.

    Counts lists run from the rarest exponent to the most frequent one. Fibonacci counts
    1, 2, 3, 5, ... (with the builder's EOF of frequency 1) give a caterpillar tree: m counts give
    codes of m bits with the fewest possible elements. 33 of them exceed the 32-bit limit.
    """
    deep = fibonacci(29)[1:]  # 28 counts: longest code 28 bits, limiter idle
    limiter = fibonacci(34)[1:]  # 33 counts: longest code 33 bits, limiter fires, no ties
    # Ties at frequency 2 among the smallest counts, above 1, so the limiter's argpartition choice
    # changes the codebook (df11-format.md section 11.4); the caterpillar above keeps codes > 32 bits.
    tie = caterpillar([1, 1, 2, 2, 2], 34)
    return [
        {"name": "normal", "kind": "irwin-hall", "seed": 1, "n": 300_000, "scale": 0.02},
        {"name": "deep", "kind": "counts", "seed": 2, "stride": STRIDE,
         "counts": _counts(range(130, 130 - len(deep), -1), deep)},
        {"name": "limiter", "kind": "counts", "seed": 3, "stride": STRIDE,
         "counts": _counts(range(140, 140 - len(limiter), -1), limiter)},
        {"name": "limiter-tie", "kind": "counts", "seed": 4, "stride": STRIDE,
         "counts": _counts(range(140, 140 - len(tie), -1), tie)},
        {"name": "one-exponent", "kind": "counts", "seed": 5, "stride": STRIDE, "counts": [[120, 1000]]},
        {"name": "one-element", "kind": "counts", "seed": 6, "stride": STRIDE, "counts": [[120, 1]]},
        {"name": "two-elements", "kind": "counts", "seed": 7, "stride": STRIDE,
         "counts": [[120, 1], [121, 1]]},
        # EOF gets the all-zeros code of 4 bits, so LUT row 0 has no key at column 0 (section 8.1).
        {"name": "eof-all-zeros", "kind": "counts", "seed": 8, "stride": STRIDE,
         "counts": [[119, 500], [120, 3000], [121, 1500], [122, 1]]},
        # Exponent 255 (Inf/NaN) cannot be encoded: LUT values >= 240 are pointers. The two count-2
        # symbols keep EOF off the all-zeros code, so the reference gets as far as its GPU check.
        {"name": "exponent-255", "kind": "counts", "seed": 9, "stride": STRIDE,
         "counts": [[255, 2], [118, 2], [119, 500], [120, 3000], [121, 1500]]},
        # The last element (stride 1 keeps the layout order) is the rarest symbol, with a 16-bit code
        # that starts in chunk 0 and ends in chunk 1. Its end is not byte-aligned, so EOF is written
        # and starts in chunk 1: output_positions ends with N twice (section 7).
        {"name": "eof-new-chunk", "kind": "counts", "seed": 10, "stride": 1, "counts": _edge_counts(9434)},
        # As above, but the last code ends on a byte boundary: no EOF, and output_positions has only
        # K entries (the rare short case of section 7).
        {"name": "short-output-positions", "kind": "counts", "seed": 11, "stride": 1,
         "counts": _edge_counts(9441)},
        # One dominant 1-bit exponent: chunk 0 holds 31 809 elements, more than the reference kernel's
        # shared memory allows without opting in (2052 + 2 * 31809 bytes > 48 KiB; section 13.3).
        {"name": "dense-chunk", "kind": "counts", "seed": 12, "stride": 1,
         "counts": [[119, 31434]] + _counts(range(120, 130), _TAIL) + [[130, 1]]},
    ]


def mulberry32_block(seed, start, count):
    """Draws start .. start+count-1 of mulberry32(seed) as a uint32 array."""
    idx = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    t = ((np.uint64(seed) + idx * np.uint64(MULBERRY_INCREMENT)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    with np.errstate(over="ignore"):
        t = (t ^ (t >> np.uint32(15))) * (t | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        return t ^ (t >> np.uint32(14))


def mulberry32_scalar(seed):
    """Sequential reference form of the generator (slow; used to check the block form)."""
    state = seed & 0xFFFFFFFF
    while True:
        state = (state + MULBERRY_INCREMENT) & 0xFFFFFFFF
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = t ^ ((t + ((t ^ (t >> 7)) * (t | 61))) & 0xFFFFFFFF)
        yield (t ^ (t >> 14)) & 0xFFFFFFFF


def _float32_to_bf16_rne(f32):
    bits = f32.view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def generate(spec):
    """BF16 bit patterns (uint16 array of length spec['n']) for one unit spec."""
    seed = spec["seed"]
    if spec["kind"] == "irwin-hall":
        n = spec["n"]
        draws = mulberry32_block(seed, 0, n * IRWIN_HALL_TERMS).reshape(n, IRWIN_HALL_TERMS)
        s = draws.astype(np.uint64).sum(axis=1)  # exact integer, < 2^36
        x = (s.astype(np.float64) / 4294967296.0 - 6.0) * float(spec["scale"])
        return _float32_to_bf16_rne(x.astype(np.float32))
    if spec["kind"] == "counts":
        counts = spec["counts"]
        n = sum(c for _, c in counts)
        stride = spec["stride"]
        if "n" in spec and spec["n"] != n:
            raise ValueError("n does not match the counts")
        if not (0 < stride < MAX_STRIDE) or math.gcd(stride, n) != 1:
            raise ValueError("stride must be in (0, 2^26) and coprime with n")
        layout = np.repeat(np.array([e for e, _ in counts], dtype=np.uint16),
                           np.array([c for _, c in counts], dtype=np.int64))
        e = np.empty(n, dtype=np.uint16)
        e[(np.arange(n, dtype=np.int64) * stride) % n] = layout
        sm = (mulberry32_block(seed, 0, n) & 0xFF).astype(np.uint16)
        return ((sm & 0x80) << 8) | (e << 7) | (sm & 0x7F)
    raise ValueError(f"unknown kind {spec['kind']}")


def _self_check():
    gen = mulberry32_scalar(0xDEADBEEF)
    scalar = [next(gen) for _ in range(1000)]
    block = mulberry32_block(0xDEADBEEF, 0, 1000).tolist()
    assert scalar == block, "block and scalar mulberry32 disagree"


if __name__ == "__main__":
    _self_check()
    for spec in unit_specs():
        data = generate(spec)
        print(json.dumps({"name": spec["name"], "n": int(data.size),
                          "sha256": hashlib.sha256(data.astype("<u2").tobytes()).hexdigest()}))
    sys.exit(0)
