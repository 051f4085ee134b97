/**
 * Writing DF11 models in the two on-disk layouts (df11-format.md §2.1, §2.2).
 *
 * - Directory with per-unit shards: `<unit path with . → _>.safetensors` holds the unit's six DF11
 *   tensors (`<path>.<field>`, in the reference's field order) and the module's other tensors; a
 *   remainder file (`model.safetensors`, or `diffusion_pytorch_model.safetensors` for diffusers)
 *   holds every tensor outside all units; `config.json` is the original config plus
 *   `dfloat11_config`.
 * - Single file: one safetensors file with everything (units first, in the given order, then the
 *   other tensors), and `config.json` beside it.
 *
 * Every file is written atomically (temp file + rename), so an interrupted run leaves no partial
 * file under a final name. Tensor data can be given in memory or produced on demand (a promise or an
 * async stream of chunks), so models larger than memory can be written tensor by tensor.
 *
 * Optional checksums: a unit's `__metadata__` entry `df11.sha256.<unit path>` holds the hex SHA-256
 * of the unit's decoded BF16 bytes in element order (little-endian uint16), for verification. The
 * caller computes it; this layer stores and reads it.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Df11Error } from '../errors.js';
import { isDtype } from './dtype.js';
import { tensorByteSize, type TensorSpec } from './safetensors-header.js';
import { SafetensorsWriter } from './safetensors-writer.js';
import { ioError } from './file-io.js';
import { withDf11Config, type Df11Config } from './df11-config.js';
import { checkUnitTensors, DF11_FIELDS, unitFieldBytes, unitTensorShapes, type Df11UnitTensors } from './df11-unit-tensors.js';

/** Remainder file of a transformers model (and the single-file layout's default name). */
export const DF11_REMAINDER_FILE = 'model.safetensors';
/** Remainder file of a diffusers model. */
export const DF11_DIFFUSERS_REMAINDER_FILE = 'diffusion_pytorch_model.safetensors';
export const DF11_CONFIG_FILE = 'config.json';
/** `__metadata__` key prefix of a unit's decoded-BF16 SHA-256 (hex); the unit path follows. */
export const DF11_CHECKSUM_KEY_PREFIX = 'df11.sha256.';
const SAFETENSORS_EXT = '.safetensors';
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const TEMP_SUFFIX_BYTES = 6;
/** Indentation of the written config.json (as transformers writes it). */
const CONFIG_JSON_INDENT = 2;

/** Shard file name of a unit: `model.layers.0` → `model_layers_0.safetensors`. */
export function unitShardFileName(unitPath: string): string {
  return unitPath.replace(/\./g, '_') + SAFETENSORS_EXT;
}

/** The `__metadata__` key that holds a unit's checksum. */
export function checksumMetadataKey(unitPath: string): string {
  return DF11_CHECKSUM_KEY_PREFIX + unitPath;
}

/** Tensor data: in memory, or produced when it is written (one buffer, or chunks in order). */
export type TensorData = Uint8Array | (() => Promise<Uint8Array> | AsyncIterable<Uint8Array>);

/** A tensor to write. */
export interface TensorSource extends TensorSpec {
  data: TensorData;
}

/** A unit to write: its six tensors, the module's other tensors and an optional checksum. */
export interface UnitToWrite {
  path: string;
  unit: Df11UnitTensors;
  /** The module's other tensors (norms, biases), stored uncompressed beside the unit. */
  extras?: readonly TensorSource[];
  /** Hex SHA-256 of the unit's decoded BF16 bytes, stored in `__metadata__`. */
  sha256?: string;
}

/**
 * The six DF11 tensors of a unit as write sources, named `<path>.<field>` in the reference's field
 * order. Validates the unit first (checkUnitTensors: `unit-invalid` naming the tensor).
 */
export function unitTensorSources(path: string, unit: Df11UnitTensors, file?: string): TensorSource[] {
  const ctx = { path, file };
  checkUnitTensors(unit, ctx);
  const shapes = unitTensorShapes(unit, ctx);
  return DF11_FIELDS.map((f) => ({ name: `${path}.${f.name}`, dtype: f.dtype, shape: [...shapes[f.name]], data: unitFieldBytes(unit, f.key) }));
}

function checksumEntries(units: readonly UnitToWrite[], file: string): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const u of units) {
    if (u.sha256 === undefined) continue;
    if (!HEX_SHA256.test(u.sha256)) throw new Df11Error('usage', `checksum of unit ${u.path} is not 64 lowercase hex digits`, { file });
    meta[checksumMetadataKey(u.path)] = u.sha256;
  }
  return meta;
}

async function writeOne(w: SafetensorsWriter, t: TensorSource, file: string): Promise<void> {
  const want = isDtype(t.dtype) ? tensorByteSize(t.shape, t.dtype) : undefined;
  const data = typeof t.data === 'function' ? t.data() : t.data;
  const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = data instanceof Promise ? [await data] : data instanceof Uint8Array ? [data] : data;
  let got = 0;
  for await (const c of chunks) {
    got += c.length;
    if (want !== undefined && got > want) break;
    await w.write(c);
  }
  if (want !== undefined && got !== want) {
    throw new Df11Error('shape-size-mismatch', `data has ${got > want ? 'more than ' + want : got} bytes but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${want}`, { file, tensor: t.name });
  }
}

/**
 * Writes one safetensors file from tensor sources, in the given order, atomically. Throws
 * `shape-size-mismatch` when a source's data does not match its shape, plus SafetensorsWriter's
 * errors (duplicate names, io); on error no file is left under `file`.
 */
export async function writeTensorFile(file: string, tensors: readonly TensorSource[], metadata?: Record<string, string> | null): Promise<void> {
  const hasMeta = metadata !== undefined && metadata !== null && Object.keys(metadata).length > 0;
  const w = await SafetensorsWriter.create(file, tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] })), hasMeta ? metadata : undefined);
  try {
    for (const t of tensors) await writeOne(w, t, file);
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** Writes a unit's shard into `dir` (§2.1); returns the file's path. */
export async function writeUnitShard(dir: string, unit: UnitToWrite): Promise<string> {
  const file = join(dir, unitShardFileName(unit.path));
  const tensors = [...unitTensorSources(unit.path, unit.unit, file), ...(unit.extras ?? [])];
  await writeTensorFile(file, tensors, checksumEntries([unit], file));
  return file;
}

/** `__metadata__` of the remainder file, as transformers' save_pretrained writes it (the reference's remainder has it). */
export const DF11_REMAINDER_METADATA: Readonly<Record<string, string>> = Object.freeze({ format: 'pt' });

/** Writes the remainder file (every tensor outside all units) into `dir`; returns its path. */
export async function writeRemainderFile(
  dir: string,
  tensors: readonly TensorSource[],
  fileName: string = DF11_REMAINDER_FILE,
  metadata: Readonly<Record<string, string>> | null = DF11_REMAINDER_METADATA,
): Promise<string> {
  const file = join(dir, fileName);
  await writeTensorFile(file, tensors, metadata === null ? null : { ...metadata });
  return file;
}

/** Writes `text` to `file` atomically (temp file in the same directory, fsync, rename). */
async function writeTextAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(TEMP_SUFFIX_BYTES).toString('hex')}`;
  try {
    const fh = await open(temp, 'wx');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, file);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw ioError('cannot write', cause, { file });
  }
}

/**
 * Writes `config.json` into `dir`: the original model config (key order kept) with
 * `dfloat11_config` set, or `{"dfloat11_config": …}` when there is none. Returns its path.
 */
export async function writeDf11ConfigFile(dir: string, modelConfig: Readonly<Record<string, unknown>> | null | undefined, df11Config: Df11Config): Promise<string> {
  const file = join(dir, DF11_CONFIG_FILE);
  await writeTextAtomic(file, JSON.stringify(withDf11Config(modelConfig, df11Config), null, CONFIG_JSON_INDENT) + '\n');
  return file;
}

export interface Df11DirectoryToWrite {
  modelConfig?: Readonly<Record<string, unknown>> | null;
  df11Config: Df11Config;
  units: readonly UnitToWrite[];
  /** Every tensor outside all units. */
  remainder: readonly TensorSource[];
  /** Default DF11_REMAINDER_FILE. The file is written even when `remainder` is empty. */
  remainderFileName?: string;
  /** Default DF11_REMAINDER_METADATA; null for none. */
  remainderMetadata?: Readonly<Record<string, string>> | null;
}

/** Writes a whole per-unit-shard directory (§2.1): unit shards in order, the remainder, config.json last. */
export async function writeDf11Directory(dir: string, model: Df11DirectoryToWrite): Promise<void> {
  const names = new Set<string>();
  for (const u of model.units) {
    const f = unitShardFileName(u.path);
    if (names.has(f)) throw new Df11Error('duplicate-tensor', `two units share the shard file name ${f}`, { file: join(dir, f) });
    names.add(f);
  }
  const remainderName = model.remainderFileName ?? DF11_REMAINDER_FILE;
  if (names.has(remainderName)) throw new Df11Error('duplicate-tensor', `a unit shard would overwrite the remainder file`, { file: join(dir, remainderName) });
  for (const u of model.units) await writeUnitShard(dir, u);
  await writeRemainderFile(dir, model.remainder, remainderName, model.remainderMetadata === undefined ? DF11_REMAINDER_METADATA : model.remainderMetadata);
  await writeDf11ConfigFile(dir, model.modelConfig, model.df11Config);
}

export interface Df11SingleFileToWrite {
  modelConfig?: Readonly<Record<string, unknown>> | null;
  df11Config: Df11Config;
  units: readonly UnitToWrite[];
  /** Every tensor outside all units. */
  others: readonly TensorSource[];
  /** Write config.json beside the file (default true; ComfyUI-native files have none). */
  writeConfig?: boolean;
}

/**
 * Writes the single-file layout (§2.2): `file` holds each unit's six tensors and extras (units in
 * order), then the other tensors; all checksums go into its `__metadata__`; `config.json` goes
 * beside it unless `writeConfig` is false.
 */
export async function writeDf11SingleFile(file: string, model: Df11SingleFileToWrite): Promise<void> {
  const tensors: TensorSource[] = [];
  for (const u of model.units) tensors.push(...unitTensorSources(u.path, u.unit, file), ...(u.extras ?? []));
  tensors.push(...model.others);
  await writeTensorFile(file, tensors, checksumEntries(model.units, file));
  if (model.writeConfig ?? true) await writeDf11ConfigFile(dirname(file), model.modelConfig, model.df11Config);
}
