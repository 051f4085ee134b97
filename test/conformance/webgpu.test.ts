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
/** Bytes before the unit's output (an odd half-word offset) and after it, filled with the canary. */
const LEAD_BYTES = 6;
const TRAIL_BYTES = 34;
const CANARY = 0x5a;

let ctx: GpuContext | undefined;
let decoder: GpuDecoder | undefined;

async function gpuDecoder(): Promise<GpuDecoder> {
  if (!decoder) {
    ctx = await acquireGpu({ dawnOptions: FAST_COMPILE_DAWN_OPTIONS });
    decoder = await GpuDecoder.create(ctx.device);
  }
  return decoder;
}

after(() => {
  decoder?.destroy();
  ctx?.destroy();
});

before(async () => {
  await gpuDecoder();
});

test('WebGPU adapter', async (t) => {
  await gpuDecoder();
  t.diagnostic(`adapter: ${describeAdapter(ctx!.adapter)}`);
  assert.ok(ctx!.adapter.vendor.length + ctx!.adapter.description.length > 0);
});

async function decode(unit: Df11Unit): Promise<Uint16Array> {
  const d = await gpuDecoder();
  const g = d.upload(unit);
  try {
    return await d.decode(g);
  } finally {
    d.release(g);
  }
}

async function decodeInto(unit: Df11Unit, out: Uint16Array): Promise<void> {
  const d = await gpuDecoder();
  const device = d.device;
  const g = d.upload(unit);
  const n = g.elements;
  const size = Math.ceil((LEAD_BYTES + 2 * n + TRAIL_BYTES) / 4) * 4;
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).fill(CANARY);
  buffer.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    d.decodeInto(encoder, g, buffer, LEAD_BYTES);
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await d.checkErrors();
    await readback.mapAsync(MAP_READ);
    const bytes = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < LEAD_BYTES; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} before the output`);
    for (let i = LEAD_BYTES + 2 * n; i < size; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} past the output`);
    out.set(new Uint16Array(bytes.slice(LEAD_BYTES, LEAD_BYTES + 2 * n).buffer));
    readback.unmap();
  } finally {
    buffer.destroy();
    readback.destroy();
    d.release(g);
  }
}

runDecoderConformance('webgpu', decode, { decodeInto, timeoutMs: 120_000 });
