// The WebGPU decoder's exponent plane (decodeInPass with output 'exponents': one byte per element,
// the layout the engine's matrix products read beside the unit's sign_mantissa) against the shared
// conformance suite: the plane and the unit's sign_mantissa, put together on the host, must be the
// BF16 values bit for bit, and corrupt units must fail the same way. decodeInto decodes the plane at
// an odd byte offset inside a canary-filled buffer (so every chunk seam and both unit edges share
// words with other data) and checks the canaries on the GPU copy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Df11Unit } from '../../src/codec/unit.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import { acquireGpu, type GpuContext } from '../../src/gpu/device.js';
import { FAST_COMPILE_DAWN_OPTIONS } from '../gpu/gpu-fixture.js';
import { runDecoderConformance } from './suite.js';

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;
/** Bytes before the plane (an odd offset) and after it, filled with the canary. */
const LEAD_BYTES = 7;
const TRAIL_BYTES = 33;
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

test('the default kernel writes exponent planes', async () => {
  assert.ok((await gpuDecoder()).writesExponentPlane, 'the fast kernel is expected on this adapter (subgroups)');
});

/** BF16 values from an exponent plane and the unit's sign_mantissa bytes. */
function join(exponents: Uint8Array, signMantissa: Uint8Array): Uint16Array {
  const out = new Uint16Array(signMantissa.length);
  for (let i = 0; i < out.length; i++) {
    const sm = signMantissa[i]!;
    out[i] = ((sm & 0x80) << 8) | (exponents[i]! << 7) | (sm & 0x7f);
  }
  return out;
}

async function decode(unit: Df11Unit): Promise<Uint16Array> {
  const d = await gpuDecoder();
  const g = d.upload(unit);
  try {
    return join(await d.decodeExponents(g), unit.signMantissa);
  } finally {
    d.release(g);
  }
}

async function decodeInto(unit: Df11Unit, out: Uint16Array): Promise<void> {
  const d = await gpuDecoder();
  const device = d.device;
  const g = d.upload(unit);
  const n = g.elements;
  const size = Math.ceil((LEAD_BYTES + n + TRAIL_BYTES) / 8) * 8;
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).fill(CANARY);
  buffer.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    d.decodeInto(encoder, g, buffer, LEAD_BYTES, 'exponents');
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await d.checkErrors();
    await readback.mapAsync(MAP_READ);
    const bytes = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < LEAD_BYTES; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} before the plane`);
    for (let i = LEAD_BYTES + n; i < size; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} past the plane`);
    out.set(join(bytes.slice(LEAD_BYTES, LEAD_BYTES + n), unit.signMantissa));
    readback.unmap();
  } finally {
    buffer.destroy();
    readback.destroy();
    d.release(g);
  }
}

runDecoderConformance('webgpu exponent plane', decode, { decodeInto, timeoutMs: 120_000 });
