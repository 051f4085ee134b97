// Seeded random numbers, identical on every platform: mulberry32 (a small, fast 32-bit generator with
// its state kept wrapped to 32 bits). Used by sampling, synthetic weights and the tests' fuzzers.

/** mulberry32: returns a function giving uniform uint32 values. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const UINT32_RANGE = 2 ** 32;

/** A function giving uniform floats in [0, 1) from mulberry32. */
export function uniformRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / UINT32_RANGE;
}
