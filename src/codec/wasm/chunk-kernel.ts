// Chooses the chunk decoder for chunk-range decoding (the decode pool's workers): the WebAssembly
// decoder (decode-wasm.ts) where WebAssembly is available, else the TypeScript one (decode-chunked.ts).
// Both have the same semantics and errors; only their speed differs.
import { createChunkScratch, decodePreparedChunks, prepareUnit } from '../decode-chunked.js';
import type { Df11Unit } from '../unit.js';
import type { UnitContext } from '../validate-unit.js';
import { codecWasm } from './codec-wasm.js';
import { decodePreparedChunksWasm, prepareUnitWasm } from './decode-wasm.js';

/** Which chunk decoder to use: 'auto' (WebAssembly where available), 'wasm' (required), 'js'. */
export type DecodeKernel = 'auto' | 'wasm' | 'js';

/** A unit prepared for decoding chunk ranges with one kernel. */
export interface ChunkRangeDecoder {
  /** The kernel that runs. */
  readonly kernel: 'wasm' | 'js';
  /** K, the unit's chunks. */
  readonly chunks: number;
  /** Decodes chunks [first, end) into `out` (see decodeChunksInto). */
  decode(out: Uint16Array, first: number, end: number): void;
}

/** Scratch of the TypeScript chunk decoder, one per thread. */
let scratch: Int32Array | undefined;

/**
 * Validates `unit` (Df11Error 'unit-invalid') and prepares it for the chosen kernel.
 * @throws Error for 'wasm' where WebAssembly is unavailable.
 */
export function prepareChunkRangeDecoder(unit: Df11Unit, context: UnitContext, kernel: DecodeKernel = 'auto'): ChunkRangeDecoder {
  const wasm = kernel === 'js' ? undefined : codecWasm();
  if (wasm) {
    const prepared = prepareUnitWasm(unit, context);
    return { kernel: 'wasm', chunks: prepared.index.chunks, decode: (out, first, end) => decodePreparedChunksWasm(prepared, out, first, end, wasm) };
  }
  if (kernel === 'wasm') throw new Error('decode: the WebAssembly kernels are not available in this environment');
  const prepared = prepareUnit(unit, context);
  const own = (scratch ??= createChunkScratch());
  return { kernel: 'js', chunks: prepared.index.chunks, decode: (out, first, end) => decodePreparedChunks(prepared, out, first, end, own) };
}
