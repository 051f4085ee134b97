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
/**
 * Bytes before the plane and after it, filled with the canary: an odd offset (the chunk kernel: every
 * seam and both edges share words with other data) and a 16-byte-aligned one (the indexed kernel).
 */
const ODD_LEAD_BYTES = 7;
const ALIGNED_LEAD_BYTES = 32;
const TRAIL_BYTES = 33;
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

async function decode(unit: Df11Unit, indexed: boolean): Promise<Uint16Array> {
  const d = await gpuDecoder(indexed);
  const g = d.upload(unit);
  try {
    return join(await d.decodeExponents(g), unit.signMantissa);
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
  const size = Math.ceil((lead + n + TRAIL_BYTES) / 8) * 8;
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).fill(CANARY);
  buffer.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    d.decodeInto(encoder, g, buffer, lead, 'exponents');
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await d.checkErrors();
    await readback.mapAsync(MAP_READ);
    const bytes = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < lead; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} before the plane`);
    for (let i = lead + n; i < size; i++) assert.equal(bytes[i], CANARY, `GPU wrote byte ${i} past the plane`);
    out.set(join(bytes.slice(lead, lead + n), unit.signMantissa));
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
runDecoderConformance('webgpu exponent plane, chunk kernel', (u) => decode(u, false), { decodeInto: (u, o) => decodeInto(u, o, false, ODD_LEAD_BYTES), timeoutMs: 120_000 });
runDecoderConformance('webgpu exponent plane, indexed kernel', (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, ALIGNED_LEAD_BYTES), timeoutMs: 120_000 });
runDecoderConformance('webgpu exponent plane, default decoder at an odd offset', (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, ODD_LEAD_BYTES), timeoutMs: 120_000 });
