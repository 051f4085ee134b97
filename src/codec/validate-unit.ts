// Structural validation of a DF11 unit (df11-format.md §10 items 2-8): everything that can be checked
// without decoding the stream. Decoders still bound their LUT chains and lengths (items 9).
import { Df11Error } from '../errors.js';
import { CHUNK_BYTES, FIRST_POINTER, GAP_BYTES_PER_CHUNK, LUT_ROW_BYTES, MAX_CODE_BITS, MAX_LUT_ROWS } from './constants.js';
import { OUTPUT_POSITION_BYTES } from './output-positions.js';
import type { Df11Unit } from './unit.js';

/** Where a unit came from, for error messages. `tensor` names the unit (or its field). */
export interface UnitContext {
  file?: string;
  tensor?: string;
}

/** Sizes derived from a valid unit. */
export interface UnitGeometry {
  /** N: weights in the unit. */
  elements: number;
  /** B: bytes of `encoded_exponent`. */
  streamBytes: number;
  /** K = ceil(B / 4096). */
  chunks: number;
  /** R: decode rows of `luts` (the length row is row R). */
  decodeRows: number;
  /** True when `output_positions` has only K entries (§7 rare short case). */
  shortOutputPositions: boolean;
}

/** Minimum `luts` rows (root + length row) and the largest N / B (signed 32-bit in the reference). */
const MIN_LUT_ROWS = 2;
const MAX_SIZE = 2 ** 31 - 1;

/**
 * Checks `luts`: whole rows, 2..18 of them; every pointer (>= 240) in a decode row names a decode row
 * 1..R-1; the length row holds 0..32, zeros at 240..255, and a Kraft sum below 1 (EOF's share is missing).
 * Pointers are not required to lead deeper: the reference's leaked fill values may break that (§8.1).
 * @returns R, the number of decode rows.
 * @throws Df11Error 'unit-invalid'
 */
export function validateLuts(luts: Uint8Array, context: UnitContext = {}): number {
  const fail = (detail: string): never => {
    throw new Df11Error('unit-invalid', `luts: ${detail}`, context);
  };
  if (luts.length % LUT_ROW_BYTES !== 0) fail(`${luts.length} bytes is not a whole number of ${LUT_ROW_BYTES}-byte rows`);
  const rows = luts.length / LUT_ROW_BYTES;
  if (rows < MIN_LUT_ROWS || rows > MAX_LUT_ROWS) fail(`${rows} rows; expected ${MIN_LUT_ROWS}..${MAX_LUT_ROWS}`);
  const decodeRows = rows - 1;
  for (let i = 0; i < decodeRows * LUT_ROW_BYTES; i++) {
    const v = luts[i]!;
    if (v >= FIRST_POINTER) {
      const target = LUT_ROW_BYTES - v;
      if (target < 1 || target > decodeRows - 1) {
        fail(`row ${Math.floor(i / LUT_ROW_BYTES)} column ${i % LUT_ROW_BYTES} points to row ${target}; decode rows are 0..${decodeRows - 1}`);
      }
    }
  }
  const lenBase = decodeRows * LUT_ROW_BYTES;
  let kraft = 0; // exact: a sum of at most 240 multiples of 2^-32
  for (let e = 0; e < LUT_ROW_BYTES; e++) {
    const len = luts[lenBase + e]!;
    if (len > MAX_CODE_BITS) fail(`length row: exponent ${e} has length ${len}; codes have at most ${MAX_CODE_BITS} bits`);
    if (len > 0 && e >= FIRST_POINTER) fail(`length row: entry ${e} is ${len}; entries ${FIRST_POINTER}..255 must be 0`);
    if (len > 0) kraft += 2 ** -len;
  }
  if (kraft >= 1) fail(`length row: Kraft sum ${kraft} is not below 1 (no room for the EOF code)`);
  return decodeRows;
}

/**
 * Validates a unit's structure: `luts` (see {@link validateLuts}), N and B in 1..2^31-1, `gaps` of 320K
 * bytes, `output_positions` of K or K+1 uint32 entries starting at 0, non-decreasing and ending at N,
 * and `split_positions` strictly increasing inside (0, N).
 * @throws Df11Error 'unit-invalid' naming the field and the offending value.
 */
export function validateUnit(unit: Df11Unit, context: UnitContext = {}): UnitGeometry {
  const fail = (detail: string): never => {
    throw new Df11Error('unit-invalid', detail, context);
  };
  const decodeRows = validateLuts(unit.luts, context);
  const n = unit.signMantissa.length;
  const b = unit.encodedExponent.length;
  if (n < 1 || n > MAX_SIZE) fail(`sign_mantissa: ${n} elements; expected 1..${MAX_SIZE}`);
  if (b < 1 || b > MAX_SIZE) fail(`encoded_exponent: ${b} bytes; expected 1..${MAX_SIZE}`);
  const chunks = Math.ceil(b / CHUNK_BYTES);
  if (unit.gaps.length !== GAP_BYTES_PER_CHUNK * chunks) {
    fail(`gaps: ${unit.gaps.length} bytes; expected ${GAP_BYTES_PER_CHUNK * chunks} for ${chunks} chunks`);
  }
  const opBytes = unit.outputPositions.length;
  if (opBytes !== OUTPUT_POSITION_BYTES * chunks && opBytes !== OUTPUT_POSITION_BYTES * (chunks + 1)) {
    fail(`output_positions: ${opBytes} bytes; expected ${OUTPUT_POSITION_BYTES * (chunks + 1)} (or ${OUTPUT_POSITION_BYTES * chunks}) for ${chunks} chunks`);
  }
  const entries = opBytes / OUTPUT_POSITION_BYTES;
  const view = new DataView(unit.outputPositions.buffer, unit.outputPositions.byteOffset, opBytes);
  let prev = 0;
  for (let i = 0; i < entries; i++) {
    const v = view.getUint32(i * OUTPUT_POSITION_BYTES, true);
    if (i === 0 && v !== 0) fail(`output_positions[0] is ${v}; expected 0`);
    if (v < prev) fail(`output_positions[${i}] = ${v} is below output_positions[${i - 1}] = ${prev}`);
    if (v > n) fail(`output_positions[${i}] = ${v} exceeds N = ${n}`);
    prev = v;
  }
  if (prev !== n) fail(`output_positions ends with ${prev}; expected N = ${n}`);
  const splits = unit.splitPositions;
  let last = 0n;
  for (let i = 0; i < splits.length; i++) {
    const s = splits[i]!;
    if (s <= last) fail(`split_positions[${i}] = ${s} is not above ${i === 0 ? 'zero' : `split_positions[${i - 1}] = ${last}`}`);
    if (s >= BigInt(n)) fail(`split_positions[${i}] = ${s} is not below N = ${n}`);
    last = s;
  }
  return { elements: n, streamBytes: b, chunks, decodeRows, shortOutputPositions: entries === chunks };
}
