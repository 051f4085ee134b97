// The `luts` tensor: hierarchical byte-indexed decode tables plus the code-length row, built exactly as
// the reference compressor builds them (df11-format.md §8.1), including its carry-forward fill that
// leaks a row's last value into the next row's EOF-owned columns.
import { Df11Error } from '../errors.js';
import { FIRST_POINTER, LUT_ROW_BYTES, MAX_CODE_BITS, MAX_LUT_ROWS } from './constants.js';
import { EXPONENT_VALUES } from './histogram.js';
import type { HuffmanCode } from './huffman-build.js';

/** Bits consumed per table lookup. */
const LOOKUP_BITS = 8;
/**
 * Value written where the reference has no value to carry forward: row 0 without a key at column 0
 * (the all-zeros code is EOF and <= 8 bits, e.g. a unit with one distinct exponent). The reference
 * compressor crashes there (§8.1); df11 writes 0. Only EOF bits, i.e. garbage past the stream's end,
 * reach these columns, so decoders are unaffected.
 */
export const UNSET_LUT_FILL = 0;

/** Level of a code of length L: the index of the lookup (0..3) that completes it. */
export function codeLevel(length: number): number {
  return (length - 1) >>> 3;
}

/**
 * Builds the `luts` bytes `[(R+1) * 256]` for `code`: R decode rows, then the length row.
 * EOF has no entry anywhere. Pure function of the code table.
 *
 * @throws Df11Error 'too-many-lut-rows' when the code needs more than 16 sub-tables (R+1 > 18): pointer
 *   values 240..255 can name rows 1..16 only (unchecked by the reference).
 */
export function buildDecodeTables(code: HuffmanCode): Uint8Array {
  // Real symbols, in lexicographic code order (codes left-aligned to 32 bits compare like bit strings).
  const symbols: number[] = [];
  for (let e = 0; e < EXPONENT_VALUES; e++) {
    const len = code.lengths[e]!;
    if (len === 0) continue;
    if (len > MAX_CODE_BITS) throw new RangeError(`buildDecodeTables: code of exponent ${e} has ${len} bits`);
    if (e >= FIRST_POINTER) throw new Df11Error('exponent-unencodable', `exponent ${e} has a code but values >= ${FIRST_POINTER} are LUT pointers`);
    symbols.push(e);
  }
  const aligned = (e: number): number => (code.codes[e]! * 2 ** (MAX_CODE_BITS - code.lengths[e]!)) >>> 0;
  symbols.sort((x, y) => aligned(x) - aligned(y));

  // 1. Prefixes c[0 : 8*level] of codes with level >= 1, ordered by length then value. A prefix of
  //    `bytes` bytes is keyed as bytes * 2^32 + value (distinct for distinct (length, bits) pairs).
  const prefixKey = (bytes: number, value: number): number => bytes * 2 ** 32 + value;
  const prefixSet = new Set<number>();
  for (const e of symbols) {
    const len = code.lengths[e]!;
    const level = codeLevel(len);
    if (level >= 1) prefixSet.add(prefixKey(level, code.codes[e]! >>> (len - LOOKUP_BITS * level)));
  }
  const prefixes = [prefixKey(0, 0), ...[...prefixSet].sort((x, y) => x - y)];
  const rows = prefixes.length;
  if (rows + 1 > MAX_LUT_ROWS) {
    throw new Df11Error('too-many-lut-rows', `the code needs ${rows - 1} sub-tables; DF11 pointers reach at most ${MAX_LUT_ROWS - 2}`);
  }
  const rowOf = new Map<number, number>();
  prefixes.forEach((p, r) => rowOf.set(p, r));

  const luts = new Uint8Array((rows + 1) * LUT_ROW_BYTES);
  const keys = new Int16Array(LUT_ROW_BYTES);
  let current = -1; // carried across rows on purpose: the reference's leak (§8.1 step 3)
  for (let r = 0; r < rows; r++) {
    const p = prefixes[r]!;
    const pBytes = Math.floor(p / 2 ** 32);
    const pValue = p % 2 ** 32;
    const pBits = LOOKUP_BITS * pBytes;
    keys.fill(-1);
    // 2. Keys of this row: codes that start with the prefix.
    for (const e of symbols) {
      const len = code.lengths[e]!;
      const c = code.codes[e]!;
      const level = codeLevel(len);
      if (level < pBytes || (pBits > 0 && c >>> (len - pBits) !== pValue)) continue;
      let key: number;
      let value: number;
      if (level === pBytes) {
        const rest = len - pBits; // 1..8 bits, left-justified to a byte
        key = ((c & ((1 << rest) - 1)) << (LOOKUP_BITS - rest)) & 0xff;
        value = e;
      } else {
        key = (c >>> (len - pBits - LOOKUP_BITS)) & 0xff;
        const target = rowOf.get(prefixKey(pBytes + 1, c >>> (len - pBits - LOOKUP_BITS)));
        if (target === undefined) throw new Error(`buildDecodeTables: no row for the ${pBits + LOOKUP_BITS}-bit prefix of exponent ${e}`);
        value = LUT_ROW_BYTES - target;
      }
      const old = keys[key]!;
      if (old !== -1 && old !== value) throw new Error(`buildDecodeTables: key ${key} of row ${r} claimed by ${old} and ${value}`);
      keys[key] = value;
    }
    // 3. Carry-forward fill over the flat sequence of rows.
    const base = r * LUT_ROW_BYTES;
    for (let col = 0; col < LUT_ROW_BYTES; col++) {
      const k = keys[col]!;
      if (k !== -1) current = k;
      luts[base + col] = current === -1 ? UNSET_LUT_FILL : current;
    }
  }
  // 4. Length row.
  const lenBase = rows * LUT_ROW_BYTES;
  for (const e of symbols) luts[lenBase + e] = code.lengths[e]!;
  return luts;
}
