// What the WebGPU conformance files share: one GPU context and two decoders per file (the default one,
// which takes the indexed kernel for whole units at 16-byte-aligned offsets, and the chunk kernel
// alone), and the three suites every output of the decoder runs: the chunk kernel alone, the indexed
// kernel, and the default decoder at an odd offset (the chunk kernel again). decodeInto goes through a
// GPU buffer: the unit is decoded at `lead` bytes inside a canary-filled buffer, the canaries are
// checked on the GPU copy, and the N elements are handed to the caller.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Df11Unit } from '../../src/codec/unit.js';
import type { DecodeOutput } from '../../src/gpu/decode-plan.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import { acquireGpu, type GpuContext } from '../../src/gpu/device.js';
import { FAST_COMPILE_DAWN_OPTIONS } from '../gpu/gpu-fixture.js';
import { runDecoderConformance } from './suite.js';

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;
/**
 * Offsets off the 16-byte grid (the chunk kernel: seams and edges share words with other data): an
 * odd half-word for BF16, an odd byte for the exponent plane.
 */
const ODD_LEAD_BYTES: Readonly<Record<DecodeOutput, number>> = { bf16: 6, exponents: 7 };
/** A 16-byte-aligned offset (the indexed kernel). */
const ALIGNED_LEAD_BYTES = 32;
/** Canary bytes after the output. */
const TRAIL_BYTES = 34;
const CANARY = 0x5a;

export interface WebGpuDecoders {
  context(): GpuContext;
  /** The default decoder (indexed) or the chunk kernel alone. */
  decoder(indexed?: boolean): Promise<GpuDecoder>;
}

/** A GPU context and its two decoders, made before the file's tests and destroyed after them. */
export function webGpuDecoders(): WebGpuDecoders {
  let ctx: GpuContext | undefined;
  const decoders = new Map<boolean, GpuDecoder>();
  const decoder = async (indexed = true): Promise<GpuDecoder> => {
    ctx ??= await acquireGpu({ dawnOptions: FAST_COMPILE_DAWN_OPTIONS });
    let d = decoders.get(indexed);
    if (!d) {
      d = await GpuDecoder.create(ctx.device, { indexed });
      decoders.set(indexed, d);
    }
    return d;
  };
  before(async () => {
    await decoder(true);
    await decoder(false);
  });
  after(() => {
    for (const d of decoders.values()) d.destroy();
    ctx?.destroy();
  });
  return { context: () => ctx!, decoder };
}

/** Decodes `unit` at byte `lead` of a canary-filled buffer, checks the canaries, returns the output bytes. */
async function decodeInBuffer(d: GpuDecoder, unit: Df11Unit, output: DecodeOutput, lead: number): Promise<Uint8Array> {
  const device = d.device;
  const g = d.upload(unit);
  assert.equal(d.decodesIndexed(g, lead), d.indexed && lead % 16 === 0 && g.elements > 0);
  const bytes = (output === 'bf16' ? 2 : 1) * g.elements;
  const size = Math.ceil((lead + bytes + TRAIL_BYTES) / 8) * 8;
  const buffer = device.createBuffer({ size, usage: STORAGE | COPY_SRC, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).fill(CANARY);
  buffer.unmap();
  const readback = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    d.decodeInto(encoder, g, buffer, lead, output);
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await d.checkErrors();
    await readback.mapAsync(MAP_READ);
    const all = new Uint8Array(readback.getMappedRange());
    for (let i = 0; i < lead; i++) assert.equal(all[i], CANARY, `GPU wrote byte ${i} before the output`);
    for (let i = lead + bytes; i < size; i++) assert.equal(all[i], CANARY, `GPU wrote byte ${i} past the output`);
    const got = all.slice(lead, lead + bytes);
    readback.unmap();
    return got;
  } finally {
    buffer.destroy();
    readback.destroy();
    d.release(g);
  }
}

/**
 * The three suites for one output of the decoder; `values` turns the output bytes of a unit (as
 * decodeInPass writes them) into its BF16 values.
 */
export function runWebGpuConformance(name: string, gpu: WebGpuDecoders, output: DecodeOutput, values: (bytes: Uint8Array, unit: Df11Unit) => Uint16Array): void {
  const decode = async (unit: Df11Unit, indexed: boolean): Promise<Uint16Array> => {
    const d = await gpu.decoder(indexed);
    const g = d.upload(unit);
    try {
      const bytes = output === 'bf16' ? new Uint8Array((await d.decode(g)).buffer) : await d.decodeExponents(g);
      return values(bytes, unit);
    } finally {
      d.release(g);
    }
  };
  const decodeInto = async (unit: Df11Unit, out: Uint16Array, indexed: boolean, lead: number): Promise<void> => {
    out.set(values(await decodeInBuffer(await gpu.decoder(indexed), unit, output, lead), unit));
  };
  const timeoutMs = 120_000;
  const odd = ODD_LEAD_BYTES[output];
  runDecoderConformance(`${name}, chunk kernel`, (u) => decode(u, false), { decodeInto: (u, o) => decodeInto(u, o, false, odd), timeoutMs });
  runDecoderConformance(`${name}, indexed kernel`, (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, ALIGNED_LEAD_BYTES), timeoutMs });
  runDecoderConformance(`${name}, default decoder at an odd offset`, (u) => decode(u, true), { decodeInto: (u, o) => decodeInto(u, o, true, odd), timeoutMs });
}
