// The chunk decoder's own contract, beyond the conformance suite: chunk ranges decoded in any order
// and any split give the whole unit, a chunk writes exactly its own output range, and bad ranges or
// buffers are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_BYTES } from '../../src/codec/constants.js';
import { createChunkScratch, decodeChunked, decodeChunksInto, decodePreparedChunks, prepareUnit } from '../../src/codec/decode-chunked.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { Df11Error } from '../../src/errors.js';
import { normalBf16, Prng } from '../helpers/prng.js';

const original = normalBf16(150_000, 41);
const unit = encodeUnit(original);
const chunks = Math.ceil(unit.encodedExponent.length / CHUNK_BYTES);
const op = Array.from({ length: chunks + 1 }, (_, i) => new DataView(unit.outputPositions.buffer).getUint32(4 * i, true));

test('chunk ranges in random order and random splits rebuild the unit', () => {
  assert.ok(chunks >= 10);
  const prepared = prepareUnit(unit);
  const scratch = createChunkScratch();
  const rng = new Prng(42);
  for (let trial = 0; trial < 5; trial++) {
    const cuts = [0, chunks];
    for (let k = 0; k < 4; k++) cuts.push(rng.int(chunks + 1));
    cuts.sort((a, b) => a - b);
    const ranges = cuts.slice(1).map((end, i) => [cuts[i]!, end] as const);
    rng.shuffle(Uint8Array.from(ranges.keys())).forEach((i) => {
      const [first, end] = ranges[i]!;
      decodePreparedChunks(prepared, out, first, end, scratch);
    });
    assert.deepEqual(out, original);
    out.fill(0);
  }
});
const out = new Uint16Array(original.length);

test('each chunk writes exactly out[op[b], op[b+1]) and nothing else', () => {
  const canary = 0xbeef;
  for (let b = 0; b < chunks; b++) {
    const buf = new Uint16Array(original.length).fill(canary);
    decodeChunksInto(unit, buf, b, b + 1);
    for (let i = 0; i < buf.length; i++) {
      const inside = i >= op[b]! && i < op[b + 1]!;
      if (inside) assert.equal(buf[i], original[i], `chunk ${b}, element ${i}`);
      else assert.equal(buf[i], canary, `chunk ${b} wrote element ${i}, outside [${op[b]}, ${op[b + 1]})`);
    }
  }
});

test('decodeChunked equals the input; an output longer than N is written only in [0, N)', () => {
  assert.deepEqual(decodeChunked(unit), original);
  const longer = new Uint16Array(original.length + 5).fill(7);
  decodeChunksInto(unit, longer, 0, chunks);
  assert.deepEqual(longer.subarray(0, original.length), original);
  assert.deepEqual([...longer.subarray(original.length)], [7, 7, 7, 7, 7]);
});

test('bad ranges and short outputs are RangeErrors; a bad unit is a Df11Error before any range check', () => {
  assert.throws(() => decodeChunksInto(unit, out, 0, chunks + 1), RangeError);
  assert.throws(() => decodeChunksInto(unit, out, 3, 2), RangeError);
  assert.throws(() => decodeChunksInto(unit, out, -1, 2), RangeError);
  assert.throws(() => decodeChunksInto(unit, out, 0.5, 2), RangeError);
  assert.throws(() => decodeChunksInto(unit, new Uint16Array(original.length - 1), 0, 1), RangeError);
  assert.throws(() => decodeChunksInto({ ...unit, gaps: unit.gaps.subarray(1) }, out, 0, 1), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid');
  assert.throws(() => prepareUnit({ ...unit, gaps: unit.gaps.subarray(1) }, { file: 'f.safetensors', tensor: 'model.layers.3' }), /model\.layers\.3/);
});
