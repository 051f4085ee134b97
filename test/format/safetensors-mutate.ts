// Seeded mutation of safetensors headers and an independent checker of parsed headers, shared by the
// fuzz test (test/format/safetensors-fuzz.test.ts) and the long fuzz run (bench/fuzz-safetensors.ts).

import { uniformRandom } from '../../src/util/random.js';
import assert from 'node:assert/strict';
import { DTYPE_BYTES, isDtype } from '../../src/format/dtype.js';
import { encodeSafetensorsHeader, type SafetensorsHeader } from '../../src/format/safetensors-header.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDemoModelDir } from '../helpers/paths.js';

/** Error codes the container layer may raise for hostile input; anything else is a bug. */
export const CONTAINER_ERROR_CODES: ReadonlySet<string> = new Set([
  'truncated-file',
  'header-too-large',
  'header-invalid-json',
  'header-invalid',
  'dtype-unknown',
  'shape-size-mismatch',
  'offsets-invalid',
  'tensor-not-found',
  'duplicate-tensor',
]);

export type Rng = () => number;

/** Seeded uniform floats in [0, 1) (mulberry32). */
export function makeRng(seed: number): Rng {
  return uniformRandom(seed);
}

export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[randInt(rng, xs.length)] as T;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const INTERESTING_CHARS = ascii('{}[]":,0123456789-.eE \\u\t\n\x00\x7f');
const INTERESTING_TOKENS = [
  '-1', '0', '1', '2.0', '1e3', '-0', '4294967296', '4294967297', '9007199254740991', '9007199254740992',
  '9007199254740993', '18446744073709551616', '1e308', '1e999', 'null', 'true', '"x"', '[]', '{}', '[0,0]',
  '"__metadata__"', '"__proto__"', '"\\ud800"', '"\\ud83d\\ude00"', '"BF16"', '"F4"', '"bf16"', '"U64"', '"BOOL"',
  '"data_offsets"', '"shape"', '"dtype"', ',', ':', '\xef\xbb\xbf',
].map(ascii);
const DTYPE_NAMES = [...Object.keys(DTYPE_BYTES), 'F4', 'bf16', 'Q4_0', '', 'BF16 ', '__proto__'];

/** One random edit of `b` (never mutates `b`). */
export function mutateOnce(rng: Rng, b: Uint8Array): Uint8Array {
  const n = b.length;
  const at = randInt(rng, n + 1);
  const op = randInt(rng, 10);
  switch (op) {
    case 0: { // flip a bit
      if (n === 0) return b;
      const c = b.slice();
      const i = randInt(rng, n);
      c[i] = (c[i] as number) ^ (1 << randInt(rng, 8));
      return c;
    }
    case 1: { // set a byte to a random or an interesting value
      if (n === 0) return b;
      const c = b.slice();
      c[randInt(rng, n)] = rng() < 0.5 ? randInt(rng, 256) : (pick(rng, [...INTERESTING_CHARS]));
      return c;
    }
    case 2: // truncate
      return b.slice(0, at);
    case 3: { // insert random bytes or a token
      const ins = rng() < 0.5 ? Uint8Array.from({ length: 1 + randInt(rng, 8) }, () => randInt(rng, 256)) : pick(rng, INTERESTING_TOKENS);
      return concat(b.subarray(0, at), ins, b.subarray(at));
    }
    case 4: { // delete a range
      const len = 1 + randInt(rng, 32);
      return concat(b.subarray(0, at), b.subarray(Math.min(n, at + len)));
    }
    case 5: { // copy a range elsewhere (duplicates keys and entries)
      const from = randInt(rng, n + 1);
      const len = randInt(rng, 300);
      return concat(b.subarray(0, at), b.subarray(from, Math.min(n, from + len)), b.subarray(at));
    }
    case 6: { // change one digit
      const digits = positions(b, (c) => c >= 0x30 && c <= 0x39);
      if (digits.length === 0) return b;
      const c = b.slice();
      c[pick(rng, digits)] = 0x30 + randInt(rng, 10);
      return c;
    }
    case 7: // replace a number literal
      return replaceMatch(rng, b, /-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/g, () => pick(rng, INTERESTING_TOKENS.slice(0, 12)));
    case 8: // replace a dtype string
      return replaceMatch(rng, b, /"(BOOL|U8|I8|F8_E4M3|F8_E5M2|I16|U16|F16|BF16|I32|U32|F32|I64|U64|F64)"/g, () => ascii(JSON.stringify(pick(rng, DTYPE_NAMES))));
    default: { // nudge a number by a small amount (keeps JSON valid, breaks tiling or sizes)
      return replaceMatch(rng, b, /[0-9]+/g, (m) => {
        const v = BigInt(m) + BigInt(randInt(rng, 9) - 4);
        return ascii((v < 0n ? -v : v).toString());
      });
    }
  }
}

/** 1-4 random edits. */
export function mutate(rng: Rng, b: Uint8Array): Uint8Array {
  let out = b;
  const k = 1 + randInt(rng, 4);
  for (let i = 0; i < k; i++) out = mutateOnce(rng, out);
  return out;
}

/** A file size near `base`: mostly exact (so header edits are what is tested), sometimes off. */
export function mutateFileSize(rng: Rng, base: number): number {
  const r = rng();
  if (r < 0.7) return base;
  if (r < 0.9) return Math.max(0, base + randInt(rng, 17) - 8);
  return pick(rng, [0, 7, 8, base * 2, 2 ** 32 + base, 2 ** 53 - 1]);
}

/** The 8-byte length prefix of a file, usually right, sometimes hostile. */
export function mutateLengthPrefix(rng: Rng, jsonLength: number): Uint8Array {
  const out = new Uint8Array(8);
  const r = rng();
  const values = [0n, 1n, BigInt(jsonLength) - 1n, BigInt(jsonLength) + 1n, 2n ** 32n + BigInt(jsonLength), 100_000_001n, 2n ** 63n, 2n ** 64n - 1n];
  const v = r < 0.8 ? BigInt(jsonLength) : (pick(rng, values) & (2n ** 64n - 1n));
  new DataView(out.buffer).setBigUint64(0, v < 0n ? 0n : v, true);
  return out;
}

/**
 * Asserts, independently of the parser (JSON.parse and BigInt arithmetic), that an accepted header is
 * what the bytes say and satisfies every invariant.
 */
export function checkAcceptedHeader(h: SafetensorsHeader, json: Uint8Array, fileSize: number): void {
  const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as Record<string, unknown>;
  assert.equal(h.dataStart, 8 + json.length);
  const keys = Object.keys(doc).filter((k) => k !== '__metadata__');
  // Sorted: JSON.parse lists integer-like keys first. Equal counts also prove no duplicate was accepted.
  assert.deepEqual(h.tensors.map((t) => t.name).sort(), keys.sort(), 'tensor names');
  if (h.metadata !== null) {
    for (const v of Object.values(h.metadata)) assert.equal(typeof v, 'string');
    assert.deepEqual({ ...h.metadata }, { ...(doc['__metadata__'] as object) });
  }
  for (const t of h.tensors) {
    const e = doc[t.name] as { dtype: string; shape: number[]; data_offsets: number[] };
    assert.ok(isDtype(e.dtype));
    assert.equal(t.dtype, e.dtype);
    assert.deepEqual(t.shape, e.shape);
    assert.equal(t.start - h.dataStart, e.data_offsets[0]);
    assert.equal(t.end - h.dataStart, e.data_offsets[1]);
    const elems = t.shape.reduce((a, d) => a * BigInt(d), 1n);
    assert.equal(elems * BigInt(DTYPE_BYTES[t.dtype]), BigInt(t.end) - BigInt(t.start), `size of ${t.name}`);
  }
  const sorted = [...h.tensors].sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = h.dataStart;
  for (const t of sorted) {
    assert.equal(t.start, cursor, `tiling at ${t.name}`);
    cursor = t.end;
  }
  assert.equal(cursor, fileSize, 'tensors cover the data section exactly');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function positions(b: Uint8Array, f: (c: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) if (f(b[i] as number)) out.push(i);
  return out;
}

/** Replaces one random match of `re` in the (latin1-viewed) bytes with `make(match)`. */
function replaceMatch(rng: Rng, b: Uint8Array, re: RegExp, make: (m: string) => Uint8Array): Uint8Array {
  const text = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  const matches = [...text.matchAll(re)];
  if (matches.length === 0) return b;
  const m = pick(rng, matches);
  const at = m.index ?? 0;
  return concat(b.subarray(0, at), make(m[0]), b.subarray(at + m[0].length));
}

export interface FuzzBase {
  json: Uint8Array;
  fileSize: number;
}

/** The demo model's real header, and a synthetic one with metadata, zero-size tensors and every width. */
export function fuzzBases(): FuzzBase[] {
  const demo = readFileSync(join(sharedDemoModelDir(), 'model.safetensors'));
  const n = Number(demo.readBigUInt64LE(0));
  const synth = encodeSafetensorsHeader(
    [
      { name: 'a', dtype: 'BF16', shape: [3, 4] },
      { name: 'empty', dtype: 'F32', shape: [0, 7] },
      { name: 'scalar', dtype: 'F64', shape: [] },
      { name: 'b', dtype: 'U8', shape: [5] },
      { name: 'c', dtype: 'I64', shape: [2, 1, 2] },
    ],
    { format: 'pt', 'k\u00e9y': 'v\u00e4lue' },
  );
  return [
    { json: new Uint8Array(demo.subarray(8, 8 + n)), fileSize: demo.length },
    { json: synth.bytes.slice(8), fileSize: synth.dataStart + synth.dataBytes },
  ];
}
