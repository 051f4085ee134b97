// The WebGPU decoder against the CPU oracle, bit for bit: several exponent statistics and sizes, forced
// dispatch splitting, default WebGPU limits (small stage, several rounds per chunk), output at odd
// offsets inside a canary-filled buffer, and several units recorded into one command encoder.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { Df11Error } from '../../src/errors.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import type { GpuUnit } from '../../src/gpu/gpu-unit.js';
import { indexDeltaBase } from '../../src/gpu/indexed-plan.js';
import type { GpuContext } from '../../src/gpu/device.js';
import {
  adapterLine,
  assertMatchesOracle,
  encode,
  fibonacciWeights,
  longCodeWeights,
  normalWeights,
  skewedWeights,
  testGpu,
  wideWeights,
} from './gpu-fixture.js';

const CANARY = 0xa5;
const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/**
 * Decodes uploaded units into a canary-filled buffer of `size` bytes (each at its offset), runs `check`
 * on the decoder (default: checkErrors()), and returns all the buffer's bytes.
 */
async function decodeUploadedWithCanary(
  ctx: GpuContext,
  decoder: GpuDecoder,
  placed: Array<[GpuUnit, number]>,
  size: number,
  check: (d: GpuDecoder) => Promise<void> = (d) => d.checkErrors(),
): Promise<Uint8Array> {
  const device = ctx.device;
  const out = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(out.getMappedRange()).fill(CANARY);
  out.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  const encoder = device.createCommandEncoder();
  for (const [g, offset] of placed) decoder.decodeInto(encoder, g, out, offset);
  encoder.copyBufferToBuffer(out, 0, readback, 0, size);
  device.queue.submit([encoder.finish()]);
  await check(decoder);
  await readback.mapAsync(MAP_READ);
  const bytes = new Uint8Array(readback.getMappedRange()).slice();
  readback.unmap();
  out.destroy();
  readback.destroy();
  return bytes;
}

/** Uploads and decodes `units` into a canary-filled buffer (each at its offset) and returns all the buffer's bytes. */
async function decodeWithCanary(ctx: GpuContext, decoder: GpuDecoder, units: Array<[Df11Unit, number]>, size: number): Promise<Uint8Array> {
  const placed = units.map(([u, offset]): [GpuUnit, number] => [decoder.upload(u), offset]);
  const bytes = await decodeUploadedWithCanary(ctx, decoder, placed, size);
  placed.forEach(([g]) => decoder.release(g));
  return bytes;
}

/** Asserts the unit's oracle output at `offset` and canary bytes everywhere in [from, to) outside it. */
function assertPlaced(bytes: Uint8Array, unit: Df11Unit, offset: number, label: string): void {
  const want = decodeUnit(unit);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < want.length; i++) {
    const got = view.getUint16(offset + 2 * i, true);
    if (got !== want[i]) assert.fail(`${label}: element ${i} is 0x${got.toString(16)}, oracle 0x${want[i]!.toString(16)}`);
  }
}

function assertCanary(bytes: Uint8Array, from: number, to: number, label: string): void {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== CANARY) assert.fail(`${label}: byte ${i} outside the output was overwritten (0x${bytes[i]!.toString(16)})`);
  }
}

describe('GpuDecoder (device limits raised to the adapter)', () => {
  let ctx: GpuContext;
  let decoder: GpuDecoder;
  before(async () => {
    ctx = await testGpu();
    decoder = await GpuDecoder.create(ctx.device);
  });
  after(() => {
    decoder?.destroy();
    ctx?.destroy();
  });

  it('runs on a reported adapter', (t) => {
    t.diagnostic(adapterLine(ctx));
    const a = ctx.adapter;
    assert.equal(a.runtime, 'node');
    assert.ok(a.vendor.length + a.architecture.length + a.description.length > 0, 'adapter info is empty');
    if ((process.env['VK_ICD_FILENAMES'] ?? '').includes('swiftshader')) assert.equal(a.isSwiftShader, true);
    t.diagnostic(`kernel: ${decoder.kernel.name}; stage: ${decoder.stageWords} words; subgroups: ${ctx.features.has('subgroups')}`);
  });

  it('uses the fast kernel where the adapter has subgroups, at 512 invocations where allowed', () => {
    if (!ctx.features.has('subgroups')) {
      assert.equal(decoder.kernel.name, 'decode-portable');
      return;
    }
    const wide = ctx.device.limits.maxComputeInvocationsPerWorkgroup >= 512;
    assert.equal(decoder.kernel.name, wide ? 'decode-wg512' : 'decode-wg256');
    // SwiftShader (CI) has subgroups and 256 invocations: the fast kernel's two-window path is what runs there.
    if (ctx.adapter.isSwiftShader) assert.equal(decoder.kernel.name, 'decode-wg256');
  });

  const cases: Array<[string, () => Uint16Array]> = [
    ['1 weight', () => normalWeights(1)],
    ['2 weights', () => normalWeights(2, 7)],
    ['3 weights', () => normalWeights(3, 8)],
    ['odd count, 3 chunks', () => normalWeights(30_001, 9)],
    ['normal(0, 0.02), 8 chunks', () => normalWeights(100_000, 10)],
    ['skewed: 1-bit codes, more elements per chunk than the stage holds', () => skewedWeights(70_001)],
    ['geometric exponents: long codes', () => longCodeWeights(40_000)],
    ['wide exponents: 8-bit codes', () => wideWeights(20_000)],
  ];
  for (const [name, make] of cases) {
    it(`decodes bit-exactly: ${name}`, async () => {
      const unit = encode(make());
      const g = decoder.upload(unit, { tensor: name });
      assertMatchesOracle(await decoder.decode(g), unit, name);
      decoder.release(g);
    });
  }

  it('decodes 25-bit codes (4 LUT levels)', async () => {
    const unit = encode(fibonacciWeights(26));
    const lengths = unit.luts.subarray(unit.luts.length - 256);
    assert.ok(Math.max(...lengths) > 24, `longest code ${Math.max(...lengths)} bits`);
    const g = decoder.upload(unit);
    assertMatchesOracle(await decoder.decode(g), unit, 'fibonacci');
    decoder.release(g);
  });

  it('writes only its own bytes at odd half-word offsets (canary)', async () => {
    const unit = encode(normalWeights(12_347, 11));
    const n = unit.signMantissa.length;
    for (const offset of [0, 2, 6, 258, 514]) {
      const size = Math.ceil((offset + 2 * n + 300) / 4) * 4;
      const bytes = await decodeWithCanary(ctx, decoder, [[unit, offset]], size);
      assertPlaced(bytes, unit, offset, `offset ${offset}`);
      assertCanary(bytes, 0, offset, `offset ${offset}`);
      assertCanary(bytes, offset + 2 * n, size, `offset ${offset}`);
    }
  });

  it('packs several units back to back in one command encoder', async () => {
    const units = [encode(normalWeights(5_001, 12)), encode(skewedWeights(9_999, 13)), encode(normalWeights(3, 14))];
    const placed: Array<[Df11Unit, number]> = [];
    let offset = 2;
    for (const u of units) {
      placed.push([u, offset]);
      offset += 2 * u.signMantissa.length;
    }
    const size = Math.ceil((offset + 64) / 4) * 4;
    const bytes = await decodeWithCanary(ctx, decoder, placed, size);
    placed.forEach(([u, o], i) => assertPlaced(bytes, u, o, `unit ${i}`));
    assertCanary(bytes, 0, 2, 'before');
    assertCanary(bytes, offset, size, 'after');
  });
});

describe('GpuDecoder split into many dispatches', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testGpu();
  });
  after(() => ctx?.destroy());

  for (const maxChunks of [1, 3]) {
    it(`is bit-exact with at most ${maxChunks} chunk(s) per dispatch`, async () => {
      const decoder = await GpuDecoder.create(ctx.device, { maxChunksPerDispatch: maxChunks, indexed: false });
      const unit = encode(normalWeights(90_001, 15));
      const g = decoder.upload(unit);
      const dispatches = decoder.dispatchCount(g);
      assert.equal(dispatches, Math.ceil(g.chunks / maxChunks));
      assertMatchesOracle(await decoder.decode(g), unit, `split ${maxChunks}`);
      // Splitting at odd output offsets too: dispatch windows start at element boundaries.
      const bytes = await decodeWithCanary(ctx, decoder, [[unit, 6]], Math.ceil((6 + 2 * 90_001 + 8) / 4) * 4);
      assertPlaced(bytes, unit, 6, `split ${maxChunks} at offset 6`);
      decoder.destroy();
    });
  }
});

describe('GpuDecoder (indexed kernel) split into many dispatches', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testGpu();
  });
  after(() => ctx?.destroy());

  for (const maxGroups of [1, 37]) {
    it(`is bit-exact with at most ${maxGroups} group(s) of 64 elements per dispatch`, async () => {
      const decoder = await GpuDecoder.create(ctx.device, { maxGroupsPerDispatch: maxGroups });
      const n = maxGroups === 1 ? 3_001 : 90_001;
      const unit = encode(normalWeights(n, 15));
      const g = decoder.upload(unit);
      assert.ok(decoder.decodesIndexed(g, 0) && decoder.decodesIndexed(g, 32));
      assert.equal(decoder.dispatchCount(g), Math.ceil(Math.ceil(n / 64) / maxGroups));
      assertMatchesOracle(await decoder.decode(g), unit, `split ${maxGroups}`);
      const size = Math.ceil((32 + 2 * n + 40) / 4) * 4;
      const bytes = await decodeWithCanary(ctx, decoder, [[unit, 32]], size);
      assertPlaced(bytes, unit, 32, `split ${maxGroups} at offset 32`);
      assertCanary(bytes, 0, 32, 'before');
      assertCanary(bytes, 32 + 2 * n, size, 'after');
      decoder.destroy();
    });
  }
});

describe('GpuDecoder.releaseChunkData', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testGpu();
  });
  after(() => ctx?.destroy());

  it('keeps whole aligned decodes bit-exact and refuses what needs the chunk kernel', async () => {
    const decoder = await GpuDecoder.create(ctx.device);
    const unit = encode(normalWeights(20_001, 18));
    // The index build's temporary buffer: a u32 per 64 elements, in whole 8-byte pairs.
    assert.equal(decoder.uploadScratchBytes(unit), 8 * Math.ceil(Math.ceil(20_001 / 64) / 2));
    const chunkOnly = await GpuDecoder.create(ctx.device, { indexed: false });
    assert.equal(chunkOnly.uploadScratchBytes(unit), 0);
    chunkOnly.destroy();
    const g = decoder.upload(unit);
    const freed = decoder.releaseChunkData(g);
    assert.equal(freed, g.buffers.gaps.size);
    assert.equal(decoder.releaseChunkData(g), 0, 'a second release frees nothing');
    assertMatchesOracle(await decoder.decode(g), unit, 'after release');
    const out = ctx.device.createBuffer({ size: 2 * 20_001 + 64, usage: STORAGE });
    const encoder = ctx.device.createCommandEncoder();
    assert.throws(() => decoder.decodeInto(encoder, g, out, 6), /chunk data was released/);
    out.destroy();
    decoder.destroy();
  });
});

describe('GpuDecoder with a corrupt output index', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testGpu();
  });
  after(() => ctx?.destroy());

  for (const [what, corrupt] of [
    ['offsets shifted by one bit', (words: Uint32Array, deltaBase: number) => words.fill(0x00010001, deltaBase)],
    ['random words', (words: Uint32Array) => words.forEach((_, i) => (words[i] = (Math.imul(i + 1, 0x9e3779b1) >>> 0) ^ 0x5bd1e995))],
  ] as const) {
    it(`flags ${what} and writes nothing outside the output`, async () => {
      const decoder = await GpuDecoder.create(ctx.device);
      const n = 30_001;
      const unit = encode(normalWeights(n, 19));
      const g = decoder.upload(unit);
      await decoder.checkErrors();
      const words = new Uint32Array(g.buffers.index!.size / 4);
      corrupt(words, indexDeltaBase(n));
      ctx.device.queue.writeBuffer(g.buffers.index!, 0, words);
      const lead = 32;
      const size = Math.ceil((lead + 2 * n + 64) / 4) * 4;
      const bytes = await decodeUploadedWithCanary(ctx, decoder, [[g, lead]], size, (d) =>
        assert.rejects(d.checkErrors(), (e: unknown) => e instanceof Df11Error && e.code === 'gpu-decode-error'),
      );
      assertCanary(bytes, 0, lead, 'before');
      assertCanary(bytes, lead + 2 * n, size, 'after');
      decoder.destroy();
    });
  }
});

describe('GpuDecoder at default WebGPU limits', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testGpu({ defaultLimits: true, dawnOptions: [] });
  });
  after(() => ctx?.destroy());

  it('fits 16 KiB of workgroup memory and stays bit-exact over several stage rounds', async (t) => {
    assert.equal(ctx.device.limits.maxComputeWorkgroupStorageSize, 16384);
    const decoder = await GpuDecoder.create(ctx.device);
    t.diagnostic(`stage: ${decoder.stageWords} words`);
    for (const [name, w] of [
      ['normal', normalWeights(60_000, 16)],
      ['skewed', skewedWeights(40_001, 17)],
    ] as const) {
      const unit = encode(w);
      const g = decoder.upload(unit);
      assertMatchesOracle(await decoder.decode(g), unit, name);
    }
    decoder.destroy();
  });
});
