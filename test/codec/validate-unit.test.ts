// Structural validation (df11-format.md §10 items 2-8): one test per rule, each on an otherwise valid unit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { writeOutputPositions } from '../../src/codec/output-positions.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { validateLuts, validateUnit } from '../../src/codec/validate-unit.js';
import { bf16FromExponents } from './helpers.js';

/** A valid 3-chunk unit of 3 pieces with a sub-table. */
function validUnit(): Df11Unit {
  // Geometric exponents (each half as frequent as the previous): codes up to ~16 bits.
  const exps = Array.from({ length: 40000 }, (_, i) => 100 + Math.clz32((Math.imul(i + 1, 2654435761) ^ (i * 40503)) | 1));
  return encodeUnit(bf16FromExponents(exps), [10000, 20000, 10000]);
}

function rejects(unit: Df11Unit, pattern: RegExp): void {
  assert.throws(
    () => validateUnit(unit, { file: 'f.safetensors', tensor: 'model.layers.3' }),
    (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid' && pattern.test(e.message) && e.tensor === 'model.layers.3' && e.file === 'f.safetensors',
  );
}

describe('validateUnit', () => {
  it('accepts a valid unit and reports its geometry', () => {
    const unit = validUnit();
    const g = validateUnit(unit);
    assert.equal(g.elements, 40000);
    assert.equal(g.streamBytes, unit.encodedExponent.length);
    assert.equal(g.chunks, Math.ceil(unit.encodedExponent.length / 4096));
    assert.equal(g.decodeRows, unit.luts.length / 256 - 1);
    assert.ok(g.decodeRows >= 2);
    assert.equal(g.shortOutputPositions, false);
  });

  it('checks the luts shape: whole rows, 2..18 of them', () => {
    const unit = validUnit();
    rejects({ ...unit, luts: unit.luts.subarray(0, 300) }, /luts: 300 bytes/);
    rejects({ ...unit, luts: unit.luts.subarray(0, 256) }, /luts: 1 rows/);
    rejects({ ...unit, luts: new Uint8Array(19 * 256) }, /luts: 19 rows/);
  });

  it('checks pointer targets', () => {
    const unit = validUnit();
    const rows = unit.luts.length / 256;
    const luts = unit.luts.slice();
    luts[5] = 256 - (rows - 1); // the length row is not a decode row
    rejects({ ...unit, luts }, /row 0 column 5 points to row/);
    assert.throws(() => validateLuts(luts), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid');
  });

  it('checks the length row: 0..32, zero at 240..255, Kraft sum below 1', () => {
    const unit = validUnit();
    const lenRow = unit.luts.length - 256;
    const tooLong = unit.luts.slice();
    tooLong[lenRow + 120] = 40;
    rejects({ ...unit, luts: tooLong }, /exponent 120 has length 40/);
    const pointer = unit.luts.slice();
    pointer[lenRow + 245] = 3;
    rejects({ ...unit, luts: pointer }, /entry 245 is 3/);
    const full = unit.luts.slice();
    full.fill(0, lenRow);
    full[lenRow + 1] = 1;
    full[lenRow + 2] = 1;
    rejects({ ...unit, luts: full }, /Kraft sum 1 /);
  });

  it('checks N, B, and the gaps size', () => {
    const unit = validUnit();
    rejects({ ...unit, signMantissa: new Uint8Array(0) }, /sign_mantissa: 0 elements/);
    rejects({ ...unit, encodedExponent: new Uint8Array(0) }, /encoded_exponent: 0 bytes/);
    rejects({ ...unit, gaps: unit.gaps.subarray(1) }, /gaps: \d+ bytes; expected \d+ for \d+ chunks/);
  });

  it('checks output_positions: size, first 0, non-decreasing, last N', () => {
    const unit = validUnit();
    const k = Math.ceil(unit.encodedExponent.length / 4096);
    const op = new DataView(unit.outputPositions.buffer, unit.outputPositions.byteOffset);
    const values = Array.from({ length: k + 1 }, (_, i) => op.getUint32(4 * i, true));
    const with_ = (v: number[]) => ({ ...unit, outputPositions: writeOutputPositions(v) });
    rejects(with_([...values, 40000]), /output_positions: \d+ bytes/);
    rejects(with_([1, ...values.slice(1)]), /output_positions\[0\] is 1/);
    rejects(with_([0, values[2]!, values[1]!, ...values.slice(3)]), /output_positions\[2\] = \d+ is below/);
    rejects(with_([...values.slice(0, -1), 39999]), /ends with 39999/);
    rejects(with_([...values.slice(0, -1), 40001]), /exceeds N = 40000/);
    // K entries (the short case's layout) are accepted when the last is N.
    assert.equal(validateUnit(with_([...values.slice(0, -2), 40000])).shortOutputPositions, true);
  });

  it('checks split_positions: strictly increasing inside (0, N)', () => {
    const unit = validUnit();
    assert.deepEqual([...unit.splitPositions], [10000n, 30000n]);
    rejects({ ...unit, splitPositions: BigInt64Array.from([0n]) }, /split_positions\[0\] = 0 is not above zero/);
    rejects({ ...unit, splitPositions: BigInt64Array.from([5n, 5n]) }, /split_positions\[1\] = 5 is not above/);
    rejects({ ...unit, splitPositions: BigInt64Array.from([40000n]) }, /not below N = 40000/);
    rejects({ ...unit, splitPositions: BigInt64Array.from([-3n]) }, /split_positions\[0\] = -3/);
    assert.equal(validateUnit({ ...unit, splitPositions: new BigInt64Array(0) }).elements, 40000);
  });
});
