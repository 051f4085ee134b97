// A direct 12-bit decode table derived from a unit's `luts` at load time, for the CPU decoders.
// One lookup on the top 12 bits of the look-ahead resolves every code whose LUT walk (df11-format.md
// §8.2) is decided by those bits (in trained weights, nearly all of them); anything else falls back to
// the LUT walk itself, so the result is bit-exact with the hierarchical tables, including leaked
// entries and corrupt chains.
import { Df11Error } from '../errors.js';
import { FIRST_POINTER, LUT_ROW_BYTES, MAX_CODE_BITS } from './constants.js';
import type { UnitContext } from './validate-unit.js';

/** Look-ahead bits indexing the fast table: 4096 two-byte entries, 8 KiB, so it stays in L1 cache. */
export const FAST_TABLE_BITS = 12;
/** Entries of the fast table. */
export const FAST_TABLE_ENTRIES = 1 << FAST_TABLE_BITS;
/** Bits of a packed entry holding the code length (1..32); the exponent sits above, pre-shifted. */
export const PACKED_LENGTH_MASK = 0x7f;
/** Mask of the exponent field of a packed entry: `exponent << 7`, as it sits in a BF16 word. */
export const PACKED_EXPONENT_MASK = 0x7f80;
/** Fast-table value for "not resolved by the table bits; walk the LUTs" (no packed entry is 0: length >= 1). */
export const FAST_TABLE_MISS = 0;
/** Lookups allowed per symbol: one per byte of the 32-bit look-ahead (§8.2). */
const MAX_LOOKUPS = 4;
const BYTE_BITS = 8;

/** The `luts` tensor, checked by validateLuts, split into decode rows and the length row. */
export interface DecodeLuts {
  /** The raw `luts` bytes, [(R+1) * 256]. */
  luts: Uint8Array;
  /** R: decode rows (the length row is row R). */
  decodeRows: number;
  /** Offset of the length row in `luts`. */
  lengthRowOffset: number;
}

/**
 * Wraps `luts` that passed validateLuts (validate-unit.ts): R decode rows, then the length row.
 */
export function decodeLutsOf(luts: Uint8Array, decodeRows: number): DecodeLuts {
  return { luts, decodeRows, lengthRowOffset: decodeRows * LUT_ROW_BYTES };
}

/**
 * Decodes the symbol at the front of `x` (32 look-ahead bits, MSB first) by the LUT walk of §8.2 and
 * returns it packed as `(exponent << 7) | length`.
 * @throws Df11Error 'corrupt-lut-chain' on a 5th lookup, 'corrupt-zero-length' on a length of 0.
 */
export function walkLuts(t: DecodeLuts, x: number, context: UnitContext = {}): number {
  const luts = t.luts;
  let e = luts[x >>> 24]!;
  for (let lookup = 1; e >= FIRST_POINTER; lookup++) {
    if (lookup >= MAX_LOOKUPS) throw new Df11Error('corrupt-lut-chain', 'a code needs a 5th LUT lookup', context);
    const byte = (x >>> (MAX_CODE_BITS - BYTE_BITS * (lookup + 1))) & 0xff;
    e = luts[(LUT_ROW_BYTES - e) * LUT_ROW_BYTES + byte]!;
  }
  const len = luts[t.lengthRowOffset + e]!;
  if (len === 0) throw new Df11Error('corrupt-zero-length', `exponent ${e} reached in the stream has code length 0`, context);
  return (e << 7) | len;
}

/**
 * Builds the fast table: entry `v` (the top 12 look-ahead bits) holds `(exponent << 7) | length` when
 * the LUT walk's result is fixed by those 12 bits (it ends at the root row, or at a sub-row entry
 * shared by all 16 completions of the second byte) at an exponent of non-zero length; otherwise
 * {@link FAST_TABLE_MISS}. A pure function of `luts`.
 */
export function buildFastTable(t: DecodeLuts): Uint16Array {
  const { luts, lengthRowOffset } = t;
  const table = new Uint16Array(FAST_TABLE_ENTRIES);
  const known = FAST_TABLE_BITS - BYTE_BITS; // bits of the second byte fixed by the index
  const free = 1 << (BYTE_BITS - known);
  const pack = (e: number): number => {
    const len = luts[lengthRowOffset + e]!;
    return len === 0 ? FAST_TABLE_MISS : (e << 7) | len;
  };
  for (let v = 0; v < FAST_TABLE_ENTRIES; v++) {
    const e0 = luts[v >>> known]!;
    if (e0 < FIRST_POINTER) {
      table[v] = pack(e0);
      continue;
    }
    const col = (LUT_ROW_BYTES - e0) * LUT_ROW_BYTES + ((v & ((1 << known) - 1)) << (BYTE_BITS - known));
    const e1 = luts[col]!;
    let same = e1 < FIRST_POINTER;
    for (let u = 1; u < free && same; u++) same = luts[col + u] === e1;
    table[v] = same ? pack(e1) : FAST_TABLE_MISS;
  }
  return table;
}
