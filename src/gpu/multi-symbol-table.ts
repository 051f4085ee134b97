// Multi-symbol decode tables for the GPU kernels. The narrow one, derived from a unit's `luts`
// (df11-format.md §8) here: indexed by the next
// MULTI_INDEX_BITS stream bits, each entry gives up to MULTI_MAX_SYMBOLS whole codes that lie inside
// those bits, so the GPU kernel decodes ~3 exponents per lookup. Built on the host at upload.
//
// Entry (u32): exponents in bits 0-7, 8-15, 16-23; count n (0..3) in bits 24-25; bits used (<= 10) in
// bits 26-29. n = 0: the first code is longer than the index or needs a deeper LUT row; the kernel
// then decodes one code through `luts` as the serial decoder does.
//
// Exactness for ANY luts (valid, leaky or corrupt): an entry claims a code only if the serial decoder
// (decode-serial.ts) would find the same exponent and length there for every value of the stream bits
// past the index. The first code reads root column = the first 8 index bits, so it is taken when that
// column is an exponent whose length fits the index. A later code starting at bit p < 10 has only
// 10 - p known bits (fewer than a column's 8): it is taken only if every root column that starts with
// those bits holds the same exponent and its length fits the known bits.
import { FIRST_POINTER, LUT_ROW_BYTES } from '../codec/constants.js';
import { buildFastTable, decodeLutsOf, FAST_TABLE_BITS, FAST_TABLE_ENTRIES } from '../codec/fast-table.js';
import { buildMultiTable } from '../codec/multi-table.js';

export const MULTI_INDEX_BITS = 10;
export const MULTI_ENTRIES = 1 << MULTI_INDEX_BITS;
export const MULTI_MAX_SYMBOLS = 3;
const COUNT_SHIFT = 24;
const BITS_SHIFT = 26;
const BYTE_BITS = 8;

/** The multi-symbol table of a unit whose `luts` has `decodeRows` decode rows (length row last). */
export function buildMultiSymbolTable(luts: Uint8Array, decodeRows: number): Uint32Array {
  const lenRow = decodeRows * LUT_ROW_BYTES;
  const table = new Uint32Array(MULTI_ENTRIES);
  /** The exponent every root column in [from, to) holds, if it is one exponent of length <= known. */
  const uniform = (from: number, to: number, known: number): number => {
    const e = luts[from]!;
    if (e >= FIRST_POINTER) return -1;
    for (let c = from + 1; c < to; c++) if (luts[c] !== e) return -1;
    const len = luts[lenRow + e]!;
    return len >= 1 && len <= known ? e : -1;
  };
  for (let idx = 0; idx < MULTI_ENTRIES; idx++) {
    let p = 0;
    let n = 0;
    let symbols = 0;
    while (n < MULTI_MAX_SYMBOLS && p < MULTI_INDEX_BITS) {
      const known = MULTI_INDEX_BITS - p;
      let e: number;
      if (known >= BYTE_BITS) {
        const column = (idx >>> (known - BYTE_BITS)) & 0xff;
        e = uniform(column, column + 1, known);
      } else {
        const prefix = idx & ((1 << known) - 1);
        const span = 1 << (BYTE_BITS - known);
        e = uniform(prefix * span, (prefix + 1) * span, known);
      }
      if (e < 0) break;
      symbols |= e << (BYTE_BITS * n);
      p += luts[lenRow + e]!;
      n++;
    }
    table[idx] = n === 0 ? 0 : (symbols | (n << COUNT_SHIFT) | (p << BITS_SHIFT)) >>> 0;
  }
  return table;
}

/** Index bits of the wide table: the CPU decoders' 12-bit multi-code table (src/codec/multi-table.ts). */
export const WIDE_INDEX_BITS = FAST_TABLE_BITS;
export const WIDE_ENTRIES = FAST_TABLE_ENTRIES;

/**
 * The wide table for the GPU: the CPU decoders' multi-code table, entry v as 2 u32: the exponents of
 * up to 4 codes (code k in bits 8k..8k+7), then its `meta` word (advance in bits 0-5, count in bits
 * 6-8, start of codes 2-4 in bits 9-20; 0 = miss). Exact for any luts, as its tests check.
 */
export function buildWideSymbolTable(luts: Uint8Array, decodeRows: number): Uint32Array {
  const { meta, exponents } = buildMultiTable(buildFastTable(decodeLutsOf(luts, decodeRows)));
  const table = new Uint32Array(2 * WIDE_ENTRIES);
  for (let v = 0; v < WIDE_ENTRIES; v++) {
    table[2 * v] = exponents[v]! >>> 0;
    table[2 * v + 1] = meta[v]! >>> 0;
  }
  return table;
}
