// The CPU decoders' lookup tables against the LUT walk they are derived from (df11-format.md §8.2):
// for every 12-bit table index, with random bits after it, the fast table's code and each of the
// multi-code table's codes must be exactly what walking the LUTs gives at that position, or a miss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecodeTables } from '../../src/codec/decode-table.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { buildFastTable, decodeLutsOf, FAST_TABLE_BITS, walkLuts, type DecodeLuts } from '../../src/codec/fast-table.js';
import { buildHuffmanCode } from '../../src/codec/huffman-build.js';
import { buildMultiTable } from '../../src/codec/multi-table.js';
import { validateLuts } from '../../src/codec/validate-unit.js';
import { Df11Error } from '../../src/errors.js';
import { normalBf16, Prng } from '../helpers/prng.js';

/** walkLuts, or undefined where it throws (a corrupt chain or zero length). */
function walk(t: DecodeLuts, x: number): { e: number; len: number } | undefined {
  try {
    const p = walkLuts(t, x | 0);
    return { e: p >>> 7, len: p & 0x7f };
  } catch (e) {
    assert.ok(e instanceof Df11Error);
    return undefined;
  }
}

/** Checks every table index with `samples` random tails; returns the mean codes per hit. */
function checkTables(luts: Uint8Array, rng: Prng, what: string, samples = 4): number {
  const t = decodeLutsOf(luts, validateLuts(luts));
  const fast = buildFastTable(t);
  const { meta, exponents } = buildMultiTable(fast);
  let codes = 0;
  let hits = 0;
  for (let v = 0; v < 1 << FAST_TABLE_BITS; v++) {
    const m = meta[v]!;
    const f = fast[v]!;
    assert.equal(m === 0, f === 0, `${what}: multi table and fast table disagree on a miss at ${v}`);
    for (let k = 0; k < samples; k++) {
      const x = ((v << (32 - FAST_TABLE_BITS)) | (rng.u32() >>> FAST_TABLE_BITS)) >>> 0;
      if (f !== 0) assert.deepEqual({ e: f >>> 7, len: f & 0x7f }, walk(t, x), `${what}: fast[${v}] vs the LUT walk at x=${x.toString(16)}`);
      if (m === 0) continue;
      const count = (m >>> 6) & 7;
      assert.ok(count >= 1 && count <= 4, `${what}: count ${count}`);
      let at = 0;
      let y = x;
      for (let c = 0; c < count; c++) {
        const start = c === 0 ? 0 : (m >>> (9 + 4 * (c - 1))) & 0xf;
        assert.equal(start, at, `${what}: meta[${v}] start of code ${c + 1}`);
        const w = walk(t, y);
        assert.ok(w, `${what}: code ${c + 1} of entry ${v} is not decodable`);
        assert.equal((exponents[v]! >>> (8 * c)) & 0xff, w.e, `${what}: entry ${v} exponent of code ${c + 1}`);
        at += w.len;
        // The next code's bits: the rest of x, then fresh random bits (they must not matter).
        y = ((y << w.len) | (rng.u32() >>> (32 - w.len))) >>> 0;
      }
      assert.equal(m & 0x3f, at, `${what}: meta[${v}] advance`);
      if (count > 1) assert.ok(at <= FAST_TABLE_BITS, `${what}: codes of entry ${v} exceed the table bits`);
    }
    if (m !== 0) {
      hits++;
      codes += (m >>> 6) & 7;
    }
  }
  return codes / Math.max(1, hits);
}

test('fast and multi-code tables agree with the LUT walk: trained-like weights', () => {
  const unit = encodeUnit(normalBf16(100_000, 3));
  const perLookup = checkTables(unit.luts, new Prng(1), 'normal weights');
  assert.ok(perLookup > 3, `only ${perLookup.toFixed(2)} codes per table entry`);
});

test('fast and multi-code tables agree with the LUT walk: deep and wide codes (many rows, leaked fills)', () => {
  const rng = new Prng(2);
  let checked = 0;
  for (let trial = 0; trial < 12; trial++) {
    const hist = new Array<number>(256).fill(0);
    const symbols = 2 + rng.int(200);
    const ratio = 0.5 + 0.49 * rng.float();
    for (let k = 0; k < symbols; k++) hist[rng.int(240)] = Math.max(1, Math.floor(1e7 * ratio ** k));
    let luts: Uint8Array;
    try {
      luts = buildDecodeTables(buildHuffmanCode(hist));
    } catch (e) {
      assert.ok(e instanceof Df11Error); // too many LUT rows or an ambiguous limiter tie: not a table to test
      continue;
    }
    checkTables(luts, rng, `histogram ${trial}`, 2);
    checked++;
  }
  assert.ok(checked >= 6);
});

test('fast and multi-code tables agree with the LUT walk on corrupted LUTs that still validate', () => {
  const base = encodeUnit(normalBf16(50_000, 4)).luts;
  const rng = new Prng(5);
  let checked = 0;
  for (let trial = 0; trial < 60; trial++) {
    const luts = base.slice();
    for (let k = 0; k < 1 + rng.int(6); k++) luts[rng.int(luts.length)] = rng.float() < 0.3 ? 240 + rng.int(16) : rng.byte();
    try {
      validateLuts(luts);
    } catch {
      continue;
    }
    checkTables(luts, rng, `corrupt ${trial}`, 2);
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} corrupted tables validated`);
});
