// The CPU decoders' main table: one lookup on the top 12 look-ahead bits yields up to four whole codes,
// as many as those bits hold and decide. Trained weights average ~2.6 bits per code, so a lookup yields
// about three elements, which shortens the lookup-to-lookup dependency chain that bounds a decoder
// thread. Derived from the single-code fast table (fast-table.ts), so it is bit-exact with the LUT walk.
import { FAST_TABLE_BITS, FAST_TABLE_ENTRIES, FAST_TABLE_MISS, PACKED_LENGTH_MASK } from './fast-table.js';

/** Codes per lookup at most: four 8-bit exponents fill the int32 of {@link MultiTable.exponents}. */
export const MULTI_MAX_CODES = 4;
/**
 * `meta` entry layout (int32); 0 = miss (walk the LUTs):
 *  bits 0-5   bits to advance: the codes' total length (1..32; a lone code may exceed 12 bits)
 *  bits 6-8   number of codes (1..4)
 *  bits 9-20  start of codes 2, 3, 4: 4 bits each, bit offset from the lookup's start (1..11)
 */
export const MULTI_ADVANCE_MASK = 0x3f;
export const MULTI_COUNT_SHIFT = 6;
export const MULTI_COUNT_MASK = 0x7;
export const MULTI_START_SHIFT = 9;
export const MULTI_START_BITS = 4;
export const MULTI_MISS = 0;

/** `exponents[v]` holds the codes' exponents, code k in bits 8k..8k+7; `meta[v]` as above. */
export interface MultiTable {
  meta: Int32Array;
  exponents: Int32Array;
}

/**
 * Builds the multi-code table from the single-code fast table. After the first code (any code the 12
 * bits decide), each further code is added while it lies within the 12 bits and every completion of
 * the bits after them decodes it the same way.
 */
export function buildMultiTable(fast: Uint16Array): MultiTable {
  // decided[r][u]: the fast-table entry of a code whose first r table bits are u (the rest unknown),
  // when those r bits decide it and hold it whole; else 0. Built from r = 12 down: u is decided iff
  // both one-bit-longer prefixes are, the same way, and the code fits in r bits.
  const decided: Uint16Array[] = [];
  const full = new Uint16Array(FAST_TABLE_ENTRIES);
  for (let v = 0; v < FAST_TABLE_ENTRIES; v++) {
    const f = fast[v]!;
    full[v] = (f & PACKED_LENGTH_MASK) <= FAST_TABLE_BITS ? f : FAST_TABLE_MISS;
  }
  decided[FAST_TABLE_BITS] = full;
  for (let r = FAST_TABLE_BITS - 1; r >= 1; r--) {
    const longer = decided[r + 1]!;
    const t = new Uint16Array(1 << r);
    for (let u = 0; u < 1 << r; u++) {
      const a = longer[2 * u]!;
      t[u] = a !== FAST_TABLE_MISS && a === longer[2 * u + 1] && (a & PACKED_LENGTH_MASK) <= r ? a : FAST_TABLE_MISS;
    }
    decided[r] = t;
  }

  const meta = new Int32Array(FAST_TABLE_ENTRIES);
  const exponents = new Int32Array(FAST_TABLE_ENTRIES);
  for (let v = 0; v < FAST_TABLE_ENTRIES; v++) {
    const first = fast[v]!;
    if (first === FAST_TABLE_MISS) continue;
    let used = first & PACKED_LENGTH_MASK;
    let count = 1;
    let starts = 0;
    let exps = first >>> 7;
    while (count < MULTI_MAX_CODES && used < FAST_TABLE_BITS) {
      const rest = FAST_TABLE_BITS - used;
      const next = decided[rest]![v & ((1 << rest) - 1)]!;
      if (next === FAST_TABLE_MISS) break;
      starts |= used << (MULTI_START_BITS * (count - 1));
      exps |= (next >>> 7) << (8 * count);
      count++;
      used += next & PACKED_LENGTH_MASK;
    }
    meta[v] = used | (count << MULTI_COUNT_SHIFT) | (starts << MULTI_START_SHIFT);
    exponents[v] = exps;
  }
  return { meta, exponents };
}
