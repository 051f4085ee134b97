// Shared by the GPU tests: a device (the test fails, never skips, when there is none), weight
// generators with different exponent statistics, and byte comparison against the CPU oracle.
import assert from 'node:assert/strict';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { encodeUnit } from '../../src/codec/encode.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { acquireGpu, describeAdapter, type AcquireGpuOptions, type GpuContext } from '../../src/gpu/device.js';
import { mulberry32, syntheticBf16Weights } from '../../src/synthetic/weights.js';

/**
 * Dawn options for the Node GPU tests: skip the zero-initialisation of workgroup memory, which the
 * decode kernels do not rely on (they write every workgroup word before reading it) and which makes
 * SwiftShader compile them for ~5 s instead of ~1 s. The browser test and the default-limits test run
 * without it.
 */
export const FAST_COMPILE_DAWN_OPTIONS = ['enable-dawn-features=disable_workgroup_init'];

/** A GPU context; throws Df11Error 'no-adapter' (failing the test) when there is none. */
export async function testGpu(options: AcquireGpuOptions = {}): Promise<GpuContext> {
  const ctx = await acquireGpu({ dawnOptions: FAST_COMPILE_DAWN_OPTIONS, ...options });
  ctx.device.addEventListener('uncapturederror', (e) => {
    throw new Error(`uncaptured WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
  });
  return ctx;
}

export function adapterLine(ctx: GpuContext): string {
  return `adapter: ${describeAdapter(ctx.adapter)}`;
}

/** normal(0, 0.02) weights: about 2.6 bits per exponent, ~12.3 k elements per chunk. */
export function normalWeights(n: number, seed = 1): Uint16Array {
  return syntheticBf16Weights(n, { seed });
}

/** One exponent (127) in 31 of 32 weights: 1-bit codes, ~31 k elements per chunk. */
export function skewedWeights(n: number, seed = 2): Uint16Array {
  const next = mulberry32(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    const exponent = (r & 31) === 0 ? 100 + ((r >>> 5) % 40) : 127;
    out[i] = ((r >>> 16) & 0x807f) | (exponent << 7);
  }
  return out;
}

/** Geometric exponents 100..135: code lengths up to ~30 bits, so every LUT level is used. */
export function longCodeWeights(n: number, seed = 3): Uint16Array {
  const next = mulberry32(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    const exponent = 100 + Math.min(Math.clz32(next() | 1), 35);
    out[i] = (r & 0x807f) | (exponent << 7);
  }
  return out;
}

/**
 * Exponent 100+i appears Fib(i+1) times (i < symbols), shuffled: a Huffman code as deep as the number
 * of symbols, so 26 symbols (317 810 weights) reach 25-bit codes and the 4th LUT level.
 */
export function fibonacciWeights(symbols: number, seed = 5): Uint16Array {
  const counts: number[] = [1, 1];
  while (counts.length < symbols) counts.push(counts[counts.length - 1]! + counts[counts.length - 2]!);
  const n = counts.slice(0, symbols).reduce((a, b) => a + b, 0);
  const next = mulberry32(seed);
  const out = new Uint16Array(n);
  let k = 0;
  counts.slice(0, symbols).forEach((c, i) => {
    for (let j = 0; j < c; j++) out[k++] = (next() & 0x807f) | ((100 + i) << 7);
  });
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const v = out[i]!;
    out[i] = out[j]!;
    out[j] = v;
  }
  return out;
}

/** Exponents spread evenly over 1..239: ~8-bit codes. */
export function wideWeights(n: number, seed = 4): Uint16Array {
  const next = mulberry32(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = (r & 0x807f) | ((1 + ((r >>> 8) % 239)) << 7);
  }
  return out;
}

export function encode(weights: Uint16Array): Df11Unit {
  return encodeUnit(weights);
}

/** Asserts `got` equals the oracle's decode of `unit`, reporting the first differing element. */
export function assertMatchesOracle(got: Uint16Array, unit: Df11Unit, label: string): void {
  const want = decodeUnit(unit);
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`${label}: element ${i} of ${want.length} is 0x${got[i]!.toString(16)}, oracle 0x${want[i]!.toString(16)}`);
  }
}
