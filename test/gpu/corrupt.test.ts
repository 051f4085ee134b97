// Corrupt units on the GPU: each kind of damage the kernel can see raises its status flag and
// decode() rejects with 'gpu-decode-error' (no hang: the test runner's timeout would fail the test);
// nothing is written outside the unit's output range; and under random damage the GPU either rejects
// or returns exactly what the CPU oracle returns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import type { GpuContext } from '../../src/gpu/device.js';
import { Df11Error } from '../../src/errors.js';
import { mulberry32 } from '../../src/synthetic/weights.js';
import { encode, normalWeights, testGpu } from './gpu-fixture.js';
import { cloneUnit } from '../conformance/corrupt.js';

const ROW = 256;
const TEST_TIMEOUT_MS = 60_000;

/** The most frequent exponent of the unit's first weights. */
function commonExponent(u: Df11Unit): number {
  return decodeUnit(u)[0]! >>> 7 & 0xff;
}

/** `luts` with 4 extra rows forming a pointer chain longer than 4 levels, entered from `exponent`'s root columns. */
function withFifthLevel(luts: Uint8Array, exponent: number): Uint8Array {
  const rows = luts.length / ROW;
  const decodeRows = rows - 1;
  const out = new Uint8Array((rows + 4) * ROW);
  out.set(luts.subarray(0, decodeRows * ROW));
  out.set(luts.subarray(decodeRows * ROW), (decodeRows + 4) * ROW); // length row last
  for (let c = 0; c < ROW; c++) if (out[c] === exponent) out[c] = ROW - decodeRows;
  for (let r = 0; r < 4; r++) out.fill(ROW - (decodeRows + Math.min(r + 1, 3)), (decodeRows + r) * ROW, (decodeRows + r + 1) * ROW);
  return out;
}

async function expectFlag(decoder: GpuDecoder, unit: Df11Unit, pattern: RegExp): Promise<void> {
  const g = decoder.upload(unit, { tensor: 'damaged' });
  await assert.rejects(decoder.decode(g), (e: unknown) => {
    assert.ok(e instanceof Df11Error, String(e));
    assert.equal(e.code, 'gpu-decode-error');
    assert.match(e.message, pattern);
    assert.match(e.message, /tensor damaged/);
    return true;
  });
  decoder.release(g);
}

describe('GPU decode of corrupt units', { timeout: TEST_TIMEOUT_MS }, () => {
  let ctx: GpuContext;
  let decoder: GpuDecoder;
  const good = encode(normalWeights(50_000, 21));
  before(async () => {
    ctx = await testGpu();
    decoder = await GpuDecoder.create(ctx.device);
  });
  after(() => {
    decoder?.destroy();
    ctx?.destroy();
  });

  it('flags a code of length 0', async () => {
    const u = cloneUnit(good);
    u.luts[u.luts.length - ROW + commonExponent(u)] = 0;
    assert.throws(() => decodeUnit(u), { code: 'corrupt-zero-length' });
    await expectFlag(decoder, u, /length 0/);
  });

  it('flags a 5th LUT level', async () => {
    const u = cloneUnit(good);
    u.luts = withFifthLevel(u.luts, commonExponent(u));
    assert.throws(() => decodeUnit(u), { code: 'corrupt-lut-chain' });
    await expectFlag(decoder, u, /5th LUT level/);
  });

  it('flags output_positions that disagree with the codes', async () => {
    const u = cloneUnit(good);
    const op = new DataView(u.outputPositions.buffer);
    op.setUint32(4, op.getUint32(4, true) + 1, true); // still non-decreasing and below N
    await expectFlag(decoder, u, /codes per chunk/);
  });

  it('flags gaps that disagree with the code boundaries', async () => {
    const u = cloneUnit(good);
    u.gaps[100] = u.gaps[100]! ^ 0x10;
    await expectFlag(decoder, u, /gaps/);
  });

  it('flags a stream one byte longer than its codes', async () => {
    const u = cloneUnit(good);
    const enc = new Uint8Array(u.encodedExponent.length + 1);
    enc.set(u.encodedExponent);
    u.encodedExponent = enc;
    assert.equal(Math.ceil(enc.length / 4096), Math.ceil(good.encodedExponent.length / 4096), 'same chunk count');
    assert.throws(() => decodeUnit(u), { code: 'stream-length-mismatch' });
    await expectFlag(decoder, u, /stream length/);
  });

  it('keeps the canary around the output of a corrupt unit', async () => {
    const u = cloneUnit(good);
    for (let i = 0; i < u.encodedExponent.length; i += 97) u.encodedExponent[i] = 0xff;
    const n = u.signMantissa.length;
    const offset = 6;
    const size = Math.ceil((offset + 2 * n + 64) / 4) * 4;
    const device = ctx.device;
    const out = device.createBuffer({ size, usage: 0x80 | 0x4, mappedAtCreation: true });
    new Uint8Array(out.getMappedRange()).fill(0xa5);
    out.unmap();
    const readback = device.createBuffer({ size, usage: 0x1 | 0x8 });
    const g = decoder.upload(u);
    const encoder = device.createCommandEncoder();
    decoder.decodeInto(encoder, g, out, offset);
    encoder.copyBufferToBuffer(out, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await assert.rejects(decoder.checkErrors(), { code: 'gpu-decode-error' });
    await readback.mapAsync(0x1);
    const bytes = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < offset; i++) assert.equal(bytes[i], 0xa5, `byte ${i}`);
    for (let i = offset + 2 * n; i < size; i++) assert.equal(bytes[i], 0xa5, `byte ${i}`);
    readback.unmap();
    out.destroy();
    readback.destroy();
    decoder.release(g);
  });

  it('under random damage either rejects or equals the oracle', async () => {
    const small = encode(normalWeights(20_000, 22));
    const next = mulberry32(23);
    const fields = ['encodedExponent', 'gaps', 'outputPositions', 'luts'] as const;
    for (let trial = 0; trial < 24; trial++) {
      const u = cloneUnit(small);
      const field = fields[trial % fields.length]!;
      const bytes = u[field];
      for (let k = 0; k < 1 + (next() % 3); k++) {
        const i = next() % bytes.length;
        bytes[i] = bytes[i]! ^ (1 << (next() % 8));
      }
      let g;
      try {
        g = decoder.upload(u);
      } catch (e) {
        assert.ok(e instanceof Df11Error && e.code === 'unit-invalid', `trial ${trial}: ${String(e)}`);
        continue;
      }
      let got: Uint16Array | undefined;
      try {
        got = await decoder.decode(g);
      } catch (e) {
        assert.ok(e instanceof Df11Error && e.code === 'gpu-decode-error', `trial ${trial}: ${String(e)}`);
      }
      decoder.release(g);
      if (got) {
        const want = decodeUnit(u); // must not throw when the GPU accepted the unit
        assert.deepEqual(got, want, `trial ${trial} (${field})`);
      }
    }
  });
});
