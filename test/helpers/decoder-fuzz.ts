// Decoder fuzzing shared by test/codec/decode-fuzz.test.ts (a fixed budget) and bench/fuzz-decoders.ts
// (long runs): seeded mutations of valid units, each decoded by the serial oracle and the chunk
// decoder, with the properties every run must keep:
//  1. both decoders either return or throw a Df11Error (anything else is a bug), and never write
//     outside their output (canaries around the chunk decoder's output);
//  2. if the chunk decoder returns, the serial decoder returns exactly the same elements (the chunk
//     decoder verifies that its index agrees with the stream, so it never decodes from a wrong place);
//  3. if the serial decoder returns but the chunk decoder throws, the reason is the index or the
//     structure ('unit-invalid', 'gap-mismatch', 'chunk-count-mismatch'), never the stream itself.
import { CHUNK_BYTES } from '../../src/codec/constants.js';
import { decodeChunksInto } from '../../src/codec/decode-chunked.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { encodeUnit } from '../../src/codec/encode.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { validateUnit } from '../../src/codec/validate-unit.js';
import { Df11Error, type Df11ErrorCode } from '../../src/errors.js';
import { bf16WithExponents, normalBf16, Prng } from './prng.js';
import { cloneUnit } from '../conformance/corrupt.js';

export interface FuzzBase {
  name: string;
  unit: Df11Unit;
}

export interface FuzzStats {
  cases: number;
  /** Outcome counts: 'serial:<code|ok>/chunked:<code|ok>'. */
  outcomes: Map<string, number>;
  /** Cases that passed validateUnit. */
  structurallyValid: number;
}

const CANARY_ELEMENTS = 16;
const CANARY = 0x5a3c;
const OP_ENTRY_BYTES = 4;
/** Chunk-decoder errors that may occur where the serial decoder succeeds (property 3). */
const INDEX_ERRORS: ReadonlySet<Df11ErrorCode> = new Set(['unit-invalid', 'gap-mismatch', 'chunk-count-mismatch']);

/** Small valid units of different shapes (decoding each takes well under a millisecond). */
export function fuzzBases(demoLayer?: Uint16Array): FuzzBase[] {
  const bases: FuzzBase[] = [];
  const add = (name: string, bf16: Uint16Array): void => {
    bases.push({ name, unit: encodeUnit(bf16) });
  };
  if (demoLayer) add('demo layer slice (3 chunks)', demoLayer.subarray(0, 30_000));
  add('normal(0,0.02) 14k (2 chunks)', normalBf16(14_000, 101));
  add('normal(0,0.02) 900', normalBf16(900, 102));
  // Geometric exponents over 24 values: codes up to ~24 bits, several LUT rows.
  const rng = new Prng(103);
  const geo = new Uint8Array(6_000);
  for (let i = 0; i < geo.length; i++) {
    let e = 100;
    while (e < 123 && rng.float() < 0.6) e++;
    geo[i] = e;
  }
  add('geometric exponents 6k', bf16WithExponents(geo, 104));
  add('one exponent 3k', bf16WithExponents(new Uint8Array(3_000).fill(119), 105));
  add('one element', bf16WithExponents([118], 106));
  return bases;
}

type Field = 'luts' | 'encodedExponent' | 'signMantissa' | 'outputPositions' | 'gaps';
const FIELDS: readonly Field[] = ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps'];

/** Applies one random mutation to `u` in place; returns its name. */
function mutateOnce(u: Df11Unit, rng: Prng): string {
  const kind = rng.int(9);
  const field = FIELDS[rng.int(FIELDS.length)]!;
  const a = u[field];
  switch (kind) {
    case 0:
    case 1: {
      // Bit flips (most common: they leave every size intact).
      if (a.length === 0) return 'noop';
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) a[rng.int(a.length)]! ^= 1 << rng.int(8);
      return `${field}: ${flips} bit flip(s)`;
    }
    case 2:
      if (a.length === 0) return 'noop';
      a[rng.int(a.length)] = rng.byte();
      return `${field}: byte set`;
    case 3: {
      const keep = rng.float() < 0.5 ? Math.max(0, a.length - 1 - rng.int(8)) : rng.int(a.length + 1);
      u[field] = a.subarray(0, keep);
      return `${field}: truncated`;
    }
    case 4: {
      const grown = new Uint8Array(a.length + 1 + rng.int(field === 'encodedExponent' ? CHUNK_BYTES : 16));
      grown.set(a);
      for (let i = a.length; i < grown.length; i++) grown[i] = rng.float() < 0.5 ? 0 : rng.byte();
      u[field] = grown;
      return `${field}: extended`;
    }
    case 5: {
      const entries = u.outputPositions.length / OP_ENTRY_BYTES;
      if (!Number.isInteger(entries) || entries < 2) return 'noop';
      const view = new DataView(u.outputPositions.buffer, u.outputPositions.byteOffset, u.outputPositions.byteLength);
      const i = rng.int(entries);
      const j = rng.int(entries);
      const vi = view.getUint32(OP_ENTRY_BYTES * i, true);
      view.setUint32(OP_ENTRY_BYTES * i, view.getUint32(OP_ENTRY_BYTES * j, true), true);
      view.setUint32(OP_ENTRY_BYTES * j, vi, true);
      return 'output_positions: entries swapped';
    }
    case 6: {
      const entries = u.outputPositions.length / OP_ENTRY_BYTES;
      if (!Number.isInteger(entries) || entries < 1) return 'noop';
      const view = new DataView(u.outputPositions.buffer, u.outputPositions.byteOffset, u.outputPositions.byteLength);
      const i = rng.int(entries);
      view.setUint32(OP_ENTRY_BYTES * i, (view.getUint32(OP_ENTRY_BYTES * i, true) + rng.int(7) - 3) >>> 0, true);
      return 'output_positions: entry nudged';
    }
    case 7: {
      // One gap entry set to a random 5-bit value.
      const windows = Math.floor((u.gaps.length * 8) / 5);
      if (windows === 0) return 'noop';
      const t = rng.int(windows);
      const v = rng.int(32);
      for (let k = 0; k < 5; k++) {
        const bit = 5 * t + k;
        const mask = 0x80 >>> (bit & 7);
        if ((v >>> (4 - k)) & 1) u.gaps[bit >>> 3]! |= mask;
        else u.gaps[bit >>> 3]! &= ~mask;
      }
      return 'gaps: entry set';
    }
    default: {
      // LUT entry set to a pointer, or a length-row entry set to a small length.
      const rows = Math.floor(u.luts.length / 256);
      if (rows < 2) return 'noop';
      if (rng.float() < 0.5) u.luts[rng.int((rows - 1) * 256)] = 240 + rng.int(16);
      else u.luts[(rows - 1) * 256 + rng.int(256)] = rng.int(34);
      return 'luts: entry set';
    }
  }
}

type Outcome = { ok: true; data: Uint16Array } | { ok: false; code: Df11ErrorCode };

function run(f: () => Uint16Array, who: string, what: string): Outcome {
  try {
    return { ok: true, data: f() };
  } catch (e) {
    if (e instanceof Df11Error) return { ok: false, code: e.code };
    throw new Error(`${who} threw a non-Df11Error on ${what}: ${String(e)}`, { cause: e });
  }
}

function chunkedWithCanary(u: Df11Unit, what: string): Uint16Array {
  const n = u.signMantissa.length;
  const buf = new Uint16Array(n + 2 * CANARY_ELEMENTS).fill(CANARY);
  const view = buf.subarray(CANARY_ELEMENTS, CANARY_ELEMENTS + n);
  try {
    decodeChunksInto(u, view, 0, Math.ceil(u.encodedExponent.length / CHUNK_BYTES));
  } finally {
    for (let i = 0; i < CANARY_ELEMENTS; i++) {
      if (buf[i] !== CANARY || buf[CANARY_ELEMENTS + n + i] !== CANARY) throw new Error(`chunk decoder wrote outside its output on ${what}`);
    }
  }
  return view;
}

/**
 * Runs `count` seeded cases over `bases` and checks properties 1-3 (see the file header); throws an
 * Error naming the case on the first violation. Case i uses seed `seed + i`, so any failure can be
 * replayed alone.
 */
export function fuzzDecoders(bases: readonly FuzzBase[], seed: number, count: number): FuzzStats {
  const stats: FuzzStats = { cases: 0, outcomes: new Map(), structurallyValid: 0 };
  for (let i = 0; i < count; i++) {
    const rng = new Prng((seed + i) >>> 0);
    const base = bases[rng.int(bases.length)]!;
    const u = cloneUnit(base.unit);
    const names: string[] = [];
    const mutations = 1 + (rng.float() < 0.25 ? 1 : 0);
    for (let m = 0; m < mutations; m++) names.push(mutateOnce(u, rng));
    const what = `case seed ${seed + i} (${base.name}: ${names.join(', ')})`;

    let valid = true;
    try {
      validateUnit(u);
    } catch (e) {
      if (!(e instanceof Df11Error)) throw new Error(`validateUnit threw a non-Df11Error on ${what}: ${String(e)}`);
      valid = false;
    }
    if (valid) stats.structurallyValid++;
    const serial = run(() => decodeUnit(u), 'serial decoder', what);
    const chunked = run(() => chunkedWithCanary(u, what), 'chunk decoder', what);
    if (chunked.ok) {
      if (!serial.ok) throw new Error(`chunk decoder returned but the serial decoder threw ${serial.code} on ${what}`);
      const a = serial.data;
      const b = chunked.data;
      if (a.length !== b.length) throw new Error(`decoders disagree on the length on ${what}`);
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) throw new Error(`decoders disagree at element ${k} on ${what}`);
    } else if (serial.ok && !INDEX_ERRORS.has(chunked.code)) {
      throw new Error(`serial decoder returned but the chunk decoder threw ${chunked.code} (not an index error) on ${what}`);
    }
    const key = `serial:${serial.ok ? 'ok' : serial.code}/chunked:${chunked.ok ? 'ok' : chunked.code}`;
    stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + 1);
    stats.cases++;
  }
  return stats;
}
