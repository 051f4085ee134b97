// Streaming, atomic safetensors writer. The tensors are declared up front so the header can be written
// first; their data is then streamed in declared order in pieces of any size. Memory use is bounded by
// WRITE_BUFFER_BYTES (small writes are coalesced) whatever the model size.
//
// Atomicity: everything goes to `<path>.tmp-<random>` in the same directory; finish() checks the byte
// count, fsyncs, and renames it over `path`. A crash or abort() never leaves a partial file under
// `path` (at worst a stray temp file, which abort() removes).

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { Df11Error } from '../errors.js';
import { isDtype } from './dtype.js';
import { encodeSafetensorsHeader, tensorByteSize, type TensorSpec } from './safetensors-header.js';
import { ioError, writeFully } from './file-io.js';

/** Writes smaller than this are copied into a buffer of this size and written together. */
export const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Random bytes in the temp-file suffix (hex-encoded). */
const TEMP_SUFFIX_BYTES = 6;

type WriterState = 'open' | 'failed' | 'finished' | 'aborted';

export class SafetensorsWriter {
  private state: WriterState = 'open';
  private written = 0;
  private buffered = 0;
  private readonly buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  /** Serialises write()/finish() calls made without awaiting the previous one. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    /** total bytes of the data section that write() must supply */
    readonly dataBytes: number,
    private readonly dataStart: number,
    private fh: FileHandle | null,
  ) {}

  /**
   * Validates the declared tensors (see encodeSafetensorsHeader for the errors), creates the temp
   * file and writes the header. Throws io when the temp file cannot be created or written.
   */
  static async create(path: string, tensors: readonly TensorSpec[], metadata?: Record<string, string> | null): Promise<SafetensorsWriter> {
    let header;
    try {
      header = encodeSafetensorsHeader(tensors, metadata);
    } catch (e) {
      throw e instanceof Df11Error ? e.withContext({ file: path }) : e;
    }
    const tempPath = `${path}.tmp-${randomBytes(TEMP_SUFFIX_BYTES).toString('hex')}`;
    let fh: FileHandle;
    try {
      fh = await open(tempPath, 'wx');
    } catch (cause) {
      throw ioError('cannot create temp file', cause, { file: tempPath });
    }
    const w = new SafetensorsWriter(path, tempPath, header.dataBytes, header.dataStart, fh);
    try {
      await writeFully(fh, header.bytes, 0, { file: tempPath });
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w;
  }

  /** Bytes of the data section accepted so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * Appends the next bytes of the data section (tensors back to back in declared order). The bytes may
   * be reused by the caller once the promise settles. Throws shape-size-mismatch when they would run
   * past the declared data size (nothing is written then), io on write errors, io after finish/abort.
   */
  write(bytes: Uint8Array): Promise<void> {
    const p = this.queue.then(() => this.writeNow(bytes));
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Flushes, checks that exactly dataBytes were written (else removes the temp file and throws
   * shape-size-mismatch), fsyncs, closes and renames the temp file to `path`.
   */
  finish(): Promise<void> {
    const p = this.queue.then(() => this.finishNow());
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Closes and removes the temp file; `path` is left untouched. Safe to call at any time, and twice. */
  async abort(): Promise<void> {
    await this.queue;
    if (this.state === 'finished' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.discard();
  }

  /** Closes and removes the temp file, ignoring errors (it may already be gone). */
  private async discard(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }

  private ctx(): { file: string } {
    return { file: this.path };
  }

  private async writeNow(bytes: Uint8Array): Promise<void> {
    const fh = this.openHandle();
    if (bytes.length > this.dataBytes - this.written) {
      throw new Df11Error('shape-size-mismatch', `write of ${bytes.length} bytes runs past the declared data size (${this.dataBytes} bytes, ${this.written} written)`, this.ctx());
    }
    try {
      if (this.buffered + bytes.length <= WRITE_BUFFER_BYTES) {
        this.buffer.set(bytes, this.buffered);
        this.buffered += bytes.length;
        this.written += bytes.length;
        if (this.buffered === WRITE_BUFFER_BYTES) await this.flush(fh);
        return;
      }
      await this.flush(fh);
      if (bytes.length < WRITE_BUFFER_BYTES) {
        this.buffer.set(bytes, 0);
        this.buffered = bytes.length;
      } else {
        await writeFully(fh, bytes, this.dataStart + this.written, { file: this.tempPath });
      }
      this.written += bytes.length;
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }

  /** Writes the buffered bytes, which end at data offset `written`. */
  private async flush(fh: FileHandle): Promise<void> {
    if (this.buffered === 0) return;
    const at = this.dataStart + this.written - this.buffered;
    await writeFully(fh, this.buffer.subarray(0, this.buffered), at, { file: this.tempPath });
    this.buffered = 0;
  }

  private async finishNow(): Promise<void> {
    const fh = this.openHandle();
    if (this.written !== this.dataBytes) {
      const err = new Df11Error('shape-size-mismatch', `${this.written} bytes written but the declared tensors hold ${this.dataBytes}`, this.ctx());
      this.state = 'failed';
      await this.discard();
      throw err;
    }
    try {
      await this.flush(fh);
      await fh.sync();
      this.fh = null;
      await fh.close();
      await rename(this.tempPath, this.path);
    } catch (cause) {
      this.state = 'failed';
      throw ioError('cannot complete the file', cause, this.ctx());
    }
    this.state = 'finished';
    await syncDirectory(dirname(this.path));
  }

  private openHandle(): FileHandle {
    if (this.state !== 'open' || this.fh === null) {
      throw new Df11Error('io', `writer is ${this.state === 'open' ? 'closed' : this.state}`, this.ctx());
    }
    return this.fh;
  }
}

/**
 * Writes a whole file from in-memory tensors (small files, tests). Throws shape-size-mismatch when a
 * tensor's data length differs from its shape, plus SafetensorsWriter's errors; never leaves a
 * partial file under `path`.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly (TensorSpec & { data: Uint8Array })[],
  metadata?: Record<string, string> | null,
): Promise<void> {
  for (const t of tensors) {
    const want = isDtype(t.dtype) ? tensorByteSize(t.shape, t.dtype) : undefined;
    if (want !== undefined && want !== t.data.length) {
      throw new Df11Error('shape-size-mismatch', `data has ${t.data.length} bytes but shape [${t.shape.join(',')}] of ${t.dtype} needs ${want}`, { file: path, tensor: t.name });
    }
  }
  const w = await SafetensorsWriter.create(path, tensors, metadata);
  try {
    for (const t of tensors) await w.write(t.data);
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** fsync the directory so the rename itself is durable; not every platform allows it, so best effort. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows and some file systems refuse fsync on directories; the data itself is already synced.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
