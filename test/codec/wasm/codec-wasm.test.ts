// Loading the codec module: asynchronously and synchronously to the same per-thread instance, with a
// memory layout whose regions lie above the module's static data, in order, and inside its memory.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { codecWasm, initCodecWasm, LAYOUT_NAMES } from '../../../src/codec/wasm/codec-wasm.js';

it('initCodecWasm and codecWasm give the same instance', async () => {
  const a = await initCodecWasm();
  assert.ok(a, 'WebAssembly with SIMD is available in Node 20');
  assert.equal(codecWasm(), a);
  assert.equal(await initCodecWasm(), a);
});

it('the fixed layout lies above the static data and inside the memory', () => {
  const wasm = codecWasm()!;
  const at = wasm.layout;
  assert.ok(wasm.exports.heapBase() <= at.REGION_BASE);
  for (const name of LAYOUT_NAMES) assert.ok(Number.isInteger(at[name]) && at[name] >= 0, name);
  const regions = [at.DEC_LUTS, at.DEC_OPS, at.DEC_GAPS, at.DEC_STREAM, at.DEC_SM, at.DEC_OUT, at.ENC_HIST, at.ENC_CODES, at.ENC_PAIRS, at.ENC_LENGTHS, at.ENC_SRC, at.ENC_WORDS, at.ENC_SM, at.ENC_GAPS_OUT, at.ENC_OPS_OUT];
  for (let i = 1; i < regions.length; i++) assert.ok(regions[i - 1]! < regions[i]!, `region ${i} is not above region ${i - 1}`);
  assert.ok(at.MEMORY_BYTES <= wasm.exports.memory.buffer.byteLength);
  // The tile buffers hold a whole tile at the worst case (one element per stream bit).
  assert.ok(at.DEC_OUT - at.DEC_SM >= at.DECODE_TILE_CHUNKS * 32768);
  assert.ok(at.ENC_WORDS - at.ENC_SRC >= 2 * at.ENCODE_TILE_ELEMENTS);
});
