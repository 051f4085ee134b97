// The serial decoder is the oracle: exact on valid units, and on corrupt ones it throws a specific
// Df11Error after bounded work, never writing outside its output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { decodeUnit, decodeUnitInto } from '../../src/codec/decode-serial.js';
import { encodeUnit } from '../../src/codec/encode.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { bf16FromExponents } from './helpers.js';

const isCode = (code: string, pattern?: RegExp) => (e: unknown) => e instanceof Df11Error && e.code === code && (!pattern || pattern.test(e.message));

/** A unit whose code has a sub-table: exponents 100+i with counts 2^(12-i), so 108..112 need 9+ bits. */
function deepUnit(): { bf16: Uint16Array; unit: Df11Unit } {
  const exps: number[] = [];
  for (let i = 0; i < 13; i++) for (let j = 0; j < 2 ** (12 - i); j++) exps.push(100 + i);
  // Interleave deterministically so that long codes appear throughout the stream.
  const order = exps.map((e, i) => [((i * 2654435761) >>> 0) % 1000003, e] as const).sort((a, b) => a[0] - b[0]);
  const bf16 = bf16FromExponents(order.map(([, e]) => e));
  return { bf16, unit: encodeUnit(bf16) };
}

function withLuts(unit: Df11Unit, edit: (luts: Uint8Array) => void): Df11Unit {
  const luts = unit.luts.slice();
  edit(luts);
  return { ...unit, luts };
}

/** Decodes into a view of a larger buffer and checks the canary words around it survive. */
function decodeWithCanary(unit: Df11Unit): unknown {
  const n = unit.signMantissa.length;
  const backing = new Uint16Array(n + 16).fill(0xdead);
  const out = backing.subarray(8, 8 + n);
  let error: unknown;
  try {
    decodeUnitInto(unit, out);
  } catch (e) {
    error = e;
  }
  for (let i = 0; i < 8; i++) assert.equal(backing[i], 0xdead, 'canary before the output');
  for (let i = n + 8; i < n + 16; i++) assert.equal(backing[i], 0xdead, 'canary after the output');
  return error;
}

describe('decodeUnit', () => {
  it('decodes a unit with sub-tables exactly', () => {
    const { bf16, unit } = deepUnit();
    assert.ok(unit.luts.length / 256 >= 3, 'the test unit needs sub-tables');
    assert.deepEqual(decodeUnit(unit), bf16);
    assert.equal(decodeWithCanary(unit), undefined);
  });

  it('ignores gaps and output_positions (it needs only the stream)', () => {
    const { bf16, unit } = deepUnit();
    assert.deepEqual(decodeUnit({ ...unit, gaps: new Uint8Array(0), outputPositions: new Uint8Array(0) }), bf16);
  });

  it('rejects an output of the wrong length', () => {
    const { unit } = deepUnit();
    assert.throws(() => decodeUnitInto(unit, new Uint16Array(unit.signMantissa.length + 1)), RangeError);
  });
});

describe('decodeUnit on corrupt input', () => {
  it('stops on a zero-length symbol (a root entry changed to an exponent without a code)', () => {
    const { unit } = deepUnit();
    const bad = withLuts(unit, (l) => l.fill(7, 0, 256)); // exponent 7 has length 0
    assert.throws(() => decodeUnit(bad), isCode('corrupt-zero-length', /exponent 7 has code length 0/));
    assert.ok(decodeWithCanary(bad) instanceof Df11Error);
  });

  it('stops on a zero-length symbol reached through a sub-table', () => {
    const { unit } = deepUnit();
    const rows = unit.luts.length / 256 - 1;
    const bad = withLuts(unit, (l) => l.fill(3, 256, 256 * rows));
    assert.throws(() => decodeUnit(bad), isCode('corrupt-zero-length'));
  });

  it('stops at a 5th lookup level', () => {
    const { unit } = deepUnit();
    // Every entry of rows 0 and 1 points to row 1: the chain never ends.
    const bad = withLuts(unit, (l) => l.fill(255, 0, 512));
    assert.throws(() => decodeUnit(bad), isCode('corrupt-lut-chain', /5th lookup level/));
    assert.ok(decodeWithCanary(bad) instanceof Df11Error);
  });

  it('detects a truncated stream', () => {
    const { unit } = deepUnit();
    const bad = { ...unit, encodedExponent: unit.encodedExponent.subarray(0, unit.encodedExponent.length - 1) };
    assert.throws(() => decodeUnit(bad), isCode('stream-length-mismatch'));
    assert.ok(decodeWithCanary(bad) instanceof Df11Error);
  });

  it('detects a stream with extra bytes', () => {
    const { unit } = deepUnit();
    const longer = new Uint8Array(unit.encodedExponent.length + 1);
    longer.set(unit.encodedExponent);
    assert.throws(() => decodeUnit({ ...unit, encodedExponent: longer }), isCode('stream-length-mismatch'));
  });

  it('detects a stream cut to a single byte, and an empty one', () => {
    const { unit } = deepUnit();
    assert.throws(() => decodeUnit({ ...unit, encodedExponent: unit.encodedExponent.subarray(0, 1) }), isCode('stream-length-mismatch'));
    assert.throws(() => decodeUnit({ ...unit, encodedExponent: new Uint8Array(0) }), isCode('unit-invalid'));
  });

  it('rejects structurally invalid luts before decoding', () => {
    const { unit } = deepUnit();
    const rows = unit.luts.length / 256;
    // A pointer to the length row.
    assert.throws(() => decodeUnit(withLuts(unit, (l) => (l[0] = 256 - (rows - 1)))), isCode('unit-invalid', /points to row/));
    // A length above 32.
    assert.throws(() => decodeUnit(withLuts(unit, (l) => (l[(rows - 1) * 256 + 100] = 33))), isCode('unit-invalid', /length 33/));
    // Not whole rows.
    assert.throws(() => decodeUnit({ ...unit, luts: unit.luts.subarray(1) }), isCode('unit-invalid'));
  });

  it('never hangs or overruns on random corruption of the stream or the tables', () => {
    const { bf16, unit } = deepUnit();
    let seed = 99;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let t = 0; t < 200; t++) {
      const enc = unit.encodedExponent.slice();
      const luts = unit.luts.slice();
      for (let f = 0; f < 1 + (t % 4); f++) {
        if (next() & 1) {
          const at = next() % enc.length;
          enc[at] = enc[at]! ^ (1 << (next() % 8));
        } else {
          const at = next() % luts.length;
          luts[at] = luts[at]! ^ (1 << (next() % 8));
        }
      }
      const error = decodeWithCanary({ ...unit, encodedExponent: enc, luts });
      if (error === undefined) continue; // a flip that still decodes (e.g. in an unused entry)
      assert.ok(error instanceof Df11Error, String(error));
      assert.ok(['corrupt-zero-length', 'corrupt-lut-chain', 'stream-length-mismatch', 'unit-invalid'].includes(error.code), error.code);
    }
    assert.deepEqual(decodeUnit(unit), bf16);
  });

  it('names the file and tensor in its errors', () => {
    const { unit } = deepUnit();
    const bad = { ...unit, encodedExponent: unit.encodedExponent.subarray(0, unit.encodedExponent.length - 1) };
    assert.throws(
      () => decodeUnit(bad, { file: 'model_layers_0.safetensors', tensor: 'model.layers.0' }),
      (e: unknown) => e instanceof Df11Error && e.file === 'model_layers_0.safetensors' && e.tensor === 'model.layers.0',
    );
  });
});
