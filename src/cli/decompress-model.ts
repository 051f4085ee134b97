// DF11 model -> BF16 safetensors model: every unit decoded and cut back into its attr weights
// (df11-format.md §9), every other tensor copied unchanged, config.json without dfloat11_config.
//
// Shapes of the restored weights come from the `df11.shapes.<unit>` metadata df11 writes; files
// without it (the reference's) fall back to shapes derived from config.json. Output is one
// `model.safetensors`, or shards of at most `shardBytes` with a `model.safetensors.index.json`.
// One unit is decoded at a time (its pieces are written back to back), so memory stays around the
// largest unit's BF16 size plus its DF11 tensors. The output folder is written atomically.
import { copyFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { Df11Error } from '../errors.js';
import { DF11_CONFIG_KEY } from '../format/df11-config.js';
import { DF11_CONFIG_FILE, DF11_DIFFUSERS_REMAINDER_FILE, DF11_REMAINDER_FILE, writeTensorFile, type TensorSource } from '../format/df11-layout.js';
import type { Df11Model, Df11UnitRef } from '../format/df11-open.js';
import { openDf11ForCli } from './open-df11.js';
import { shapesFromConfig, unitPieces, type UnitPiece } from '../format/df11-pieces.js';
import { INDEX_FILE_SUFFIX } from '../format/safetensors-index.js';
import { AtomicOutputDir } from './atomic-dir.js';
import { companionFileNames } from './compress-model.js';
import type { Progress } from './progress.js';
import { COPY_CHUNK_BYTES } from './tensor-data.js';
import { createUnitDecoder, type UnitDecoder } from './unit-decoder.js';
import { tiedSourceOf } from './tied-weights.js';
import { parseShapes, PT_FORMAT_METADATA, shapesMetadataKey } from './unit-metadata.js';

/** Largest output shard before the model is split (as transformers' default max_shard_size). */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;
const BF16_BYTES = 2;
const SAFETENSORS_EXT = '.safetensors';
const CONFIG_JSON_INDENT = 2;
/** Digits of the shard counter in `model-00001-of-00002.safetensors`. */
const SHARD_NUMBER_DIGITS = 5;

export interface DecompressOptions {
  inputDir: string;
  outDir: string;
  threads: number;
  /** Decode with this decoder (e.g. openGpuUnitDecoder; the caller closes it) instead of `threads` CPU threads. */
  decoder?: UnitDecoder;
  overwrite: boolean;
  /** Split the output into shards of at most this many bytes (default DEFAULT_SHARD_BYTES). */
  shardBytes?: number;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface DecompressSummary {
  units: number;
  weights: number;
  tensors: number;
  /** Bytes of all restored tensors. */
  bytes: number;
  files: string[];
  /** Units whose stored checksum was checked. */
  checksums: number;
  /** Units whose shapes came from config.json (no df11.shapes metadata). */
  configShapes: number;
  /** Tied aliases (e.g. lm_head.weight) stored as units but not restored. */
  tied: number;
  seconds: number;
}

/** One tensor of the output and where its bytes come from. */
interface OutTensor {
  name: string;
  dtype: TensorSource['dtype'];
  shape: number[];
  bytes: number;
  unit?: Df11UnitRef;
  piece?: UnitPiece;
}

/**
 * Restores the BF16 model (see the file header). Throws Df11Error: the open errors of a DF11 model,
 * unit-invalid when a piece's shape is unknown or wrong, decode errors naming file and unit,
 * checksum-mismatch, output-exists, io, interrupted. Nothing is left under `outDir` on failure.
 */
export async function decompressModel(options: DecompressOptions): Promise<DecompressSummary> {
  const started = Date.now();
  const model = await openDf11ForCli(options.inputDir);
  const decoder = options.decoder ?? createUnitDecoder(options.threads);
  let out: AtomicOutputDir | undefined;
  try {
    const { tensors, configShapes, tied } = planOutput(model);
    const total = tensors.reduce((s, t) => s + t.bytes, 0);
    options.progress?.setTotal(total);
    out = await AtomicOutputDir.create(options.outDir, { overwrite: options.overwrite, protect: [options.inputDir] });
    const base = (await hasFile(options.inputDir, DF11_DIFFUSERS_REMAINDER_FILE)) ? DF11_DIFFUSERS_REMAINDER_FILE : DF11_REMAINDER_FILE;
    const groups = splitIntoShards(tensors, options.shardBytes ?? DEFAULT_SHARD_BYTES);
    const names = groups.length === 1 ? [base] : groups.map((_, i) => shardName(base, i + 1, groups.length));

    let current: { path: string; bf16: Uint16Array } | undefined;
    let checksums = 0;
    const decoded = async (u: Df11UnitRef): Promise<Uint16Array> => {
      if (current?.path === u.path) return current.bf16;
      current = undefined; // drop the previous unit before decoding the next
      if (options.signal?.aborted) throw new Df11Error('interrupted', 'interrupted');
      const file = u.fields.encoded_exponent.file;
      const bf16 = await decoder.decode(model, u);
      if (u.sha256 !== undefined) {
        const got = createHash('sha256').update(new Uint8Array(bf16.buffer, bf16.byteOffset, bf16.byteLength)).digest('hex');
        if (got !== u.sha256) throw new Df11Error('checksum-mismatch', `unit ${u.path} decodes to SHA-256 ${got}, the file records ${u.sha256}`, { file, tensor: u.path });
        checksums++;
      }
      current = { path: u.path, bf16 };
      return bf16;
    };
    const source = (t: OutTensor): TensorSource => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      data: () => {
        options.progress?.advance(t.bytes);
        if (t.unit === undefined || t.piece === undefined) return model.safetensors.reader(t.name).stream(t.name, COPY_CHUNK_BYTES);
        const { unit, piece } = t;
        return decoded(unit).then((bf16) => new Uint8Array(bf16.buffer, bf16.byteOffset + piece.offset * BF16_BYTES, piece.numel * BF16_BYTES));
      },
    });

    for (let i = 0; i < groups.length; i++) {
      await writeTensorFile(out.path(names[i]!), groups[i]!.map(source), PT_FORMAT_METADATA);
    }
    if (groups.length > 1) await writeIndex(out.path(`${base.slice(0, -SAFETENSORS_EXT.length)}${INDEX_FILE_SUFFIX}`), groups, names, total);
    const config = restoredConfig(model.config);
    if (config !== null) await writeFile(out.path(DF11_CONFIG_FILE), JSON.stringify(config, null, CONFIG_JSON_INDENT) + '\n');
    const dir = (await stat(options.inputDir)).isDirectory() ? options.inputDir : dirname(options.inputDir);
    for (const name of await companionFileNames(dir)) await copyFile(join(dir, name), out.path(name));
    await out.commit();
    return {
      units: model.units.length,
      weights: model.units.reduce((s, u) => s + u.geometry.n, 0),
      tensors: tensors.length,
      bytes: total,
      files: names,
      checksums,
      configShapes,
      tied,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (e) {
    await out?.abort();
    if (options.signal?.aborted) throw new Df11Error('interrupted', 'decompression interrupted; no output was written', { file: options.outDir });
    throw e;
  } finally {
    if (!options.decoder) await decoder.close();
    await model.close();
  }
}

/**
 * The output tensors: each unit's pieces (with shapes) then its extra tensors, unit by unit, then
 * every other tensor. Throws duplicate-tensor when a restored weight is also stored uncompressed.
 */
function planOutput(model: Df11Model): { tensors: OutTensor[]; configShapes: number; tied: number } {
  let tensors: OutTensor[] = [];
  let configShapes = 0;
  const copy = (name: string): OutTensor => {
    const e = model.entry(name);
    return { name, dtype: e.dtype, shape: [...e.shape], bytes: e.end - e.start };
  };
  const aliases = new Map<string, string>();
  for (const u of model.units) {
    const { pieces, fromConfig } = piecesOf(model, u);
    if (fromConfig) configShapes++;
    for (const p of pieces) {
      tensors.push({ name: p.tensor, dtype: 'BF16', shape: p.shape, bytes: p.numel * BF16_BYTES, unit: u, piece: p });
      const source = tiedSourceOf(model, u, p.tensor);
      if (source !== undefined) aliases.set(p.tensor, source);
    }
    for (const n of u.extraTensors) tensors.push(copy(n));
  }
  for (const n of model.others) tensors.push(copy(n));
  // a tied alias is left out when the tensor it aliases is restored too (the checkpoint never held it)
  const names = new Set(tensors.map((t) => t.name));
  const before = tensors.length;
  tensors = tensors.filter((t) => !(aliases.has(t.name) && names.has(aliases.get(t.name)!)));
  const tied = before - tensors.length;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new Df11Error('duplicate-tensor', 'a restored unit weight is also stored uncompressed', { file: model.path, tensor: t.name });
    seen.add(t.name);
  }
  return { tensors, configShapes, tied };
}

/** A unit's pieces: shapes from its `df11.shapes.*` metadata, else from config.json (§9). */
export function piecesOf(model: Df11Model, u: Df11UnitRef): { pieces: UnitPiece[]; fromConfig: boolean } {
  const file = u.fields.encoded_exponent.file;
  const meta = model.safetensors.reader(u.fields.encoded_exponent.name).header.metadata;
  const text = meta?.[shapesMetadataKey(u.path)];
  if (text !== undefined) {
    const shapes = parseShapes(text, u.geometry.pieces, u.path, file);
    const attrs = u.attrs.length === 0 ? [''] : u.attrs;
    const byName = new Map(attrs.map((a, i) => [a === '' ? `${u.path}.weight` : `${u.path}.${a}.weight`, shapes[i]!]));
    return { pieces: unitPieces(u, byName, file), fromConfig: false };
  }
  if (model.config === null) throw new Df11Error('unit-invalid', `unit ${u.path} stores no shapes and there is no config.json to derive them from`, { file, tensor: u.path });
  return { pieces: unitPieces(u, shapesFromConfig(model.config), file), fromConfig: true };
}

/** Groups tensors (in order) into files of at most `limit` bytes; a larger tensor gets a file of its own. */
function splitIntoShards(tensors: readonly OutTensor[], limit: number): OutTensor[][] {
  const groups: OutTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const last = groups[groups.length - 1]!;
    if (last.length > 0 && size + t.bytes > limit) {
      groups.push([t]);
      size = t.bytes;
    } else {
      last.push(t);
      size += t.bytes;
    }
  }
  return groups;
}

/** `model.safetensors` -> `model-00001-of-00003.safetensors`. */
function shardName(base: string, i: number, n: number): string {
  const stem = base.slice(0, -SAFETENSORS_EXT.length);
  const pad = (k: number) => String(k).padStart(SHARD_NUMBER_DIGITS, '0');
  return `${stem}-${pad(i)}-of-${pad(n)}${SAFETENSORS_EXT}`;
}

async function writeIndex(file: string, groups: readonly OutTensor[][], names: readonly string[], total: number): Promise<void> {
  const weightMap: Record<string, string> = {};
  groups.forEach((g, i) => {
    for (const t of g) weightMap[t.name] = names[i]!;
  });
  await writeFile(file, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, CONFIG_JSON_INDENT) + '\n');
}

/** The config without dfloat11_config; null when nothing else is left (or there was none). */
function restoredConfig(config: Record<string, unknown> | null): Record<string, unknown> | null {
  if (config === null) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (k !== DF11_CONFIG_KEY) out[k] = v;
  return Object.keys(out).length > 0 ? out : null;
}

async function hasFile(dir: string, name: string): Promise<boolean> {
  try {
    if (!(await stat(dir)).isDirectory()) return false;
    return (await readdir(dir)).includes(name) && (await stat(join(dir, name))).isFile();
  } catch {
    return false;
  }
}
