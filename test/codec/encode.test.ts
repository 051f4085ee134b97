// The encoder must produce the reference compressor's bytes (df11-format.md §5-7, §12) and decode back
// exactly. Checked against hashes of the reference's output on the demo model, against a bit-by-bit
// model of the reference loop, and by round trips through the serial decoder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Df11Error } from '../../src/errors.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { encodeUnit, encodeUnitPieces, encodeUnitPiecesWithCode } from '../../src/codec/encode.js';
import { packGaps } from '../../src/codec/gaps.js';
import { exponentHistogram } from '../../src/codec/histogram.js';
import { buildHuffmanCode } from '../../src/codec/huffman-build.js';
import { readOutputPositions } from '../../src/codec/output-positions.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { validateUnit } from '../../src/codec/validate-unit.js';
import { bf16FromExponents, concat, findStream, LLAMA_LAYER_ATTRS, modelEncode, readDemoBf16, sha256 } from './helpers.js';

/** Encodes, validates, compares with the bit-level model of the reference loop, and round-trips. */
function checkUnit(bf16: Uint16Array, unit: Df11Unit = encodeUnit(bf16)): Df11Unit {
  const geometry = validateUnit(unit);
  const exponents = Uint8Array.from(bf16, (w) => (w >>> 7) & 0xff);
  const model = modelEncode(exponents, buildHuffmanCode(exponentHistogram(bf16)));
  assert.deepEqual(unit.encodedExponent, model.encoded);
  assert.deepEqual(unit.gaps, packGaps(Uint8Array.from(model.gaps)));
  assert.deepEqual([...readOutputPositions(unit.outputPositions, geometry.chunks, bf16.length)].slice(0, model.op.length), model.op);
  assert.equal(unit.outputPositions.length, 4 * model.op.length);
  assert.deepEqual(decodeUnit(unit), bf16);
  return unit;
}

describe('encodeUnit on the demo model', () => {
  const tensors = readDemoBf16();
  // SHA-256 of the tensors the reference compressor (dfloat11_utils.py, dahuffman 0.4.2) writes for
  // these units, with the attrs concatenated in pattern-dict order.
  const reference: Record<string, { luts: string; enc: string; op: string; gaps: string }> = {
    'model.layers.0': {
      luts: 'feddfd6bcdde8f407514641b8b6522860b41ff7126a959737476d883a2181ee0',
      enc: '8e60c3f6b9a9b904647aa13b5e83f8fceab6fbb9e699c0e23ac57198ab37f443',
      op: 'b9c0f0d6690f3bc9e0d495d57de1919a698b9f267cdbecffa282e740a649e08c',
      gaps: 'c7a3af4b4feafc13e384f12ba71c1ec06d4674d9bdb99444f6936fe862451aa8',
    },
    'model.layers.1': {
      luts: '56e4761e92a2a5d06e4adfabb593c0f94b1ebc33c8e759c3eada5449b0bd5ae3',
      enc: '4a02a99efc3bb928a7e18e5217470fc339dc695c1e490c372fa1d7b409ca24df',
      op: 'ab4c0156767954f68d1234078f76300a4e214fd4e58ddc0b117cc87bada3848d',
      gaps: '93c3410fe7e9f4f59b94a5663256b469b4c311194980dedc279b0fcc0f236dd5',
    },
    'model.layers.2': {
      luts: 'ac4eeb5608b66ce97ad2f16c19e1e762312545ab4386bb305e7bb3452fa2d802',
      enc: 'c26a2557c150bee8d384b55c270d86fba13d5a765cd6068c8a2cea5e47fb388a',
      op: '00c1e3b460c85bd5b21c29cf7937c2e68fe835314354543eb9b91e7f20ecb696',
      gaps: '93ef26f63f6f4ab662ae40f7c30ab12017a402d378b9200f4e27be05d730beb5',
    },
    'model.layers.3': {
      luts: 'cf4af2d82c9f035d7e867bdb7b59674206b275fce4ff844957ec04b2b1a9c841',
      enc: '2b6733b5b09ad6af2677a884cff9ed0e6b3fddb0ad7bc7e8b8afc24843249e34',
      op: '1d568bef44e3d246e61e80c8d8ad7b75e99737978101048d2b606deea98c0a71',
      gaps: '7dcb291bb9817dd7a3cc6cfec75c1e233d7ae81fad512ce84d3d75ebdd2cbd2a',
    },
    'model.layers.4': {
      luts: 'd96ef810a5880eb31c10d219a27348e8e7d1ecbf03d9cdddce27ef19ecee3934',
      enc: '77eaf364682582a4c11260e96cbf4a9d3d4e0c72739d5d180e75f01bc7e32c31',
      op: 'b079df58ff14e1298bad1ff26207edf1657047910ecf7678be9d180c519cbd7d',
      gaps: '0fed36149aec5d2d23b9865c26699e4d7f803c37053a37f2bb9659a3c62d785a',
    },
    'model.embed_tokens': {
      luts: '31d5e7a654a14d0aa1233fe8b96eaf6b3b1c1778f58d00e4aec57a5833beb6ce',
      enc: 'a7b0424c603af2262e28eb8862e19ed16cbb3d4334c67557f19e3a4fd8429e04',
      op: 'f0a2a59201d44055c29bb68b785f420934f74f7594c9650893080bf54ae1466b',
      gaps: '25ca9a7f4b0c2165010eb624dc73cc5773005f1b390ee311ef0caf98fb2200cc',
    },
  };
  const hashes = (u: Df11Unit) => ({ luts: sha256(u.luts), enc: sha256(u.encodedExponent), op: sha256(u.outputPositions), gaps: sha256(u.gaps) });

  for (let layer = 0; layer < 5; layer++) {
    const path = `model.layers.${layer}`;
    it(`reproduces the reference's ${path} unit and round-trips it`, () => {
      const parts = LLAMA_LAYER_ATTRS.map((a) => tensors.get(`${path}.${a}.weight`)!);
      const unit = encodeUnitPieces(parts);
      assert.deepEqual(hashes(unit), reference[path]);
      const flat = concat(parts);
      checkUnit(flat, unit);
      const splits: bigint[] = [];
      let acc = 0;
      for (const p of parts.slice(0, -1)) splits.push(BigInt((acc += p.length)));
      assert.deepEqual([...unit.splitPositions], splits);
      // The one-array entry point gives the same bytes.
      const again = encodeUnit(flat, parts.map((p) => p.length));
      assert.deepEqual(again, unit);
    });
  }

  it("reproduces the reference's embedding unit (a [] unit: no split positions)", () => {
    const unit = encodeUnitPieces([tensors.get('model.embed_tokens.weight')!]);
    assert.deepEqual(hashes(unit), reference['model.embed_tokens']);
    assert.equal(unit.splitPositions.length, 0);
    checkUnit(tensors.get('model.embed_tokens.weight')!, unit);
  });
});

describe('encodeUnit edge cases', () => {
  it('encodes a 1-element unit', () => {
    const unit = checkUnit(bf16FromExponents([127]));
    // Code of 127 = "1", EOF = "0": one byte 1000 0000, a 2-row luts.
    assert.deepEqual([...unit.encodedExponent], [0x80]);
    assert.equal(unit.luts.length, 512);
    assert.deepEqual([...readOutputPositions(unit.outputPositions, 1, 1)], [0, 1]);
  });

  it('encodes a unit with one distinct exponent', () => {
    for (const n of [2, 7, 8, 9, 64, 65, 32768, 32769, 40000]) {
      const unit = checkUnit(bf16FromExponents(new Uint8Array(n).fill(120), n));
      assert.equal(unit.encodedExponent.length, Math.ceil(n / 8));
    }
  });

  it('encodes tiny and zero-exponent units (subnormals and zeros)', () => {
    checkUnit(bf16FromExponents([0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3]));
    checkUnit(Uint16Array.from([0x0000, 0x8000, 0x0001, 0x3f80, 0xbf80]));
  });

  it('encodes the largest encodable exponent, 239', () => {
    checkUnit(bf16FromExponents([239, 0, 239, 127, 239]));
  });

  it('encodes with a given code (here the reference code: same unit)', () => {
    const pieces = [bf16FromExponents([120, 121, 121, 119, 125]), bf16FromExponents([121, 121, 118])];
    const code = buildHuffmanCode(exponentHistogram(concat(pieces)));
    assert.deepEqual(encodeUnitPiecesWithCode(pieces, code), encodeUnitPieces(pieces));
  });

  it('handles pieces that are unaligned views', () => {
    const backing = bf16FromExponents(Array.from({ length: 3001 }, (_, i) => 110 + (i % 7) + ((i * 31) % 3)));
    const pieces = [backing.subarray(1, 1000), backing.subarray(1000, 1001), backing.subarray(1001, 3001)];
    const unit = encodeUnitPieces(pieces);
    assert.deepEqual(unit, encodeUnit(backing.slice(1), [999, 1, 2000]));
    assert.deepEqual(decodeUnit(unit), backing.subarray(1));
  });
});

describe('stream endings (searched inputs)', () => {
  const build = (want: Parameters<typeof findStream>[0], last?: number) => {
    const found = findStream(want, last);
    return { ...found, bf16: bf16FromExponents(found.exponents, found.s) };
  };

  it('ends exactly on a byte boundary: no EOF byte', () => {
    const { bf16, s } = build((s) => s % 8 === 0 && s % 64 !== 0);
    const unit = checkUnit(bf16);
    assert.equal(unit.encodedExponent.length, s / 8);
  });

  it('ends exactly on a window boundary', () => {
    const { bf16, s } = build((s) => s % 64 === 0 && s % 32768 !== 0 && s > 32768);
    const unit = checkUnit(bf16);
    assert.equal(unit.encodedExponent.length, s / 8);
  });

  it('ends exactly on a chunk boundary (K+1 entries, none for an empty chunk)', () => {
    const { bf16, s } = build((s) => s === 2 * 32768);
    const unit = checkUnit(bf16);
    assert.equal(unit.encodedExponent.length, 8192);
    const op = readOutputPositions(unit.outputPositions, 2, bf16.length);
    assert.equal(unit.outputPositions.length, 4 * 3);
    assert.equal(op[2], bf16.length);
    assert.ok(op[1]! < bf16.length);
  });

  it('starts the EOF code in a new chunk: the last two entries are both N', () => {
    // The last data code (exponent 122, the rarest) starts before the boundary and ends past it.
    const { bf16, s } = build((s, c) => s % 8 !== 0 && s > 32768 && s % 32768 < c.lengths[122]!, 122);
    const unit = checkUnit(bf16);
    const k = Math.ceil(unit.encodedExponent.length / 4096);
    assert.equal(unit.outputPositions.length, 4 * (k + 1));
    const op = readOutputPositions(unit.outputPositions, k, bf16.length);
    assert.deepEqual([op[k - 1], op[k]], [bf16.length, bf16.length]);
    assert.ok(s % 8 !== 0);
  });

  it('writes only K output positions in the rare short case (§7)', () => {
    // The last code (of exponent 122, the rarest) starts in chunk K-2, crosses into chunk K-1 and ends
    // on a byte boundary, so no code starts in chunk K-1 and no EOF is written.
    const { bf16, s, code } = build((s, c) => s % 8 === 0 && s > 32768 && s % 32768 !== 0 && s % 32768 < c.lengths[122]!, 122);
    const unit = checkUnit(bf16);
    const k = Math.ceil(unit.encodedExponent.length / 4096);
    assert.equal(unit.encodedExponent.length, s / 8);
    assert.equal(unit.outputPositions.length, 4 * k);
    assert.ok(validateUnit(unit).shortOutputPositions);
    assert.ok(code.lengths[122]! > 8);
  });
});

describe('round trips (property)', () => {
  /** Exponent sequences: skewed around a centre (like trained weights) or uniform over a range. */
  const skewed = fc
    .record({ centre: fc.integer({ min: 20, max: 200 }), spread: fc.double({ min: 0.3, max: 4, noNaN: true }), n: fc.integer({ min: 1, max: 6000 }), seed: fc.integer() })
    .map(({ centre, spread, n, seed }) => {
      let s = seed >>> 0;
      return Array.from({ length: n }, () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const u = (s >>> 8) / 2 ** 24 + 2 ** -25;
        const sign = s & 1 ? 1 : -1;
        return Math.max(0, Math.min(239, centre + sign * Math.floor(-Math.log2(u) * spread)));
      });
    });
  const uniform = fc
    .record({ lo: fc.integer({ min: 0, max: 239 }), width: fc.integer({ min: 1, max: 64 }) })
    .chain(({ lo, width }) => fc.array(fc.integer({ min: lo, max: Math.min(239, lo + width - 1) }), { minLength: 1, maxLength: 4000 }));

  it('decode(encode(x)) == x and the bytes match the reference loop (skewed exponents)', () => {
    fc.assert(fc.property(skewed, fc.integer(), (exps, seed) => void checkUnit(bf16FromExponents(exps, seed))), { numRuns: 60 });
  });

  it('decode(encode(x)) == x and the bytes match the reference loop (uniform exponents)', () => {
    fc.assert(fc.property(uniform, fc.integer(), (exps, seed) => void checkUnit(bf16FromExponents(exps, seed))), { numRuns: 60 });
  });

  it('any split into pieces gives the same unit as the concatenation', () => {
    fc.assert(
      fc.property(skewed, fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 6 }), (exps, cuts) => {
        const flat = bf16FromExponents(exps);
        const sizes: number[] = [];
        let left = flat.length;
        for (const c of cuts) {
          if (c >= left) break;
          sizes.push(c);
          left -= c;
        }
        sizes.push(left);
        const pieces: Uint16Array[] = [];
        let o = 0;
        for (const s of sizes) pieces.push(flat.subarray(o, (o += s)));
        assert.deepEqual(encodeUnitPieces(pieces), encodeUnit(flat, sizes));
      }),
      { numRuns: 40 },
    );
  });
});

describe('encodeUnit input errors', () => {
  const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;
  it('rejects an empty unit and empty pieces', () => {
    assert.throws(() => encodeUnit(new Uint16Array(0)), isCode('unit-invalid'));
    assert.throws(() => encodeUnitPieces([]), isCode('unit-invalid'));
    assert.throws(() => encodeUnitPieces([new Uint16Array(3), new Uint16Array(0)]), isCode('unit-invalid'));
  });
  it('rejects piece sizes that do not add up or are not positive', () => {
    assert.throws(() => encodeUnit(new Uint16Array(10), [4, 5]), isCode('unit-invalid'));
    assert.throws(() => encodeUnit(new Uint16Array(10), [10, 0]), isCode('unit-invalid'));
    assert.throws(() => encodeUnit(new Uint16Array(10), [2.5, 7.5]), isCode('unit-invalid'));
  });
  it('rejects Inf/NaN and huge exponents', () => {
    assert.throws(() => encodeUnit(Uint16Array.from([0x3f80, 0x7f80])), isCode('exponent-unencodable'));
    assert.throws(() => encodeUnit(Uint16Array.from([0x7fc0])), isCode('exponent-unencodable'));
    assert.throws(() => encodeUnit(bf16FromExponents([240])), isCode('exponent-unencodable'));
  });
});
