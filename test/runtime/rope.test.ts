// Rotary tables: default frequencies in float32, Llama 3 scaling regions, and the cos/sin layout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ropeInverseFrequencies, ropeTable } from '../../src/runtime/rope.js';

describe('rope', () => {
  it('computes theta^(-2i/d) in float32', () => {
    const inv = ropeInverseFrequencies(8, 10000, { type: 'none' });
    assert.deepEqual(Array.from(inv), [1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  it('scales Llama 3 frequencies by region: high kept, low divided by the factor, medium blended', () => {
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const base = ropeInverseFrequencies(128, 500000, { type: 'none' });
    const scaled = ropeInverseFrequencies(128, 500000, scaling);
    let kept = 0;
    let divided = 0;
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / base[i]!;
      if (wavelen < 8192 / 4) {
        assert.equal(scaled[i], base[i]);
        kept++;
      } else if (wavelen > 8192) {
        assert.equal(scaled[i], Math.fround(base[i]! / 8));
        divided++;
      } else {
        assert.ok(scaled[i]! < base[i]! && scaled[i]! > base[i]! / 8, `blend at ${i}`);
        blended++;
      }
    }
    assert.ok(kept > 0 && divided > 0 && blended > 0);
    const linear = ropeInverseFrequencies(128, 500000, { type: 'linear', factor: 2 });
    assert.equal(linear[5], Math.fround(base[5]! / 2));
  });

  it('lays out (cos, sin) per position and frequency', () => {
    const inv = Float32Array.of(1, 0.5);
    const t = ropeTable(inv, 3);
    assert.equal(t.length, 3 * 2 * 2);
    assert.equal(t[0], 1);
    assert.equal(t[1], 0);
    assert.equal(t[2 * (2 * 2 + 1)], Math.fround(Math.cos(1)));
    assert.equal(t[2 * (2 * 2 + 1) + 1], Math.fround(Math.sin(1)));
  });
});
