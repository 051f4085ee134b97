// The luts tensor must match the reference builder byte for byte (df11-format.md §8.1), including the
// carry-forward leak, and every real code must decode through it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Df11Error } from '../../src/errors.js';
import { buildDecodeTables, UNSET_LUT_FILL } from '../../src/codec/decode-table.js';
import { buildHuffmanCode } from '../../src/codec/huffman-build.js';

function hist(entries: Record<number, number>): number[] {
  const h = new Array<number>(256).fill(0);
  for (const [e, f] of Object.entries(entries)) h[Number(e)] = f;
  return h;
}

/** Row r of luts as runs: [value, count] pairs, for readable expectations. */
function runs(luts: Uint8Array, r: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const v of luts.subarray(256 * r, 256 * r + 256)) {
    const last = out[out.length - 1];
    if (last && last[0] === v) last[1]++;
    else out.push([v, 1]);
  }
  return out;
}

describe('buildDecodeTables', () => {
  it('builds the root table of a short code, EOF columns carrying the value before them', () => {
    // Codes (see huffman-build.test.ts): 13=0, 12=10, 11=110, EOF=1110, 10=1111.
    // Keys: 13@0, 12@128, 11@192, 10@240. EOF owns 224..239 and gets 11 carried forward.
    const luts = buildDecodeTables(buildHuffmanCode(hist({ 10: 1, 11: 1, 12: 2, 13: 4 })));
    assert.equal(luts.length, 2 * 256);
    assert.deepEqual(runs(luts, 0), [
      [13, 128],
      [12, 64],
      [11, 48],
      [10, 16],
    ]);
    const lengthRow = luts.subarray(256);
    assert.deepEqual([lengthRow[10], lengthRow[11], lengthRow[12], lengthRow[13]], [4, 3, 2, 1]);
    assert.equal(lengthRow.reduce((s, v) => s + v, 0), 10);
  });

  it('leaks the previous row\'s last value into EOF columns at the start of a row', () => {
    // Counts 2^(9-i) for exponents 100+i, i = 0..8. Each merge pairs the EOF-side node with the next
    // exponent, so 100=1, 101=01, ..., 107=00000001 (8 bits), 108=000000001 and EOF=000000000 (9 bits).
    // Row 0: 108's prefix 00000000 is key 0 -> pointer 255 (row 1); 107@1, 106@2, ..., 100@128.
    // Row 1 (prefix 00000000): 108 = key 128. EOF owns 0..127, which get row 0's last value, 100.
    const counts = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [100 + i, 2 ** (9 - i)]));
    const luts = buildDecodeTables(buildHuffmanCode(hist(counts)));
    assert.equal(luts.length, 3 * 256);
    assert.deepEqual(runs(luts, 0), [
      [255, 1],
      [107, 1],
      [106, 2],
      [105, 4],
      [104, 8],
      [103, 16],
      [102, 32],
      [101, 64],
      [100, 128],
    ]);
    assert.deepEqual(runs(luts, 1), [
      [100, 128], // leaked from row 0 (the reference's carry-forward)
      [108, 128],
    ]);
    assert.deepEqual(
      Array.from({ length: 9 }, (_, i) => luts[512 + 100 + i]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  it('writes 0 where the reference has nothing to carry (one distinct exponent)', () => {
    // Codes: EOF=0, 127=1. Row 0 has no key at column 0; the reference compressor crashes here.
    const luts = buildDecodeTables(buildHuffmanCode(hist({ 127: 5000 })));
    assert.equal(UNSET_LUT_FILL, 0);
    assert.deepEqual(runs(luts, 0), [
      [0, 128],
      [127, 128],
    ]);
    assert.equal(luts[256 + 127], 1);
  });

  it('orders sub-tables by prefix length, then prefix value', () => {
    // A geometric histogram with a long tail: several levels of sub-tables.
    const counts: Record<number, number> = {};
    for (let i = 0; i < 30; i++) counts[90 + i] = Math.max(1, Math.floor(2 ** (24 - i)));
    const code = buildHuffmanCode(hist(counts));
    const luts = buildDecodeTables(code);
    const rows = luts.length / 256 - 1;
    // Recompute the expected prefixes independently, as strings.
    const prefixes = new Set<string>();
    for (let e = 0; e < 256; e++) {
      const len = code.lengths[e]!;
      if (len === 0) continue;
      const bits = code.codes[e]!.toString(2).padStart(len, '0');
      const level = Math.floor((len - 1) / 8);
      if (level > 0) prefixes.add(bits.slice(0, 8 * level));
    }
    const ordered = ['', ...[...prefixes].sort((a, b) => a.length - b.length || (a < b ? -1 : 1))];
    assert.equal(rows, ordered.length);
    // Every pointer in row r at column c leads to the row of prefix(r) + c as 8 bits, when a code has it.
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < 256; c++) {
        const v = luts[256 * r + c]!;
        if (v < 240) continue;
        const target = ordered.indexOf(ordered[r]! + c.toString(2).padStart(8, '0'));
        if (target !== -1) assert.equal(256 - v, target, `row ${r} column ${c}`);
      }
    }
  });

  it('rejects codes that need more than 16 sub-tables', () => {
    // One dominant exponent and 239 of similar frequency: most codes are 9 bits long and their 8-bit
    // prefixes need 47 sub-tables (the reference would write pointers below 240, i.e. a broken file).
    const counts: Record<number, number> = { 0: 200000 };
    for (let e = 1; e < 240; e++) counts[e] = 1000 + ((e * 7919) % 997);
    assert.throws(
      () => buildDecodeTables(buildHuffmanCode(hist(counts))),
      (e: unknown) => e instanceof Df11Error && e.code === 'too-many-lut-rows',
    );
  });

  it('decodes every real code through the tables (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.array(fc.integer({ min: 1, max: 2 ** 30 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (offset, counts, skew) => {
          const h = new Array<number>(256).fill(0);
          counts.forEach((c, i) => (h[offset + i] = skew ? Math.max(1, c >>> (i % 31)) : c));
          const code = buildHuffmanCode(h);
          let luts: Uint8Array;
          try {
            luts = buildDecodeTables(code);
          } catch (e) {
            if (e instanceof Df11Error && e.code === 'too-many-lut-rows') return;
            throw e;
          }
          const lenRow = luts.length - 256;
          for (let e = 0; e < 256; e++) {
            const len = code.lengths[e]!;
            if (len === 0) continue;
            // The code left-aligned in 32 bits, the rest of the window random-looking.
            const x = ((code.codes[e]! * 2 ** (32 - len)) >>> 0) | ((0x5a5a5a5a >>> len) & (len === 32 ? 0 : 2 ** (32 - len) - 1));
            let v = luts[x >>> 24]!;
            for (let shift = 16; v >= 240; shift -= 8) {
              assert.ok(shift >= 0);
              v = luts[(256 - v) * 256 + ((x >>> shift) & 0xff)]!;
            }
            assert.equal(v, e);
            assert.equal(luts[lenRow + v], len);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
