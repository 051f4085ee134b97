// The CPU decoders' lookup tables against the LUT walk they are derived from (df11-format.md §8.2):
// for every 12-bit table index, with random bits after it, the fast table's code and the pair
// table's one or two codes must be exactly what walking the LUTs gives, or a miss.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecodeTables } from '../../src/codec/decode-table.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { buildFastTable, decodeLutsOf, FAST_TABLE_BITS, walkLuts, type DecodeLuts } from '../../src/codec/fast-table.js';
import { buildHuffmanCode } from '../../src/codec/huffman-build.js';
import { buildPairTable } from '../../src/codec/pair-table.js';
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

function checkTables(luts: Uint8Array, rng: Prng, what: string): { twos: number } {
  const t = decodeLutsOf(luts, validateLuts(luts));
  const fast = buildFastTable(t);
  const pairs = buildPairTable(fast);
  let twos = 0;
  for (let v = 0; v < 1 << FAST_TABLE_BITS; v++) {
    for (let k = 0; k < 4; k++) {
      const x = ((v << (32 - FAST_TABLE_BITS)) | (rng.u32() >>> FAST_TABLE_BITS)) >>> 0;
      const w = walk(t, x);
      const f = fast[v]!;
      if (f !== 0) assert.deepEqual({ e: f >>> 7, len: f & 0x7f }, w, `${what}: fast[${v}] vs the LUT walk at x=${x.toString(16)}`);
      const p = pairs[v]!;
      if (p === 0) {
        assert.equal(f, 0, `${what}: pair table misses where the fast table hits (${v})`);
        continue;
      }
      const two = (p & 0x400) !== 0;
      const l1 = two ? (p >>> 6) & 0xf : p & 0x3f;
      assert.deepEqual({ e: (p >>> 16) & 0xff, len: l1 }, w, `${what}: pairs[${v}] first code`);
      if (two) {
        twos++;
        const w2 = walk(t, ((x << l1) | (rng.u32() >>> (32 - l1))) >>> 0);
        assert.deepEqual({ e: p >>> 24, len: (p & 0x3f) - l1 }, w2, `${what}: pairs[${v}] second code`);
        assert.ok((p & 0x3f) <= FAST_TABLE_BITS, `${what}: a pair spans at most the table bits`);
      }
    }
  }
  return { twos };
}

test('fast and pair tables agree with the LUT walk: trained-like weights', () => {
  const unit = encodeUnit(normalBf16(100_000, 3));
  const { twos } = checkTables(unit.luts, new Prng(1), 'normal weights');
  assert.ok(twos > 2000, `only ${twos} two-code entries`);
});

test('fast and pair tables agree with the LUT walk: deep and wide codes (many rows, leaked fills)', () => {
  const rng = new Prng(2);
  for (let trial = 0; trial < 12; trial++) {
    const hist = new Array<number>(256).fill(0);
    const symbols = 2 + rng.int(200);
    const ratio = 0.5 + 0.49 * rng.float();
    for (let k = 0; k < symbols; k++) hist[rng.int(240)] = Math.max(1, Math.floor(1e7 * ratio ** k));
    let luts: Uint8Array;
    try {
      luts = buildDecodeTables(buildHuffmanCode(hist));
    } catch (e) {
      assert.ok(e instanceof Df11Error); // too many LUT rows or an ambiguous limiter tie: skip this histogram
      continue;
    }
    checkTables(luts, rng, `histogram ${trial}`);
  }
});

test('fast and pair tables agree with the LUT walk on corrupted LUTs that still validate', () => {
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
    checkTables(luts, rng, `corrupt ${trial}`);
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} corrupted tables validated`);
});
