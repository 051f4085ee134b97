// Deterministic corruptions of valid units, each with the outcome every decoder must show.
//
// The contract (the same for every decoder; `usesIndex` decoders read gaps/output_positions):
//  - 'throw': every decoder throws a Df11Error. Used where the serial oracle provably throws: broken
//    luts, a zero-length or 5-lookup code at element 0, a stream too short or too long for its N codes,
//    an empty unit.
//  - 'index': gaps or output_positions disagree with the stream (or with themselves). The serial
//    oracle ignores both and returns the original; decoders that use them must throw (never return
//    data decoded from a wrong position).
//  - 'inert': only bits no decoder may look at changed (after the last code: EOF and padding bits,
//    gap entries of windows past the end). Every decoder returns the original.
//  - 'oracle': anything else (flipped stream or LUT bits). If the oracle throws, the decoder throws;
//    if the oracle returns D, the decoder returns exactly D or throws.
// In every case: only Df11Error may be thrown, nothing is written outside the output, no hang.
import { GAP_BITS, WINDOWS_PER_CHUNK } from '../../src/codec/constants.js';
import { gapAt, packGaps, unpackGaps } from '../../src/codec/gaps.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { chunksOf } from './units.js';

export type Expectation = 'throw' | 'index' | 'inert' | 'oracle';

export interface Corruption {
  name: string;
  expect: Expectation;
  unit: Df11Unit;
}

const ROW = 256;
const OP_ENTRY_BYTES = 4;

export function cloneUnit(u: Df11Unit): Df11Unit {
  return {
    luts: u.luts.slice(),
    encodedExponent: u.encodedExponent.slice(),
    signMantissa: u.signMantissa.slice(),
    outputPositions: u.outputPositions.slice(),
    gaps: u.gaps.slice(),
    splitPositions: u.splitPositions.slice(),
  };
}

function readOp(u: Df11Unit): number[] {
  const view = new DataView(u.outputPositions.buffer, u.outputPositions.byteOffset, u.outputPositions.byteLength);
  return Array.from({ length: u.outputPositions.length / OP_ENTRY_BYTES }, (_, i) => view.getUint32(OP_ENTRY_BYTES * i, true));
}

function writeOp(u: Df11Unit, op: readonly number[]): void {
  const bytes = new Uint8Array(OP_ENTRY_BYTES * op.length);
  const view = new DataView(bytes.buffer);
  op.forEach((v, i) => view.setUint32(OP_ENTRY_BYTES * i, v, true));
  u.outputPositions = bytes;
}

function setGap(u: Df11Unit, t: number, value: number): void {
  const all = unpackGaps(u.gaps).subarray(0, WINDOWS_PER_CHUNK * chunksOf(u));
  all[t] = value;
  u.gaps = packGaps(all);
}

/** Exponent of element 0, from the original BF16 word. */
function firstExponent(original: Uint16Array): number {
  return (original[0]! >>> 7) & 0xff;
}

function mutate(base: Df11Unit, f: (u: Df11Unit) => void): Df11Unit {
  const u = cloneUnit(base);
  f(u);
  return u;
}

/**
 * The corruptions of `unit` (encoded from `original`) that apply to it. `streamBits` = S.
 */
export function corruptionsOf(unit: Df11Unit, original: Uint16Array, streamBits: number): Corruption[] {
  const out: Corruption[] = [];
  const add = (name: string, expect: Expectation, f: (u: Df11Unit) => void): void => {
    out.push({ name, expect, unit: mutate(unit, f) });
  };
  const rows = unit.luts.length / ROW;
  const lenRow = (rows - 1) * ROW;
  const k = chunksOf(unit);
  const b = unit.encodedExponent.length;
  const n = original.length;
  const op = readOp(unit);

  // --- luts
  add('luts one byte short', 'throw', (u) => (u.luts = u.luts.subarray(0, u.luts.length - 1)));
  if (rows - 1 <= 16) add('luts: pointer to the length row', 'throw', (u) => (u.luts[0] = ROW - (rows - 1)));
  add('luts: a length of 33 bits', 'throw', (u) => (u.luts[lenRow + firstExponent(original)] = 33));
  add('luts: element 0 has code length 0', 'throw', (u) => (u.luts[lenRow + firstExponent(original)] = 0));
  if (rows >= 3) {
    // Every decode entry points to row 1: every code chains past the 4th lookup.
    add('luts: pointer cycle (5th lookup)', 'throw', (u) => u.luts.fill(0xff, 0, lenRow));
  }
  add('luts: a decode byte flipped', 'oracle', (u) => (u.luts[(b * 7) % lenRow]! ^= 0x04));

  // --- encoded_exponent
  if (b > 256) add('stream truncated by 128 bytes', 'throw', (u) => (u.encodedExponent = u.encodedExponent.subarray(0, b - 128)));
  add('stream truncated to 1 byte', n > 40 ? 'throw' : 'oracle', (u) => (u.encodedExponent = u.encodedExponent.subarray(0, 1)));
  add('stream extended by 8 zero bytes', 'throw', (u) => {
    const e = new Uint8Array(b + 8);
    e.set(u.encodedExponent);
    u.encodedExponent = e;
  });
  add('stream truncated by 1 byte', 'oracle', (u) => (u.encodedExponent = u.encodedExponent.subarray(0, b - 1)));
  add('stream: first bit flipped', 'oracle', (u) => (u.encodedExponent[0]! ^= 0x80));
  add('stream: middle byte flipped', 'oracle', (u) => (u.encodedExponent[b >>> 1]! ^= 0xff));
  add('stream: last data bit flipped', 'oracle', (u) => (u.encodedExponent[(streamBits - 1) >>> 3]! ^= 0x80 >>> ((streamBits - 1) & 7)));
  if (streamBits % 8 !== 0) {
    // Bits after S in the last byte are EOF and padding: never part of a code of an element.
    add('EOF/padding bits of the last byte flipped', 'inert', (u) => (u.encodedExponent[b - 1]! ^= 0xff >>> (streamBits % 8)));
  }

  // --- sign_mantissa
  if (n > 1) add('sign_mantissa one element short', 'oracle', (u) => (u.signMantissa = u.signMantissa.subarray(0, n - 1)));
  add('sign_mantissa byte flipped', 'oracle', (u) => (u.signMantissa[n >>> 1]! ^= 0x81));

  // --- output_positions
  add('output_positions: last entry is not N', 'index', (u) => writeOp(u, [...op.slice(0, -1), n + 1]));
  add('output_positions: one byte short', 'index', (u) => (u.outputPositions = u.outputPositions.subarray(0, u.outputPositions.length - 1)));
  if (op.length === k + 1 && op[k - 1]! < n) add('output_positions: last entry dropped', 'index', (u) => writeOp(u, op.slice(0, -1)));
  if (k >= 2 && op[1]! > 0 && op[1]! < n) {
    add('output_positions[1] + 1', 'index', (u) => writeOp(u, op.map((v, i) => (i === 1 ? v + 1 : v))));
    add('output_positions[1] - 1', 'index', (u) => writeOp(u, op.map((v, i) => (i === 1 ? v - 1 : v))));
  }
  if (k >= 3 && op[1]! < op[2]!) {
    add('output_positions[1] and [2] swapped', 'index', (u) => writeOp(u, op.map((v, i) => (i === 1 ? op[2]! : i === 2 ? op[1]! : v))));
  }
  if (k >= 2) add('output_positions[0] = 1', 'index', (u) => writeOp(u, op.map((v, i) => (i === 0 ? 1 : v))));

  // --- gaps
  add('gaps one byte short', 'index', (u) => (u.gaps = u.gaps.subarray(0, u.gaps.length - 1)));
  add('gap of window 0 is 1', 'index', (u) => setGap(u, 0, 1));
  if (streamBits > 2 * 64) add('gap of window 1 changed', 'index', (u) => setGap(u, 1, gapAt(unit.gaps, 1) ^ 1));
  if (k >= 2 && op[1]! < Math.min(op[2] ?? n, n)) {
    add('gap of chunk 1, window 0 changed', 'index', (u) => setGap(u, WINDOWS_PER_CHUNK, gapAt(unit.gaps, WINDOWS_PER_CHUNK) ^ 4));
  }
  const lastWindowWithCode = Math.floor((streamBits - 1) / 64);
  if (lastWindowWithCode + 2 < WINDOWS_PER_CHUNK * k) {
    // Windows after the one holding the end of the stream: no element's code starts there.
    add('gaps of windows past the end set to 31', 'inert', (u) => {
      for (let t = lastWindowWithCode + 2; t < WINDOWS_PER_CHUNK * k; t++) setGapFast(u, t, (1 << GAP_BITS) - 1);
    });
  }
  return out;
}

/** setGap without repacking everything (for many windows): writes the 5 bits in place. */
function setGapFast(u: Df11Unit, t: number, value: number): void {
  for (let i = 0; i < GAP_BITS; i++) {
    const bit = GAP_BITS * t + i;
    const mask = 0x80 >>> (bit & 7);
    if ((value >>> (GAP_BITS - 1 - i)) & 1) u.gaps[bit >>> 3]! |= mask;
    else u.gaps[bit >>> 3]! &= ~mask;
  }
}
