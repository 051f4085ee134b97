// Byte identity with the reference compressor on synthetic units that stress the encoder: deep codes,
// the 32-bit length limiter (with and without a tie), EOF starting a new chunk, the short
// output_positions case, a very dense chunk. Where the reference fails (it crashes on units whose EOF
// code is all zeros, and writes undecodable output for exponent 255), df11 behaves as documented instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeUnit } from '../../src/codec/encode.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { Df11Error } from '../../src/errors.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import type { LimiterTie } from '../../src/codec/huffman-build.js';
import { fixturePath } from '../helpers/paths.js';
import { referenceSyntheticInput, type SyntheticParams } from '../helpers/reference-synthetic.js';

interface Output { dtype: string; shape: number[]; bytes: number; sha256: string }
interface RefRun { check_correctness: boolean; outcome: string; outputs?: Record<string, Output> }
interface FixtureUnit { params: SyntheticParams; n: number; input_sha256: string; reference: RefRun[] }

const fixture = JSON.parse(readFileSync(fixturePath('reference', 'synthetic.json'), 'utf8')) as { units: FixtureUnit[] };
const sha256 = (b: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');

const FIELDS: [string, keyof Df11Unit][] = [
  ['luts', 'luts'],
  ['encoded_exponent', 'encodedExponent'],
  ['sign_mantissa', 'signMantissa'],
  ['output_positions', 'outputPositions'],
  ['gaps', 'gaps'],
  ['split_positions', 'splitPositions'],
];

/** Units the reference cannot encode correctly, and what df11 does instead. */
const DIVERGENT: Record<string, (input: Uint16Array) => void> = {
  // The EOF code is all zeros and at most 8 bits: the reference's table builder crashes
  // (UnboundLocalError). df11 writes 0 into the unowned columns and round-trips exactly.
  'one-exponent': roundTrips,
  'one-element': roundTrips,
  'eof-all-zeros': roundTrips,
  // Exponent 255 collides with the pointer range: the reference writes a stream its kernel cannot
  // decode (its GPU check hangs). df11 refuses the unit.
  'exponent-255': (input) => assert.throws(() => encodeUnit(input), (e: unknown) => e instanceof Df11Error && e.code === 'exponent-unencodable'),
};

test('limiter tie: the default policy reports the tie it resolved, the strict policy refuses it', () => {
  const u = fixture.units.find((x) => x.params.name === 'limiter-tie')!;
  const input = referenceSyntheticInput(u.params);
  const seen: LimiterTie[] = [];
  encodeUnit(input, undefined, { onLimiterTies: (t) => seen.push(...t) });
  assert.deepEqual(seen, [{ k: 3, boundaryFrequency: 2, tied: 3, slots: 1 }]);
  assert.throws(() => encodeUnit(input, undefined, { ties: 'strict' }), (e: unknown) => e instanceof Df11Error && e.code === 'ambiguous-limiter-tie');
});

function roundTrips(input: Uint16Array): void {
  assert.deepEqual(decodeUnit(encodeUnit(input)), input);
}

for (const u of fixture.units) {
  test(`synthetic unit ${u.params.name}: same bytes as the reference compressor`, () => {
    const input = referenceSyntheticInput(u.params);
    assert.equal(input.length, u.n);
    assert.equal(sha256(input), u.input_sha256, 'regenerated input differs from the reference run');
    const divergent = DIVERGENT[u.params.name];
    if (divergent) return divergent(input);
    const ref = u.reference.find((r) => r.outcome === 'ok' && r.outputs);
    assert.ok(ref, 'the fixture has reference output for this unit');
    const unit = encodeUnit(input);
    for (const [field, key] of FIELDS) {
      const bytes = unit[key];
      assert.equal(bytes.byteLength, ref.outputs![field]!.bytes, `${field} length`);
      assert.equal(sha256(bytes), ref.outputs![field]!.sha256, `${field} bytes`);
    }
    assert.deepEqual(decodeUnit(unit), input);
  });
}
