// The WebAssembly encoder kernels (histogram and stream loop, src/codec/wasm/encode-wasm.ts) must give
// the TypeScript encoder's bytes for all six tensors: on random inputs (fast-check), at tile and
// stream-ending boundaries, on every unit of the demo model, and on the reference compressor's
// synthetic units (whose digests the fixture holds).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeUnit } from '../../../src/codec/decode-serial.js';
import { encodeUnit, encodeUnitPieces, type EncodeOptions } from '../../../src/codec/encode.js';
import { exponentHistogram } from '../../../src/codec/histogram.js';
import type { Df11Unit } from '../../../src/codec/unit.js';
import { Df11Error } from '../../../src/errors.js';
import { codecWasm } from '../../../src/codec/wasm/codec-wasm.js';
import { exponentHistogramWasm } from '../../../src/codec/wasm/encode-wasm.js';
import { fixturePath } from '../../helpers/paths.js';
import { normalBf16 } from '../../helpers/prng.js';
import { referenceSyntheticInput, type SyntheticParams } from '../../helpers/reference-synthetic.js';
import { bf16FromExponents, findStream, LLAMA_LAYER_ATTRS, readDemoBf16 } from '../helpers.js';

const WASM: EncodeOptions = { kernel: 'wasm' };
const JS: EncodeOptions = { kernel: 'js' };
const FIELDS = ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps', 'splitPositions'] as const;
const TILE = codecWasm()!.layout.ENCODE_TILE_ELEMENTS;

function assertSameUnit(a: Df11Unit, b: Df11Unit, what: string): void {
  for (const f of FIELDS) {
    const x = a[f];
    const y = b[f];
    assert.equal(x.length, y.length, `${what}: ${f} length`);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: ${f} differs at ${i}`);
  }
}

/**
 * Both kernels on the same pieces: the same unit, which decodes back to the input, or the same
 * Df11Error (a code that needs more LUT rows than DF11 allows; exponents >= 240).
 */
function checkKernels(pieces: readonly Uint16Array[], what: string): Df11Unit | undefined {
  let js: Df11Unit;
  try {
    js = encodeUnitPieces(pieces, JS);
  } catch (e) {
    assert.ok(e instanceof Df11Error, `${what}: ${String(e)}`);
    assert.throws(() => encodeUnitPieces(pieces, WASM), (w: unknown) => w instanceof Df11Error && w.code === e.code, what);
    return undefined;
  }
  const wasm = encodeUnitPieces(pieces, WASM);
  assertSameUnit(wasm, js, what);
  const flat = new Uint16Array(pieces.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of pieces) flat.set(p, (o += p.length) - p.length);
  assert.deepEqual(decodeUnit(wasm), flat, `${what}: round trip`);
  return wasm;
}

describe('WebAssembly encoder = TypeScript encoder', () => {
  /** Exponents skewed around a centre (like trained weights) or uniform over a range up to 239. */
  const exponents = fc.oneof(
    fc
      .record({ centre: fc.integer({ min: 20, max: 220 }), spread: fc.double({ min: 0.3, max: 6, noNaN: true }), n: fc.integer({ min: 1, max: 40_000 }), seed: fc.integer() })
      .map(({ centre, spread, n, seed }) => {
        let s = seed >>> 0;
        return Uint8Array.from({ length: n }, () => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const u = (s >>> 8) / 2 ** 24 - 0.5;
          return Math.max(0, Math.min(239, Math.round(centre + spread * Math.tan(Math.PI * 0.98 * u))));
        });
      }),
    fc
      .record({ lo: fc.integer({ min: 0, max: 239 }), width: fc.integer({ min: 1, max: 240 }), n: fc.integer({ min: 1, max: 40_000 }), seed: fc.integer() })
      .map(({ lo, width, n, seed }) => {
        let s = seed >>> 0;
        return Uint8Array.from({ length: n }, () => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return Math.min(239, lo + ((s >>> 8) % width));
        });
      }),
  );

  it('on random inputs split into random pieces (property)', () => {
    fc.assert(
      fc.property(exponents, fc.integer(), fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 4 }), fc.boolean(), (exps, seed, cuts, unaligned) => {
        // An unaligned view of the input when asked (the kernels copy any alignment).
        const backing = bf16FromExponents(Uint8Array.from([0, ...exps]), seed);
        const flat = unaligned ? backing.subarray(1) : backing.slice(1);
        const pieces: Uint16Array[] = [];
        let o = 0;
        for (const c of cuts) if (o + c < flat.length) pieces.push(flat.subarray(o, (o += c)));
        pieces.push(flat.subarray(o));
        checkKernels(pieces, `${flat.length} weights in ${pieces.length} pieces`);
      }),
      { numRuns: 40 },
    );
  });

  it('at tile boundaries', () => {
    for (const n of [1, 7, 8, 9, TILE - 1, TILE, TILE + 1, 2 * TILE + 7, 3 * TILE]) checkKernels([normalBf16(n, n)], `${n} weights`);
    // Pieces ending one short of, on, and one past a tile.
    const w = normalBf16(3 * TILE, 7);
    checkKernels([w.subarray(0, TILE - 1), w.subarray(TILE - 1, 2 * TILE), w.subarray(2 * TILE, 3 * TILE)], 'pieces around tiles');
  });

  it('at stream endings: byte, window and chunk boundaries, EOF in a new chunk, the short case', () => {
    const cases: [string, (s: number, c: { lengths: Uint8Array }) => boolean, number?][] = [
      ['byte boundary', (s) => s % 8 === 0 && s % 64 !== 0],
      ['window boundary', (s) => s % 64 === 0 && s % 32768 !== 0 && s > 32768],
      ['chunk boundary', (s) => s === 2 * 32768],
      ['EOF starts a chunk', (s, c) => s % 8 !== 0 && s > 32768 && s % 32768 < c.lengths[122]!, 122],
      ['short output_positions', (s, c) => s % 8 === 0 && s > 32768 && s % 32768 !== 0 && s % 32768 < c.lengths[122]!, 122],
    ];
    for (const [name, want, last] of cases) {
      const found = findStream(want, last);
      checkKernels([bf16FromExponents(found.exponents, found.s)], name);
    }
    // One exponent (1-bit codes): streams of exactly one chunk, and around it.
    for (const n of [32767, 32768, 32769]) checkKernels([bf16FromExponents(new Uint8Array(n).fill(120), n)], `one exponent x ${n}`);
  });

  it('on every unit of the demo model', () => {
    const tensors = readDemoBf16();
    let units = 0;
    for (let layer = 0; tensors.has(`model.layers.${layer}.self_attn.q_proj.weight`); layer++, units++) {
      checkKernels(LLAMA_LAYER_ATTRS.map((a) => tensors.get(`model.layers.${layer}.${a}.weight`)!), `model.layers.${layer}`);
    }
    checkKernels([tensors.get('model.embed_tokens.weight')!], 'model.embed_tokens');
    assert.ok(units >= 1);
  });

  it('on the reference compressor\'s synthetic units (same digests as the reference)', () => {
    interface Output { bytes: number; sha256: string }
    interface FixtureUnit { params: SyntheticParams; reference: { outcome: string; outputs?: Record<string, Output> }[] }
    const fixture = JSON.parse(readFileSync(fixturePath('reference', 'synthetic.json'), 'utf8')) as { units: FixtureUnit[] };
    const names: Record<(typeof FIELDS)[number], string> = {
      luts: 'luts', encodedExponent: 'encoded_exponent', signMantissa: 'sign_mantissa', outputPositions: 'output_positions', gaps: 'gaps', splitPositions: 'split_positions',
    };
    let compared = 0;
    for (const u of fixture.units) {
      const input = referenceSyntheticInput(u.params);
      let unit: Df11Unit;
      try {
        unit = encodeUnit(input, undefined, WASM);
      } catch (e) {
        assert.ok(e instanceof Df11Error, `${u.params.name}: ${String(e)}`);
        assert.throws(() => encodeUnit(input, undefined, JS), (j: unknown) => j instanceof Df11Error && j.code === e.code, `${u.params.name}: only the WebAssembly encoder refused it`);
        continue;
      }
      assertSameUnit(unit, encodeUnit(input, undefined, JS), u.params.name);
      const ref = u.reference.find((r) => r.outcome === 'ok' && r.outputs);
      if (!ref || ['one-exponent', 'one-element', 'eof-all-zeros'].includes(u.params.name)) continue;
      for (const f of FIELDS) {
        const bytes = unit[f];
        const digest = createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
        assert.equal(digest, ref.outputs![names[f]]!.sha256, `${u.params.name}: ${names[f]}`);
      }
      compared++;
    }
    assert.ok(compared >= 5, `only ${compared} synthetic units compared with the reference`);
  });
});

describe('WebAssembly histogram = TypeScript histogram', () => {
  it('below and above the pair-counting size, on unaligned pieces', () => {
    const wasm = codecWasm()!;
    for (const n of [1, 9, 1000, (1 << 20) - 3, (1 << 20) + 5]) {
      const backing = normalBf16(n + 1, n, 0.5);
      const pieces = [backing.subarray(1, 1 + (n >> 1)), backing.subarray(1 + (n >> 1))];
      const got = new Float64Array(256);
      exponentHistogramWasm(wasm, pieces, got);
      assert.deepEqual(got, exponentHistogram(backing.subarray(1)), `${n} weights`);
    }
  });
});
