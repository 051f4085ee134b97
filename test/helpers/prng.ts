// Seeded randomness for tests: mulberry32 (shared with src/synthetic) behind a small helper class, so
// every generated input is reproducible from its seed.
import { mulberry32, syntheticBf16Weights } from '../../src/synthetic/weights.js';

export { mulberry32 };

const TWO_POW_32 = 4294967296;

/** A seeded generator of uniform numbers. */
export class Prng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform uint32. */
  u32(): number {
    return this.next();
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform byte. */
  byte(): number {
    return this.next() >>> 24;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { [i: number]: number; length: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

/** `n` BF16 bit patterns of normal(0, std) weights (default std 0.02), reproducible from `seed`. */
export function normalBf16(n: number, seed: number, std = 0.02): Uint16Array {
  return syntheticBf16Weights(n, { seed, std });
}

/** BF16 bit patterns with the given exponents and seeded random sign/mantissa bytes. */
export function bf16WithExponents(exponents: ArrayLike<number>, seed: number): Uint16Array {
  const rng = new Prng(seed);
  const out = new Uint16Array(exponents.length);
  for (let i = 0; i < exponents.length; i++) {
    const sm = rng.byte();
    out[i] = ((sm & 0x80) << 8) | (exponents[i]! << 7) | (sm & 0x7f);
  }
  return out;
}
