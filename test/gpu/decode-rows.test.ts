// GpuDecoder.decodeRowInPass against the CPU oracle: for rows chosen on the GPU (first, last, rows
// that start or end next to a chunk boundary, a row past the matrix, clamped), the row's elements in
// the output equal the oracle's, bit for bit, at an odd output offset and with the matrix starting
// inside the unit; bytes outside the decoded chunks are left as they were. The same for the exponent
// plane output (one byte per element, at an odd byte offset).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readChunkIndex } from '../../src/codec/chunk-index.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import type { GpuContext } from '../../src/gpu/device.js';
import { adapterLine, encode, normalWeights, skewedWeights, testGpu } from './gpu-fixture.js';

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;
const CANARY = 0x5a;

describe('GpuDecoder row decode', () => {
  let ctx: GpuContext;
  let decoder: GpuDecoder;
  before(async () => {
    ctx = await testGpu();
    console.log(adapterLine(ctx));
    decoder = await GpuDecoder.create(ctx.device);
  });
  after(() => {
    decoder.destroy();
    ctx.destroy();
  });

  for (const [name, weights, output] of [
    ['normal weights', normalWeights(40 * 1003 + 5, 11), 'bf16'],
    ['one dominant exponent', skewedWeights(40 * 1003 + 5, 12), 'bf16'],
    ['normal weights, exponent plane', normalWeights(40 * 1003 + 5, 13), 'exponents'],
    ['one dominant exponent, exponent plane', skewedWeights(40 * 1003 + 5, 14), 'exponents'],
  ] as const) {
    it(`${name}: rows of a 40 x 1003 matrix at element 5 of the unit`, async () => {
      const planes = output === 'exponents';
      const bytesPer = planes ? 1 : 2;
      /** The output element e as written: a BF16 value, or its exponent byte. */
      const at = (view: DataView, e: number) => (planes ? view.getUint8(offsetBytes + e) : view.getUint16(offsetBytes + 2 * e, true));
      const expected = (e: number) => (planes ? (want[e]! >> 7) & 0xff : want[e]!);
      const canary = planes ? CANARY : CANARY * 0x101;
      const device = ctx.device;
      const unit = encode(weights);
      const want = decodeUnit(unit);
      const cols = 1003;
      const first = 5;
      const offsetBytes = planes ? 7 : 6; // odd element offset in the output buffer
      const size = Math.ceil((offsetBytes + bytesPer * weights.length + 64) / 16) * 16;
      // chunk c's first element, and N after the last chunk
      const op = readChunkIndex(unit).op;
      // rows whose first element is a chunk's first element, or just past it
      const boundaryRows = [...op].slice(1, -1).flatMap((e) => [Math.floor((e - first) / cols), Math.floor((e - first - 1) / cols)]).filter((r) => r >= 0 && r < 40);
      const rows = [...new Set([0, 39, 17, ...boundaryRows.slice(0, 6)])];
      const gpuUnit = decoder.upload(unit);
      try {
        for (const row of [...rows, 1000]) {
          const ids = device.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
          device.queue.writeBuffer(ids, 0, new Uint32Array([row, 0, 0, 0]));
          const out = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
          new Uint8Array(out.getMappedRange()).fill(CANARY);
          out.unmap();
          const read = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
          const enc = device.createCommandEncoder();
          const pass = enc.beginComputePass();
          assert.ok(decoder.decodeRowInPass(pass, gpuUnit, out, offsetBytes, ids, cols, first, output), 'one dispatch expected');
          pass.end();
          enc.copyBufferToBuffer(out, 0, read, 0, size);
          device.queue.submit([enc.finish()]);
          await decoder.checkErrors();
          await read.mapAsync(MAP_READ);
          const bytes = new Uint8Array(read.getMappedRange()).slice();
          read.unmap();
          const view = new DataView(bytes.buffer);
          const r = Math.min(row, 39);
          for (let c = 0; c < cols; c++) {
            const e = first + r * cols + c;
            const got = at(view, e);
            if (got !== expected(e)) assert.fail(`row ${row}: element ${e} is 0x${got.toString(16)}, oracle 0x${expected(e).toString(16)}`);
          }
          // only the row's chunks and the one before them were decoded: elsewhere the canary stays
          const chunkOf = (e: number) => {
            let c = 0;
            while (c + 2 < op.length && op[c + 1]! <= e) c++;
            return c;
          };
          const s0 = Math.max(0, chunkOf(first + r * cols) - 1);
          const c1 = chunkOf(first + r * cols + cols - 1);
          const end = op[c1 + 1]!;
          // (chunk c1 also writes the first elements of chunk c1 + 1 that share its last word: 1 or up to 3)
          for (const e of [op[s0]! - 2, end + (planes ? 3 : 1)]) {
            if (e >= 0 && e < weights.length) assert.equal(at(view, e), canary, `row ${row}: element ${e} outside chunks ${s0}..${c1} was written`);
          }
          for (const b of [ids, out, read]) b.destroy();
        }
      } finally {
        decoder.release(gpuUnit);
      }
    });
  }
});
