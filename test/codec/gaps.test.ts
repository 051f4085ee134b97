// gaps packing (df11-format.md §6) and output_positions storage (§7).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { gapAt, packGaps, unpackGaps } from '../../src/codec/gaps.js';
import { readOutputPositions, writeOutputPositions } from '../../src/codec/output-positions.js';

describe('gaps', () => {
  it('packs 5-bit entries MSB-first', () => {
    // 1, 2, 3, ..., 8 -> 00001 00010 00011 00100 00101 00110 00111 01000
    const packed = packGaps(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual([...packed], [0b00001000, 0b10000110, 0b01000010, 0b10011000, 0b11101000]);
  });

  it('round-trips through gapAt and unpackGaps, reading nothing past the end', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 1, maxLength: 64 }), (chunk) => {
        const values = Uint8Array.from({ length: 8 * chunk.length }, (_, i) => chunk[i % chunk.length]!);
        const packed = packGaps(values);
        assert.equal(packed.length, (values.length * 5) / 8);
        assert.deepEqual(unpackGaps(packed), values);
        assert.equal(gapAt(packed, values.length - 1), values[values.length - 1]);
      }),
    );
  });

  it('rejects a count that is not a multiple of 8', () => {
    assert.throws(() => packGaps(new Uint8Array(7)), RangeError);
  });
});

describe('output positions', () => {
  it('stores little-endian uint32 and reads K or K+1 entries', () => {
    const bytes = writeOutputPositions([0, 258, 70000]);
    assert.deepEqual([...bytes], [0, 0, 0, 0, 2, 1, 0, 0, 0x70, 0x11, 1, 0]);
    assert.deepEqual([...readOutputPositions(bytes, 2, 70000)], [0, 258, 70000]);
    // Short case: K stored entries, op[K] = N.
    assert.deepEqual([...readOutputPositions(bytes, 3, 80000)], [0, 258, 70000, 80000]);
    assert.throws(() => readOutputPositions(bytes, 5, 1), RangeError);
  });
});
