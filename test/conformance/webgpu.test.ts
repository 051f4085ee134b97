// The WebGPU decoder (src/gpu) against the shared conformance suite, on whatever adapter is present
// (SwiftShader in CI; the test fails, not skips, without one). decodeInto goes through a GPU buffer:
// the unit is decoded at an odd half-word offset inside a canary-filled buffer, the canaries are
// checked on the GPU copy, and the N elements are copied into the caller's array.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Df11Unit } from '../../src/codec/unit.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import { acquireGpu, describeAdapter, type GpuContext } from '../../src/gpu/device.js';
import { FAST_COMPILE_DAWN_OPTIONS } from '../gpu/gpu-fixture.js';
import { runDecoderConformance } from './suite.js';

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;
/** Bytes before the output and after it, filled with the canary: an odd half-word offset (the chunk
 * kernel) and a 16-byte-aligned one (the indexed kernel). */
const ODD_LEAD_BYTES = 6;
const ALIGNED_LEAD_BYTES = 32;
const TRAIL_BYTES = 34;
const CANARY = 0x5a;

let ctx: GpuContext | undefined;
/** The default decoder (indexed: whole units at 16-byte-aligned offsets) and the chunk kernel alone. */
const decoders = new Map<boolean, GpuDecoder>();

async function gpuDecoder(indexed = true): Promise<GpuDecoder> {
  ctx ??= await acquireGpu({ dawnOptions: FAST_COMPILE_DAWN_OPTIONS });
  let d = decoders.get(indexed);
  if (!d) {
    d = await GpuDecoder.create(ctx.device, { indexed });
    decoders.set(indexed, d);
  }
  return d;
}

after(() => {
  for (const d of decoders.values()) d.destroy();
  ctx?.destroy();
});

before(async () => {
  await gpuDecoder(true);
  await gpuDecoder(false);
});

test('WebGPU adapter', async (t) => {
  await gpuDecoder();
  t.diagnostic(`adapter: ${describeAdapter(ctx!.adapter)}`);
  assert.ok(ctx!.adapter.vendor.length + ctx!.adapter.description.length > 0);
});

async function decode(unit: Df11Unit, indexed: boolean): Promise<Uint16Array> {
  const d = await gpuDecoder(indexed);
  const g = d.upload(unit);
  try {
    return await d.decode(g);
  } finally {
    d.release(g);
  }
}

async function decodeInto(unit: Df11Unit, out: Uint16Array, indexed: boolean, lead: number): Promise<void> {
  const d = await gpuDecoder(indexed);
  const device = d.device;
  const g = d.upload(unit);
  assert.equal(d.decodesIndexed(g, lead), indexed && lead % 16 === 0 && g.elements > 0);
  const n = g.elements;
  const size = Math.ceil((lead + 2 * n + TRAIL_BYTES) / 4) * 4;
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).fill(CANARY);
  buffer.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    d.decodeInto(encoder, g, buffer, lead);
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await d.checkErrors();
    await readback.mapAsync(MAP_READ);
    const bytes = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < lead; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} before the output`);
    for (let i = lead + 2 * n; i < size; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} past the output`);
    out.set(new Uint16Array(bytes.slice(lead, lead + 2 * n).buffer));
    readback.unmap();
  } finally {
    buffer.destroy();
    readback.destroy();
    d.release(g);
  }
}

// The chunk kernel alone (the decoder built with indexed: false), and the default decoder: the indexed
// kernel for whole units at aligned offsets (decode, decodeInto at ALIGNED_LEAD_BYTES), the chunk
// kernel at the odd offset.
runDecoderConformance('webgpu, chunk kernel', (u) => decode(u, false), { decodeInto: (u, o) => decodeInto(u, o, false, ODD_LEAD_BYTES), timeoutMs: 120_000 });
runDecoderConformance('webgpu, indexed kernel', (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, ALIGNED_LEAD_BYTES), timeoutMs: 120_000 });
runDecoderConformance('webgpu, default decoder at an odd offset', (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, ODD_LEAD_BYTES), timeoutMs: 120_000 });
