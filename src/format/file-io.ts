// Positioned reads and writes that loop until done and turn every failure into a Df11Error.
// Node's fs calls may transfer fewer bytes than asked and reject lengths of 2^31 or more, so large
// transfers are split into calls of at most MAX_IO_CALL_BYTES.

import type { FileHandle } from 'node:fs/promises';
import { Df11Error } from '../errors.js';

/** Largest single read or write handed to the OS (below Node's 2^31 - 1 limit). */
export const MAX_IO_CALL_BYTES = 1 << 30;

export interface IoContext {
  file: string;
  tensor?: string;
}

/** Wraps a Node fs error (or anything thrown by fs) as Df11Error io; Df11Errors pass through. */
export function ioError(what: string, cause: unknown, ctx: IoContext): Df11Error {
  if (cause instanceof Df11Error) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Df11Error('io', `${what}: ${reason}`, { ...ctx, cause });
}

/**
 * Fills `target` from the file at absolute `position`. Throws truncated-file if the file ends first,
 * io on any OS error.
 */
export async function readFully(fh: FileHandle, target: Uint8Array, position: number, ctx: IoContext): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(target.length - done, MAX_IO_CALL_BYTES);
    let got: number;
    try {
      ({ bytesRead: got } = await fh.read(target, done, want, position + done));
    } catch (cause) {
      throw ioError(`read of ${want} bytes at offset ${position + done} failed`, cause, ctx);
    }
    if (got === 0) {
      throw new Df11Error('truncated-file', `file ended at offset ${position + done}, expected ${target.length - done} more bytes`, ctx);
    }
    done += got;
  }
}

/** Writes all of `source` at absolute `position`. Throws io on any OS error. */
export async function writeFully(fh: FileHandle, source: Uint8Array, position: number, ctx: IoContext): Promise<void> {
  let done = 0;
  while (done < source.length) {
    const want = Math.min(source.length - done, MAX_IO_CALL_BYTES);
    let put: number;
    try {
      ({ bytesWritten: put } = await fh.write(source, done, want, position + done));
    } catch (cause) {
      throw ioError(`write of ${want} bytes at offset ${position + done} failed`, cause, ctx);
    }
    if (put <= 0) throw new Df11Error('io', `write at offset ${position + done} made no progress`, ctx);
    done += put;
  }
}
