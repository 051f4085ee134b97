// The CPU decoders' main table: one lookup on the top 12 look-ahead bits yields one code or, when the
// 12 bits hold two whole codes whose symbols they decide, both. With trained weights' ~2.7-bit average
// code, most lookups yield two elements, which halves the code-to-code dependency chain. Derived from
// the single-code fast table (fast-table.ts), so it is bit-exact with the LUT walk.
import { FAST_TABLE_BITS, FAST_TABLE_ENTRIES, FAST_TABLE_MISS, PACKED_EXPONENT_MASK, PACKED_LENGTH_MASK } from './fast-table.js';

/**
 * Entry layout (int32); 0 = miss (walk the LUTs).
 *  bits 0-5   bits to advance: the code's length, or both codes' lengths (1..32)
 *  bits 6-9   length of the first code, when there are two (1..11)
 *  bit  10    two codes
 *  bits 16-23 exponent of the first code; bits 24-31 exponent of the second
 */
export const PAIR_ADVANCE_MASK = 0x3f;
export const PAIR_FIRST_LENGTH_SHIFT = 6;
export const PAIR_FIRST_LENGTH_MASK = 0xf;
export const PAIR_TWO_FLAG = 0x400;
export const PAIR_FIRST_EXPONENT_SHIFT = 16;
export const PAIR_SECOND_EXPONENT_SHIFT = 24;
export const PAIR_MISS = 0;

/** A pair-table entry for one code, from the packed `(exponent << 7) | length` of fast-table.ts. */
export function pairEntryOfPacked(packed: number): number {
  return (packed & PACKED_LENGTH_MASK) | ((packed & PACKED_EXPONENT_MASK) << (PAIR_FIRST_EXPONENT_SHIFT - 7));
}

/**
 * Builds the pair table from the single-code fast table. A second code is added only when it lies
 * within the 12 bits and every completion of the bits after them decodes it the same way.
 */
export function buildPairTable(fast: Uint16Array): Int32Array {
  const table = new Int32Array(FAST_TABLE_ENTRIES);
  const indexMask = FAST_TABLE_ENTRIES - 1;
  for (let v = 0; v < FAST_TABLE_ENTRIES; v++) {
    const first = fast[v]!;
    if (first === FAST_TABLE_MISS) continue;
    const l1 = first & PACKED_LENGTH_MASK;
    table[v] = pairEntryOfPacked(first);
    if (l1 >= FAST_TABLE_BITS) continue;
    // The second code's index: the 12 - l1 known bits, then l1 unknown ones.
    const rest = FAST_TABLE_BITS - l1;
    const base = (v << l1) & indexMask;
    const second = fast[base]!;
    if (second === FAST_TABLE_MISS || (second & PACKED_LENGTH_MASK) > rest) continue;
    let decided = true;
    for (let u = 1; u < 1 << l1 && decided; u++) decided = fast[base | u] === second;
    if (!decided) continue;
    const l2 = second & PACKED_LENGTH_MASK;
    table[v] =
      (l1 + l2) |
      (l1 << PAIR_FIRST_LENGTH_SHIFT) |
      PAIR_TWO_FLAG |
      ((first >>> 7) << PAIR_FIRST_EXPONENT_SHIFT) |
      ((second >>> 7) << PAIR_SECOND_EXPONENT_SHIFT);
  }
  return table;
}
