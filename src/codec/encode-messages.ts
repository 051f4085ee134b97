// Messages between encode-parallel.ts and encode-worker.ts (structured-clone types only).
import type { Df11ErrorCode } from '../errors.js';
import type { LimiterTie, LimiterTiePolicy } from './huffman-build.js';
import type { Df11Unit } from './unit.js';

export interface EncodeRequest {
  id: number;
  /** Owns exactly the unit's BF16 words (transferred to the worker). */
  buffer: ArrayBuffer;
  elements: number;
  pieceSizes: number[];
  checksum: boolean;
  ties: LimiterTiePolicy;
}

export interface SerializedError {
  code: Df11ErrorCode | undefined;
  message: string;
  tensor: string | undefined;
  stack: string | undefined;
}

export type EncodeReply =
  | { id: number; ok: true; unit: Df11Unit; sha256: string | undefined; limiterTies: LimiterTie[] }
  | { id: number; ok: false; error: SerializedError };
