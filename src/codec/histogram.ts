// Exponent histogram of BF16 weights (df11-format.md §11.1): counts per exponent value 0..255.
//
// Large inputs: each uint32 load holds two weights, and one counter per exponent PAIR is incremented
// (two interleaved 65536-entry tables, so runs of equal pairs do not serialise on one counter); the
// pair tables are folded into per-exponent counts at the end. Small inputs use four interleaved
// per-(sign, exponent) tables, which are cheaper to clear and fold.

/** Number of exponent values. */
export const EXPONENT_VALUES = 256;
/** Sign + exponent: the 9 high bits of a BF16 word. */
const SIGN_EXPONENT_VALUES = 512;
/** Interleaved sub-tables of the small-input loop. */
const SMALL_SUB_TABLES = 4;
/** Exponent pairs `e0 | e1 << 8`, and the interleaved pair tables of the large-input loop. */
const PAIR_VALUES = EXPONENT_VALUES * EXPONENT_VALUES;
const PAIR_SUB_TABLES = 2;
/** Inputs of at least this many elements use the pair tables (folding them costs ~2^18 additions). */
const PAIR_MIN_ELEMENTS = 1 << 20;
/** uint32 words (2 weights each) counted before folding (keeps every Uint32 counter below 2^32). */
const BLOCK_WORDS = 1 << 30;

/**
 * Adds the exponent counts of `bf16` to `into` (allocated as zeros when omitted) and returns it.
 * Counts are doubles, exact up to 2^53, so histograms summed over many pieces stay exact.
 */
export function exponentHistogram(bf16: Uint16Array, into?: Float64Array): Float64Array {
  const hist = into ?? new Float64Array(EXPONENT_VALUES);
  if (hist.length !== EXPONENT_VALUES) throw new RangeError(`exponentHistogram: 'into' must have ${EXPONENT_VALUES} entries`);
  const n = bf16.length;
  if (n === 0) return hist;
  // One element before the first 4-byte boundary (if misaligned); the odd last one after the words.
  const head = (bf16.byteOffset & 3) === 0 ? 0 : 1;
  const words = (n - head) >>> 1;
  for (let i = 0; i < head; i++) hist[(bf16[i]! >>> 7) & 0xff]!++;
  for (let i = head + 2 * words; i < n; i++) hist[(bf16[i]! >>> 7) & 0xff]!++;
  const w32 = new Uint32Array(bf16.buffer, bf16.byteOffset + 2 * head, words);
  if (n >= PAIR_MIN_ELEMENTS) countPairs(w32, hist);
  else countSmall(w32, hist);
  return hist;
}

function countPairs(w32: Uint32Array, hist: Float64Array): void {
  const h = new Uint32Array(PAIR_SUB_TABLES * PAIR_VALUES);
  const words = w32.length;
  for (let start = 0; start < words; start += BLOCK_WORDS) {
    const end = Math.min(words, start + BLOCK_WORDS);
    let i = start;
    for (; i + 2 <= end; i += 2) {
      const x = w32[i]!;
      const y = w32[i + 1]!;
      h[((x >>> 7) & 0xff) | ((x >>> 15) & 0xff00)]!++;
      h[PAIR_VALUES | ((y >>> 7) & 0xff) | ((y >>> 15) & 0xff00)]!++;
    }
    if (i < end) {
      const x = w32[i]!;
      h[((x >>> 7) & 0xff) | ((x >>> 15) & 0xff00)]!++;
    }
    for (let v = 0; v < h.length; v++) {
      const c = h[v]!;
      if (c === 0) continue;
      hist[v & 0xff]! += c;
      hist[(v >>> 8) & 0xff]! += c;
    }
    h.fill(0);
  }
}

function countSmall(w32: Uint32Array, hist: Float64Array): void {
  const h = new Uint32Array(SMALL_SUB_TABLES * SIGN_EXPONENT_VALUES); // words < 2^19 here: no overflow
  const words = w32.length;
  let i = 0;
  for (; i + 2 <= words; i += 2) {
    const x = w32[i]!;
    const y = w32[i + 1]!;
    h[(x >>> 7) & 0x1ff]!++;
    h[0x200 | (x >>> 23)]!++;
    h[0x400 | ((y >>> 7) & 0x1ff)]!++;
    h[0x600 | (y >>> 23)]!++;
  }
  if (i < words) {
    const x = w32[i]!;
    h[(x >>> 7) & 0x1ff]!++;
    h[0x200 | (x >>> 23)]!++;
  }
  for (let v = 0; v < h.length; v++) hist[v & 0xff]! += h[v]!;
}

/** Number of exponent values with a non-zero count. */
export function distinctExponents(hist: ArrayLike<number>): number {
  let d = 0;
  for (let e = 0; e < hist.length; e++) if (hist[e]! > 0) d++;
  return d;
}
