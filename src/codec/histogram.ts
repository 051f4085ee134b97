// Exponent histogram of BF16 weights (df11-format.md §11.1): counts per exponent value 0..255.
// The hot loop counts `w >>> 7` (sign and exponent, 9 bits) into four interleaved Uint32 tables so
// consecutive equal exponents do not serialise on one counter, then folds sign and tables together.

/** Number of exponent values. */
export const EXPONENT_VALUES = 256;
/** Sign + exponent: the 9 high bits of a BF16 word. */
const SIGN_EXPONENT_VALUES = 512;
/** Elements counted per block before the Uint32 tables are flushed into the Float64 result (< 2^32 per table). */
const BLOCK_ELEMENTS = 1 << 30;

/**
 * Adds the exponent counts of `bf16` to `into` (allocated as zeros when omitted) and returns it.
 * Counts are doubles, exact up to 2^53, so histograms summed over many pieces stay exact.
 */
export function exponentHistogram(bf16: Uint16Array, into?: Float64Array): Float64Array {
  const hist = into ?? new Float64Array(EXPONENT_VALUES);
  if (hist.length !== EXPONENT_VALUES) throw new RangeError(`exponentHistogram: 'into' must have ${EXPONENT_VALUES} entries`);
  const h0 = new Uint32Array(SIGN_EXPONENT_VALUES);
  const h1 = new Uint32Array(SIGN_EXPONENT_VALUES);
  const h2 = new Uint32Array(SIGN_EXPONENT_VALUES);
  const h3 = new Uint32Array(SIGN_EXPONENT_VALUES);
  const n = bf16.length;
  for (let start = 0; start < n; start += BLOCK_ELEMENTS) {
    const end = Math.min(n, start + BLOCK_ELEMENTS);
    let i = start;
    for (; i + 4 <= end; i += 4) {
      h0[bf16[i]! >>> 7]!++;
      h1[bf16[i + 1]! >>> 7]!++;
      h2[bf16[i + 2]! >>> 7]!++;
      h3[bf16[i + 3]! >>> 7]!++;
    }
    for (; i < end; i++) h0[bf16[i]! >>> 7]!++;
    for (let v = 0; v < SIGN_EXPONENT_VALUES; v++) {
      hist[v & 0xff]! += h0[v]! + h1[v]! + h2[v]! + h3[v]!;
    }
    h0.fill(0);
    h1.fill(0);
    h2.fill(0);
    h3.fill(0);
  }
  return hist;
}

/** Number of exponent values with a non-zero count. */
export function distinctExponents(hist: ArrayLike<number>): number {
  let d = 0;
  for (let e = 0; e < hist.length; e++) if (hist[e]! > 0) d++;
  return d;
}
