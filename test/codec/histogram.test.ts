// Exponent histograms must count every element once, whatever the array's alignment and length.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exponentHistogram } from '../../src/codec/histogram.js';

describe('exponentHistogram', () => {
  it('counts exponents regardless of sign, alignment and length (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 }), fc.integer({ min: 0, max: 3 }), (words, offset) => {
        const backing = new Uint16Array(words.length + 4);
        backing.set(words, offset);
        const view = backing.subarray(offset, offset + words.length);
        const expected = new Array<number>(256).fill(0);
        for (const w of words) expected[(w >>> 7) & 0xff]!++;
        assert.deepEqual([...exponentHistogram(view)], expected);
      }),
    );
  });

  it('counts large inputs (pair tables) exactly, at any alignment', () => {
    const n = (1 << 20) + 5;
    const backing = new Uint16Array(n + 1);
    let s = 5;
    for (let i = 0; i < backing.length; i++) backing[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16;
    for (const offset of [0, 1]) {
      const view = backing.subarray(offset, offset + n);
      const expected = new Float64Array(256);
      for (const w of view) expected[(w >>> 7) & 0xff]!++;
      assert.deepEqual(exponentHistogram(view), expected);
    }
  });

  it('adds into a given histogram', () => {
    const into = new Float64Array(256);
    into[127] = 2 ** 40;
    exponentHistogram(Uint16Array.from([0x3f80, 0xbf80, 0x0000]), into);
    assert.equal(into[127], 2 ** 40 + 2);
    assert.equal(into[0], 1);
    assert.throws(() => exponentHistogram(new Uint16Array(1), new Float64Array(3)), RangeError);
  });
});
