// Shared builders for the DF11 layout tests: temp directories, small BF16 weights and structurally
// valid (not necessarily decodable) DF11 units.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Df11UnitTensors } from '../../src/format/df11-unit-tensors.js';
import type { TensorInfo } from '../../src/format/df11-units.js';
import type { Dtype } from '../../src/format/dtype.js';

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'df11-layout-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function info(name: string, shape: number[], dtype: Dtype = 'BF16'): TensorInfo {
  return { name, dtype, shape };
}

/** Deterministic BF16 weights with a trained-network-like exponent spread (exponents 112..124). */
export function bf16Weights(n: number, seed: number): Uint16Array {
  const out = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = s >>> 8;
    const exponent = 124 - Math.min(12, Math.clz32(r & 0xfff) - 20); // geometric-ish, 112..124
    out[i] = ((s & 0x80000000) >>> 16) | (exponent << 7) | (r & 0x7f);
  }
  return out;
}

export function u16Bytes(a: Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const CHUNK_BYTES = 4096;
const GAP_BYTES_PER_CHUNK = 320;

/**
 * A unit with valid shapes and index tensors but arbitrary stream bytes: N weights, B stream bytes,
 * `pieces` equal-ish pieces. output_positions is [0, …, N] with K+1 entries.
 */
export function structuralUnit(n: number, b: number, pieceSizes: number[] = [n], lutRows = 3): Df11UnitTensors {
  const k = Math.ceil(b / CHUNK_BYTES);
  const op = new Uint8Array(4 * (k + 1));
  const view = new DataView(op.buffer);
  for (let i = 1; i <= k; i++) view.setUint32(4 * i, i === k ? n : Math.floor((n * i) / k), true);
  const split = new BigInt64Array(pieceSizes.length - 1);
  let acc = 0;
  for (let i = 0; i < split.length; i++) split[i] = BigInt((acc += pieceSizes[i]!));
  const luts = new Uint8Array(lutRows * 256).fill(120);
  return {
    luts,
    encodedExponent: new Uint8Array(b).fill(0x5a),
    signMantissa: new Uint8Array(n).map((_, i) => i & 0xff),
    outputPositions: op,
    gaps: new Uint8Array(GAP_BYTES_PER_CHUNK * k),
    splitPositions: split,
  };
}
