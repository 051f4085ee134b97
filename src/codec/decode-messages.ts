// Messages between decode-parallel.ts and decode-worker.ts. Every typed array in a request is a view on
// a SharedArrayBuffer, so posting a request shares the unit and the output instead of copying them.
import type { Df11ErrorCode } from '../errors.js';
import type { DecodeKernel } from './wasm/chunk-kernel.js';

export interface DecodeJob {
  id: number;
  luts: Uint8Array;
  encodedExponent: Uint8Array;
  signMantissa: Uint8Array;
  outputPositions: Uint8Array;
  gaps: Uint8Array;
  /** N elements; chunk b writes only out[op[b] .. min(op[b+1], N)). */
  out: Uint16Array;
  /** [0]: next chunk to take. Workers take `batch` chunks at a time with Atomics.add. */
  nextChunk: Int32Array;
  batch: number;
  file: string | undefined;
  tensor: string | undefined;
  /** The chunk decoder the workers use (DecodePoolOptions.kernel). */
  kernel: DecodeKernel;
}

export type DecodeReply =
  | { id: number; ok: true; chunks: number }
  | { id: number; ok: false; code: Df11ErrorCode | undefined; message: string; stack: string | undefined };
