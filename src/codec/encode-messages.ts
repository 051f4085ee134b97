// Messages between encode-parallel.ts and encode-worker.ts (structured-clone types only).
import type { Df11ErrorCode } from '../errors.js';
import type { Df11Unit } from './unit.js';

export interface EncodeRequest {
  id: number;
  /** Owns exactly the unit's BF16 words (transferred to the worker). */
  buffer: ArrayBuffer;
  elements: number;
  pieceSizes: number[];
  checksum: boolean;
}

export interface SerializedError {
  code: Df11ErrorCode | undefined;
  message: string;
  tensor: string | undefined;
  stack: string | undefined;
}

export type EncodeReply =
  | { id: number; ok: true; unit: Df11Unit; sha256: string | undefined }
  | { id: number; ok: false; error: SerializedError };
