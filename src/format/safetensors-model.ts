// A model stored as one or more safetensors files: a single file, a directory with an index
// (`model.safetensors.index.json`), or a directory of `*.safetensors` files read by tensor name
// (how DF11 directories are read, df11-format.md §2.1). Keeps one open reader per file and only
// headers in memory.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../errors.js';
import type { TensorEntry } from './safetensors-header.js';
import { SafetensorsReader } from './safetensors-reader.js';
import { INDEX_FILE_NAME, INDEX_FILE_SUFFIX, MAX_INDEX_BYTES, parseSafetensorsIndex } from './safetensors-index.js';
import { ioError } from './file-io.js';

/** Extension of the files read from a directory without an index. */
export const SAFETENSORS_SUFFIX = '.safetensors';

export interface SafetensorsModelOptions {
  /**
   * Read every `*.safetensors` file of a directory even when an index exists (DF11 directories are
   * defined that way: df11-format.md §2.1 says to ignore `*.index.json`). Default false.
   */
  ignoreIndex?: boolean;
}

export class SafetensorsModel {
  private constructor(
    private readonly readers: SafetensorsReader[],
    private readonly byName: Map<string, SafetensorsReader>,
    /** the index file used, or null */
    readonly indexPath: string | null,
  ) {}

  /** `__metadata__` of the first (or only) file: the first shard in index order, else in name order. */
  get metadata(): Record<string, string> | null {
    return this.readers[0]?.header.metadata ?? null;
  }

  /**
   * Opens `pathOrDir`:
   * - a file: that one safetensors file;
   * - a directory with `model.safetensors.index.json` (else exactly one `*.safetensors.index.json`),
   *   unless options.ignoreIndex: the shards it names; every shard must exist (io) and hold every
   *   tensor mapped to it (tensor-not-found); shard tensors absent from the map are not exposed;
   * - any other directory: all its `*.safetensors` files; a tensor name in two files is duplicate-tensor,
   *   no file at all is io.
   * Every header is fully validated. Throws Df11Error; on error nothing is left open.
   */
  static async open(pathOrDir: string, options: SafetensorsModelOptions = {}): Promise<SafetensorsModel> {
    let isDir: boolean;
    try {
      isDir = (await stat(pathOrDir)).isDirectory();
    } catch (cause) {
      throw ioError('cannot stat', cause, { file: pathOrDir });
    }
    if (!isDir) {
      const r = await SafetensorsReader.open(pathOrDir);
      return new SafetensorsModel([r], new Map(r.names().map((n) => [n, r])), null);
    }
    let names: string[];
    try {
      names = (await readdir(pathOrDir)).sort();
    } catch (cause) {
      throw ioError('cannot list directory', cause, { file: pathOrDir });
    }
    if (!options.ignoreIndex) {
      const indexes = names.filter((n) => n.endsWith(INDEX_FILE_SUFFIX));
      const index = names.includes(INDEX_FILE_NAME) ? INDEX_FILE_NAME : indexes.length === 1 ? indexes[0] : undefined;
      if (index !== undefined) return SafetensorsModel.openIndexed(pathOrDir, join(pathOrDir, index));
    }
    const files: string[] = [];
    for (const n of names) {
      if (!n.endsWith(SAFETENSORS_SUFFIX)) continue;
      const p = join(pathOrDir, n);
      try {
        if ((await stat(p)).isFile()) files.push(p);
      } catch (cause) {
        throw ioError('cannot stat', cause, { file: p });
      }
    }
    if (files.length === 0) throw new Df11Error('io', `no *${SAFETENSORS_SUFFIX} file in the directory`, { file: pathOrDir });
    const readers = await openAll(files);
    const byName = new Map<string, SafetensorsReader>();
    for (const r of readers) {
      for (const n of r.names()) {
        const other = byName.get(n);
        if (other !== undefined) {
          await closeAll(readers).catch(() => undefined);
          throw new Df11Error('duplicate-tensor', `tensor is in both ${other.path} and ${r.path}`, { file: r.path, tensor: n });
        }
        byName.set(n, r);
      }
    }
    return new SafetensorsModel(readers, byName, null);
  }

  private static async openIndexed(dir: string, indexPath: string): Promise<SafetensorsModel> {
    let bytes: Uint8Array;
    try {
      const size = (await stat(indexPath)).size;
      if (size > MAX_INDEX_BYTES) {
        throw new Df11Error('header-too-large', `index of ${size} bytes exceeds the limit of ${MAX_INDEX_BYTES} bytes`, { file: indexPath });
      }
      bytes = await readFile(indexPath);
    } catch (cause) {
      throw ioError('cannot read index', cause, { file: indexPath });
    }
    const index = parseSafetensorsIndex(bytes, indexPath);
    const readers = await openAll(index.files.map((f) => join(dir, f)));
    const byFile = new Map(index.files.map((f, i) => [f, readers[i] as SafetensorsReader]));
    const byName = new Map<string, SafetensorsReader>();
    for (const [tensor, file] of index.weightMap) {
      const r = byFile.get(file) as SafetensorsReader;
      if (!r.has(tensor)) {
        await closeAll(readers).catch(() => undefined);
        throw new Df11Error('tensor-not-found', `index ${indexPath} maps the tensor to this file, which lacks it`, { file: r.path, tensor });
      }
      byName.set(tensor, r);
    }
    return new SafetensorsModel(readers, byName, indexPath);
  }

  /** Tensor names: index order for an indexed model, else file by file (name order), header order within. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Paths of the files, in the order their readers were opened. */
  files(): string[] {
    return this.readers.map((r) => r.path);
  }

  /** The tensor's entry plus the path of its file. Throws tensor-not-found. */
  entry(name: string): TensorEntry & { file: string } {
    const r = this.reader(name);
    return { ...r.entry(name), file: r.path };
  }

  /** The reader of the file holding `name`. Throws tensor-not-found. */
  reader(name: string): SafetensorsReader {
    const r = this.byName.get(name);
    if (r === undefined) throw new Df11Error('tensor-not-found', 'no such tensor in the model', { file: this.indexPath ?? this.readers[0]?.path, tensor: name });
    return r;
  }

  /** The tensor's bytes in a fresh buffer (see SafetensorsReader.read). */
  read(name: string): Promise<Uint8Array> {
    return this.reader(name).read(name);
  }

  async close(): Promise<void> {
    await closeAll(this.readers);
  }
}

/** Opens every file; if any fails, closes the others and rethrows the first failure. */
async function openAll(paths: readonly string[]): Promise<SafetensorsReader[]> {
  const settled = await Promise.allSettled(paths.map((p) => SafetensorsReader.open(p)));
  const readers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await closeAll(readers).catch(() => undefined);
    throw failed.reason;
  }
  return readers;
}

async function closeAll(readers: readonly SafetensorsReader[]): Promise<void> {
  const results = await Promise.allSettled(readers.map((r) => r.close()));
  const failed = results.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
