// Random-access reader for one safetensors file. Only the header is held in memory; tensor bytes are
// read on demand with positioned reads, so a file of any size (up to 2^53 bytes) can be served with
// memory bounded by what the caller asks for at once.

import { open, type FileHandle } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { Df11Error } from '../errors.js';
import { HEADER_LENGTH_BYTES, parseSafetensorsHeader, readHeaderLength, type SafetensorsHeader, type TensorEntry } from './safetensors-header.js';
import { ioError, readFully } from './file-io.js';

/** Default size of the chunks `stream()` yields, in bytes. */
export const DEFAULT_STREAM_CHUNK_BYTES = 4 * 1024 * 1024;

export class SafetensorsReader {
  private fh: FileHandle | null;
  private readonly byName: Map<string, TensorEntry>;

  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    /** size of the file when it was opened, in bytes */
    readonly fileSize: number,
    fh: FileHandle,
  ) {
    this.fh = fh;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /**
   * Opens `path` and reads and validates its header (see parseSafetensorsHeader for the checks).
   * Throws Df11Error: io (cannot open/read, not a regular file) or any header error code.
   */
  static async open(path: string): Promise<SafetensorsReader> {
    const ctx = { file: path };
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (cause) {
      throw ioError('cannot open', cause, ctx);
    }
    try {
      let size: number;
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new Df11Error('io', 'not a regular file', ctx);
        size = st.size;
      } catch (cause) {
        throw ioError('cannot stat', cause, ctx);
      }
      if (size < HEADER_LENGTH_BYTES) {
        throw new Df11Error('truncated-file', `file of ${size} bytes is shorter than the ${HEADER_LENGTH_BYTES}-byte header length`, ctx);
      }
      const prefix = new Uint8Array(HEADER_LENGTH_BYTES);
      await readFully(fh, prefix, 0, ctx);
      const n = readHeaderLength(prefix, size, path);
      const json = new Uint8Array(n);
      await readFully(fh, json, HEADER_LENGTH_BYTES, ctx);
      const header = parseSafetensorsHeader(json, size, path);
      return new SafetensorsReader(path, header, size, fh);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  /** The header's `__metadata__` (string -> string), or null when absent. */
  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }

  /** The tensor's header entry. Throws Df11Error tensor-not-found. */
  entry(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw new Df11Error('tensor-not-found', 'no such tensor in this file', { file: this.path, tensor: name });
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Tensor names in header order. */
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  /**
   * The tensor's bytes in a fresh Uint8Array with its own ArrayBuffer (byteOffset 0, so typed-array
   * views need no copy). Throws tensor-not-found, truncated-file, io (also when the tensor is larger
   * than the largest buffer Node can allocate: use stream() or readRange() for those).
   */
  async read(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.readAbsolute(e, e.start, e.end - e.start);
  }

  /**
   * `byteLength` bytes of the tensor starting `byteOffset` bytes into it, in a fresh buffer.
   * Throws offsets-invalid when the range is not inside the tensor, plus read()'s errors.
   */
  async readRange(name: string, byteOffset: number, byteLength: number): Promise<Uint8Array> {
    const e = this.entry(name);
    this.checkRange(e, byteOffset, byteLength);
    return this.readAbsolute(e, e.start + byteOffset, byteLength);
  }

  /** Fills `target` with the tensor's bytes starting `byteOffset` bytes into it. Errors as readRange(). */
  async readRangeInto(name: string, byteOffset: number, target: Uint8Array): Promise<void> {
    const e = this.entry(name);
    this.checkRange(e, byteOffset, target.length);
    await readFully(this.handle(e), target, e.start + byteOffset, { file: this.path, tensor: name });
  }

  /**
   * The tensor's bytes as consecutive fresh chunks of `chunkBytes` (the last may be shorter; a
   * zero-byte tensor yields nothing). Holds one chunk at a time. Arguments are checked before this
   * returns (offsets-invalid for a bad chunk size, tensor-not-found).
   */
  stream(name: string, chunkBytes: number = DEFAULT_STREAM_CHUNK_BYTES): AsyncIterable<Uint8Array> {
    const e = this.entry(name);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > bufferConstants.MAX_LENGTH) {
      throw new Df11Error('offsets-invalid', `chunk size ${chunkBytes} is not a positive integer up to ${bufferConstants.MAX_LENGTH}`, { file: this.path, tensor: name });
    }
    const self = this;
    return (async function* chunks() {
      for (let at = e.start; at < e.end; at += chunkBytes) {
        yield await self.readAbsolute(e, at, Math.min(chunkBytes, e.end - at));
      }
    })();
  }

  /** Closes the file; later reads throw io. Safe to call twice. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) {
      try {
        await fh.close();
      } catch (cause) {
        throw ioError('close failed', cause, { file: this.path });
      }
    }
  }

  private checkRange(e: TensorEntry, byteOffset: number, byteLength: number): void {
    const size = e.end - e.start;
    if (!Number.isSafeInteger(byteOffset) || !Number.isSafeInteger(byteLength) || byteOffset < 0 || byteLength < 0 || byteOffset > size - byteLength) {
      throw new Df11Error('offsets-invalid', `range [${byteOffset}, +${byteLength}) is not inside the tensor's ${size} bytes`, { file: this.path, tensor: e.name });
    }
  }

  private handle(e: TensorEntry): FileHandle {
    if (this.fh === null) throw new Df11Error('io', 'reader is closed', { file: this.path, tensor: e.name });
    return this.fh;
  }

  private async readAbsolute(e: TensorEntry, position: number, length: number): Promise<Uint8Array> {
    const fh = this.handle(e);
    if (length > bufferConstants.MAX_LENGTH) {
      throw new Df11Error('io', `${length} bytes exceed the largest buffer (${bufferConstants.MAX_LENGTH} bytes); read it with stream() or readRange()`, { file: this.path, tensor: e.name });
    }
    // allocUnsafeSlow: never from the shared pool, so the result owns its ArrayBuffer. Every byte is
    // overwritten by readFully or an error is thrown, so no stale memory escapes.
    const buf = Buffer.allocUnsafeSlow(length);
    const out = new Uint8Array(buf.buffer, buf.byteOffset, length);
    await readFully(fh, out, position, { file: this.path, tensor: e.name });
    return out;
  }
}
