// The decoder conformance suite: one set of node:test tests that every DF11 decoder (CPU serial, CPU
// chunked, CPU parallel, WebGPU, fused...) registers with its own decode function. It checks
//  - bit-exact output, against the original BF16 input and the serial oracle (decode-serial.ts), on the
//    demo model's units and on synthetic units reaching the format's corners (units.ts);
//  - the empty unit: every decoder throws Df11Error 'unit-invalid' (the encoder refuses it too);
//  - corrupt units, with the expectations of corrupt.ts (the same contract for every decoder);
//  - for decoders with a decodeInto: nothing outside the output is written (canaries on both sides).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { encodeUnit } from '../../src/codec/encode.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { Df11Error } from '../../src/errors.js';
import { corruptionsOf, type Corruption } from './corrupt.js';
import { demoUnits, syntheticUnits, type ConformanceUnit } from './units.js';

export type DecodeFn = (unit: Df11Unit) => Promise<Uint16Array> | Uint16Array;
export type DecodeIntoFn = (unit: Df11Unit, out: Uint16Array) => Promise<void> | void;

export interface ConformanceOptions {
  /** Decodes into a caller's buffer of exactly N elements; enables the canary checks. */
  decodeInto?: DecodeIntoFn;
  /** The decoder reads gaps and output_positions (default true): it must reject ones that disagree with the stream. */
  usesIndex?: boolean;
  /** Per-test limit (default 30 s): a decoder that hangs fails instead of stalling the run. */
  timeoutMs?: number;
}

/** Elements of canary on each side of a decodeInto output. */
const CANARY_ELEMENTS = 40;
const CANARY = 0xa5c3;
/** Synthetic and demo units whose corruptions are tested (by name prefix). */
const CORRUPTION_BASES = ['normal(0,0.02) 200k', 'skewed: 32-bit', 'wide code', 'rare short case', 'EOF alone', 'one element', 'demo model.layers.0'];

type Outcome = { ok: true; data: Uint16Array } | { ok: false; error: Df11Error };

async function outcomeOf(run: () => Promise<Uint16Array> | Uint16Array): Promise<Outcome> {
  try {
    return { ok: true, data: await run() };
  } catch (e) {
    if (e instanceof Df11Error) return { ok: false, error: e };
    throw e; // any other exception fails the test as it is
  }
}

/** Byte-for-byte equality with a readable first difference. */
export function assertSameBits(actual: Uint16Array, expected: Uint16Array, what: string): void {
  assert.ok(actual instanceof Uint16Array, `${what}: result is not a Uint16Array`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: element ${i} is 0x${actual[i]!.toString(16)}, expected 0x${expected[i]!.toString(16)}`);
    }
  }
}

/** S, the bits of all codes, from the original exponents and the unit's length row. */
function streamBitsOf(u: ConformanceUnit): number {
  const lenRow = u.unit.luts.length - 256;
  let s = 0;
  for (let i = 0; i < u.original.length; i++) s += u.unit.luts[lenRow + ((u.original[i]! >>> 7) & 0xff)]!;
  return s;
}

/** Runs decodeInto on a view with canaries on both sides; asserts they survive. */
async function decodeWithCanary(decodeInto: DecodeIntoFn, unit: Df11Unit, what: string): Promise<Outcome> {
  const n = unit.signMantissa.length;
  const buf = new Uint16Array(new SharedArrayBuffer((n + 2 * CANARY_ELEMENTS) * Uint16Array.BYTES_PER_ELEMENT)).fill(CANARY);
  const view = buf.subarray(CANARY_ELEMENTS, CANARY_ELEMENTS + n);
  const result = await outcomeOf(async () => {
    await decodeInto(unit, view);
    return view;
  });
  for (let i = 0; i < CANARY_ELEMENTS; i++) {
    assert.equal(buf[i], CANARY, `${what}: decodeInto wrote ${CANARY_ELEMENTS - i} elements before its output`);
    assert.equal(buf[CANARY_ELEMENTS + n + i], CANARY, `${what}: decodeInto wrote element ${n + i}, past its output`);
  }
  return result;
}

function checkCorruption(c: Corruption, got: Outcome, oracle: Outcome, original: Uint16Array, usesIndex: boolean, what: string): void {
  const must = (cond: boolean, msg: string): void => assert.ok(cond, `${what}: ${msg}`);
  switch (c.expect) {
    case 'throw':
      must(!oracle.ok, 'the oracle was expected to throw (corruption generator is wrong)');
      must(!got.ok, 'must throw a Df11Error');
      break;
    case 'index':
      must(oracle.ok, 'the serial oracle ignores the index and must decode');
      if (oracle.ok) assertSameBits(oracle.data, original, `${what}: oracle`);
      if (usesIndex) must(!got.ok, 'index disagrees with the stream: must throw');
      else if (got.ok) assertSameBits(got.data, original, what);
      else assert.fail(`${what}: must decode (it does not use the index), threw ${got.error.message}`);
      break;
    case 'inert':
      must(got.ok, `must decode: only bits past the last code changed; threw ${got.ok ? '' : got.error.message}`);
      if (got.ok) assertSameBits(got.data, original, what);
      break;
    case 'oracle':
      if (!oracle.ok) must(!got.ok, `the oracle threw (${oracle.error.code}) but the decoder returned`);
      else if (got.ok) assertSameBits(got.data, oracle.data, `${what} (vs oracle)`);
      break;
  }
}

/**
 * Registers the conformance tests for one decoder. `decode` returns N BF16 bit patterns or throws
 * (synchronously or as a rejection).
 */
export function runDecoderConformance(name: string, decode: DecodeFn, options: ConformanceOptions = {}): void {
  const { decodeInto, usesIndex = true, timeoutMs = 30_000 } = options;
  const opts = { timeout: timeoutMs };

  describe(`${name}: decoder conformance`, () => {
    const decodesExactly = async (u: ConformanceUnit): Promise<void> => {
      u.check?.(u);
      const oracle = decodeUnit(u.unit);
      assertSameBits(oracle, u.original, `${u.name}: serial oracle vs original`);
      const got = await decode(u.unit);
      assertSameBits(got, u.original, `${name} on ${u.name}`);
      if (decodeInto) {
        const r = await decodeWithCanary(decodeInto, u.unit, `${name} decodeInto on ${u.name}`);
        assert.ok(r.ok, `${u.name}: decodeInto threw ${r.ok ? '' : r.error.message}`);
        if (r.ok) assertSameBits(r.data, u.original, `${name} decodeInto on ${u.name}`);
      }
    };

    describe('demo model units', () => {
      for (const u of demoUnits()) test(`${u.name} decodes bit-exactly`, opts, () => decodesExactly(u));
    });

    describe('synthetic units', () => {
      for (const u of syntheticUnits()) test(`${u.name} decodes bit-exactly`, opts, () => decodesExactly(u));
    });

    test('empty unit (N = 0): Df11Error unit-invalid, as from the encoder', opts, async () => {
      assert.throws(() => encodeUnit(new Uint16Array(0)), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid');
      const valid = syntheticUnits()[0]!.unit;
      const empty: Df11Unit = {
        luts: valid.luts,
        encodedExponent: new Uint8Array(0),
        signMantissa: new Uint8Array(0),
        outputPositions: new Uint8Array(4),
        gaps: new Uint8Array(0),
        splitPositions: new BigInt64Array(0),
      };
      const got = await outcomeOf(() => decode(empty));
      assert.ok(!got.ok && got.error.code === 'unit-invalid', `expected unit-invalid, got ${got.ok ? 'data' : got.error.code}`);
      if (decodeInto) {
        const r = await decodeWithCanary(decodeInto, empty, 'empty unit');
        assert.ok(!r.ok && r.error.code === 'unit-invalid');
      }
    });

    describe('corrupt units', () => {
      const bases = [...demoUnits(), ...syntheticUnits()].filter((u) => CORRUPTION_BASES.some((p) => u.name.startsWith(p)));
      for (const base of bases) {
        test(`corruptions of ${base.name}`, opts, async () => {
          const corruptions = corruptionsOf(base.unit, base.original, streamBitsOf(base));
          assert.ok(corruptions.length >= 15, 'corruption generator yields its cases');
          for (const c of corruptions) {
            const what = `${name} on ${base.name}, ${c.name}`;
            const oracle = await outcomeOf(() => decodeUnit(c.unit));
            const got = await outcomeOf(() => decode(c.unit));
            checkCorruption(c, got, oracle, base.original, usesIndex, what);
            if (decodeInto) {
              const viaInto = await decodeWithCanary(decodeInto, c.unit, `${what} (decodeInto)`);
              checkCorruption(c, viaInto, oracle, base.original, usesIndex, `${what} (decodeInto)`);
            }
          }
        });
      }
    });
  });
}
