// The streaming, parallel compress pipeline: BF16 model -> DF11 directory (df11-format.md §2, §3, §12).
//
// Memory stays bounded whatever the model size: units are processed by at most `threads` lanes, each
// holding one unit at a time (read its attr weights into one buffer, encode it on a worker thread,
// write its shard, drop it); every other tensor is copied in COPY_CHUNK_BYTES pieces. Peak is about
// threads x (UNIT_MEMORY_FACTOR x largest unit's BF16 bytes + THREAD_OVERHEAD_BYTES). Measured with
// /usr/bin/time: 1 thread, 93 MB units: 298 MB peak RSS; 1 and 2 threads, 25 MB units, 32 units:
// 231 and 367 MB (the same 1-thread peak with 5 units was 161 MB: garbage collection lags a little).
//
// Output is atomic: everything is written into `<out>.tmp-<random>`, renamed to `<out>` at the end.
// The single-file layout first writes per-unit shards into a staging folder inside the temp directory,
// then streams them into one file (its header needs every tensor's size up front).
import { describeLimiterTie, type LimiterTiePolicy } from '../codec/huffman-build.js';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EncodePool } from '../codec/encode-parallel.js';
import { Df11Error } from '../errors.js';
import { makeDf11Config, type PatternDict } from '../format/df11-config.js';
import {
  checksumMetadataKey,
  DF11_DIFFUSERS_REMAINDER_FILE,
  DF11_REMAINDER_FILE,
  unitShardFileName,
  unitTensorSources,
  writeDf11ConfigFile,
  writeTensorFile,
  type TensorSource,
} from '../format/df11-layout.js';
import { planUnits, tiedWeightAliases, type PlannedUnit, type UnitPlan } from '../format/df11-units.js';
import { SafetensorsReader } from '../format/safetensors-reader.js';
import { AtomicOutputDir } from './atomic-dir.js';
import type { InputModel } from './model-input.js';
import type { Progress } from './progress.js';
import { copySource, COPY_CHUNK_BYTES, outputDtype, readUnitBf16 } from './tensor-data.js';
import { encodeShapes, PT_FORMAT_METADATA, shapesMetadataKey, tiedMetadataKey } from './unit-metadata.js';

/** Peak memory per in-flight unit, as a multiple of its BF16 bytes (input, worker scratch, output). */
export const UNIT_MEMORY_FACTOR = 3;
/** Memory per thread beyond its unit: the worker's heap, write buffers, uncollected garbage. */
export const THREAD_OVERHEAD_BYTES = 100_000_000;
/** Folder inside the temp directory holding unit shards before the single-file layout joins them. */
const STAGING_DIR = '.units';
/** Small files copied from the input folder when present (tokenizer and generation settings). */
export const COMPANION_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'vocab.txt',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
  'tokenizer.bin',
] as const;

/** llama2.c vocabularies other than tokenizer.bin are named tok<vocab size>.bin (e.g. tok512.bin). */
const LLAMA2C_TOKENIZER_FILE = /^tok\d+\.bin$/;

/** The companion files present in `dir` (file names only). */
export async function companionFileNames(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  const wanted = (n: string): boolean => (COMPANION_FILES as readonly string[]).includes(n) || LLAMA2C_TOKENIZER_FILE.test(n);
  const out: string[] = [];
  for (const n of names.filter(wanted).sort()) if (await isFile(join(dir, n))) out.push(n);
  return out;
}
const BF16_BYTES = 2;
const BITS_PER_BYTE = 8;

export type Df11LayoutKind = 'shards' | 'single';

export interface CompressOptions {
  input: InputModel;
  outDir: string;
  layout: Df11LayoutKind;
  patternDict: PatternDict;
  /** Worker threads, and units in flight (>= 1). */
  threads: number;
  /** Store each unit's SHA-256 in its shard's `__metadata__`. */
  checksum: boolean;
  /** Replace an existing output directory. */
  overwrite: boolean;
  /** Convert F32 tensors to BF16 (round to nearest even) instead of refusing them. */
  castBf16: boolean;
  /** The Huffman length limiter's tie policy (huffman-build.ts); default `lowest-exponent`. */
  ties?: LimiterTiePolicy;
  progress?: Progress;
  /** Stops the run (Df11Error 'interrupted'); the temp directory is removed. */
  signal?: AbortSignal;
}

export interface CompressSummary {
  units: number;
  /** Weights in all units. */
  weights: number;
  /** BF16 bytes of the units' weights (2 per weight). */
  bf16Bytes: number;
  /** Bytes of the units' six DF11 tensors. */
  df11Bytes: number;
  /** Tensors copied unchanged (unit extras and remainder) and their bytes. */
  copiedTensors: number;
  copiedBytes: number;
  /** Total size of the output directory's files. */
  outputBytes: number;
  /** The largest unit's BF16 bytes (sets the memory bound). */
  largestUnitBytes: number;
  /** Tied aliases compressed as their own unit, as `alias -> source` (e.g. lm_head.weight -> model.embed_tokens.weight). */
  tied: string[];
  /** Units whose code involved a length-limiter tie, as `unit: description` lines. */
  limiterTies: string[];
  threads: number;
  seconds: number;
}

/**
 * Plans units for `input` with `dict` (F32 weights count as BF16 when casting). A tied `lm_head`
 * (config `tie_word_embeddings`, no `lm_head.weight` in the checkpoint) becomes its own unit when the
 * dict names it, as the reference compressor does (its loader needs it; df11-units.ts).
 */
export function planCompression(input: InputModel, dict: PatternDict, castBf16: boolean): UnitPlan {
  const tensors = input.tensors.map((t) => ({ ...t, dtype: outputDtype(t, castBf16) }));
  const aliases = tiedWeightAliases(input.config, tensors.map((t) => t.name));
  return planUnits(tensors, dict, { file: input.path, aliases });
}

/**
 * Compresses `options.input` into `options.outDir` (see the file header). Throws Df11Error:
 * output-exists, pattern-mismatch / not-bf16 (plan), codec errors naming the unit, io, interrupted.
 * On any error the output directory is left as it was and the temp directory is removed.
 */
export async function compressModel(options: CompressOptions): Promise<CompressSummary> {
  const started = Date.now();
  const { input, castBf16 } = options;
  const plan = planCompression(input, options.patternDict, castBf16);
  if (plan.units.length === 0) throw new Df11Error('pattern-mismatch', 'the pattern dict matches no weights: nothing to compress', { file: input.path });
  checkShardNames(plan, input.path);

  const remainderName = remainderFileName(input);
  const out = await AtomicOutputDir.create(options.outDir, { overwrite: options.overwrite, protect: [input.path, input.dir] });
  const threads = Math.max(1, Math.min(options.threads, plan.units.length));
  const pool = EncodePool.create(threads);
  const onAbort = (): void => void pool.close();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const shardDir = options.layout === 'single' ? out.path(STAGING_DIR) : out.tempDir;
    if (options.layout === 'single') await mkdir(shardDir);
    const summary = emptySummary(threads);
    const extraBytes = (u: PlannedUnit) => u.extraTensors.reduce((s, n) => s + outputBytesOf(input, n, castBf16), 0);
    const remainderBytes = plan.remainder.reduce((s, n) => s + outputBytesOf(input, n, castBf16), 0);
    options.progress?.setTotal(plan.units.reduce((s, u) => s + u.numel * BF16_BYTES + extraBytes(u), 0) + remainderBytes);

    const shardFiles = new Map<string, string>();
    await forEachLimited(plan.units, threads, options.signal, async (u) => {
      const bf16 = await readUnitBf16(input.model, u, castBf16);
      checkAborted(options.signal);
      const { unit, sha256, limiterTies } = await pool.encode(bf16, u.attrs.map((a) => a.numel), { checksum: options.checksum, name: u.path, ties: options.ties ?? 'lowest-exponent' });
      for (const t of limiterTies) summary.limiterTies.push(`${u.path}: ${describeLimiterTie(t)}`);
      const file = join(shardDir, unitShardFileName(u.path));
      const sources = unitTensorSources(u.path, unit, file);
      const metadata: Record<string, string> = { ...PT_FORMAT_METADATA, [shapesMetadataKey(u.path)]: encodeShapes(u.attrs.map((a) => a.shape)) };
      if (sha256 !== undefined) metadata[checksumMetadataKey(u.path)] = sha256;
      for (const a of u.attrs) {
        if (a.source === a.tensor) continue;
        metadata[tiedMetadataKey(a.tensor)] = a.source;
        summary.tied.push(`${a.tensor} -> ${a.source}`);
      }
      await writeTensorFile(file, [...sources, ...u.extraTensors.map((n) => copySource(input.model, n, castBf16))], metadata);
      shardFiles.set(u.path, file);
      summary.units++;
      summary.weights += u.numel;
      summary.bf16Bytes += u.numel * BF16_BYTES;
      summary.df11Bytes += sources.reduce((s, t) => s + byteLengthOf(t), 0);
      summary.copiedTensors += u.extraTensors.length;
      summary.copiedBytes += extraBytes(u);
      summary.largestUnitBytes = Math.max(summary.largestUnitBytes, u.numel * BF16_BYTES);
      options.progress?.advance(u.numel * BF16_BYTES + extraBytes(u));
    });
    checkAborted(options.signal);

    const remainder = plan.remainder.map((n) => copySource(input.model, n, castBf16));
    if (options.layout === 'single') {
      await joinIntoSingleFile(out.path(remainderName), plan.units.map((u) => shardFiles.get(u.path)!), remainder);
      await rm(shardDir, { recursive: true, force: true });
    } else if (remainder.length > 0) {
      await writeTensorFile(out.path(remainderName), remainder, PT_FORMAT_METADATA);
    }
    summary.copiedTensors += remainder.length;
    summary.copiedBytes += remainderBytes;
    options.progress?.advance(remainderBytes);
    checkAborted(options.signal);

    await writeDf11ConfigFile(out.tempDir, outputConfig(input.config, castBf16), makeDf11Config(options.patternDict));
    for (const name of await companionFileNames(input.dir)) await copyFile(join(input.dir, name), out.path(name));
    summary.outputBytes = await directoryBytes(out.tempDir);
    await out.commit();
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  } catch (e) {
    await out.abort();
    if (options.signal?.aborted) throw new Df11Error('interrupted', 'compression interrupted; no output was written', { file: options.outDir });
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}

/** DF11 bits per weight of a summary (all six tensors of every unit over its weights). */
export function bitsPerWeight(s: Pick<CompressSummary, 'df11Bytes' | 'weights'>): number {
  return s.weights === 0 ? 0 : (s.df11Bytes * BITS_PER_BYTE) / s.weights;
}

/**
 * Runs `fn` on every item with at most `limit` running at once, in item order. After the first
 * failure (or an abort) no new item starts; the ones running are awaited and the first error thrown.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      if (signal?.aborted) {
        failure = { error: new Df11Error('interrupted', 'interrupted') };
        return;
      }
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure.error;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Df11Error('interrupted', 'interrupted');
}

function emptySummary(threads: number): CompressSummary {
  return { units: 0, weights: 0, bf16Bytes: 0, df11Bytes: 0, copiedTensors: 0, copiedBytes: 0, outputBytes: 0, largestUnitBytes: 0, tied: [], limiterTies: [], threads, seconds: 0 };
}

function byteLengthOf(t: TensorSource): number {
  return t.data instanceof Uint8Array ? t.data.length : 0;
}

/** Output bytes of a copied tensor (half its size when an F32 tensor is cast to BF16). */
function outputBytesOf(input: InputModel, name: string, castBf16: boolean): number {
  const e = input.model.entry(name);
  const bytes = e.end - e.start;
  return castBf16 && e.dtype === 'F32' ? bytes / 2 : bytes;
}

/** Two units must not share a shard file name, nor take the remainder file's name. */
function checkShardNames(plan: UnitPlan, file: string): void {
  const seen = new Map<string, string>();
  for (const u of plan.units) {
    const name = unitShardFileName(u.path);
    const other = seen.get(name);
    if (other !== undefined) throw new Df11Error('pattern-mismatch', `units ${other} and ${u.path} would share the shard file ${name}`, { file });
    if (name === DF11_REMAINDER_FILE || name === DF11_DIFFUSERS_REMAINDER_FILE) {
      throw new Df11Error('pattern-mismatch', `unit ${u.path} would overwrite the remainder file ${name}`, { file });
    }
    seen.set(name, u.path);
  }
}

/** diffusers models keep their remainder in diffusion_pytorch_model.safetensors (§2.1). */
function remainderFileName(input: InputModel): string {
  const diffusers = (input.config !== null && Object.hasOwn(input.config, '_diffusers_version')) || basename(input.path).startsWith('diffusion_pytorch_model');
  return diffusers ? DF11_DIFFUSERS_REMAINDER_FILE : DF11_REMAINDER_FILE;
}

/** The config to store: the original one, its dtype field updated when F32 weights were cast. */
function outputConfig(config: Record<string, unknown> | null, castBf16: boolean): Record<string, unknown> | null {
  if (config === null || !castBf16) return config;
  const out = { ...config };
  for (const key of ['torch_dtype', 'dtype']) if (out[key] === 'float32') out[key] = 'bfloat16';
  return out;
}

/**
 * Streams the staged unit shards (units in order, each file's tensors in header order) and then the
 * remainder into one safetensors file; the shards' metadata entries are merged into its header.
 */
async function joinIntoSingleFile(file: string, shardFiles: readonly string[], remainder: readonly TensorSource[]): Promise<void> {
  const readers: SafetensorsReader[] = [];
  try {
    const tensors: TensorSource[] = [];
    const metadata: Record<string, string> = { ...PT_FORMAT_METADATA };
    for (const f of shardFiles) {
      const r = await SafetensorsReader.open(f);
      readers.push(r);
      Object.assign(metadata, r.header.metadata ?? {});
      for (const t of r.header.tensors) {
        tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => r.stream(t.name, COPY_CHUNK_BYTES) });
      }
    }
    await writeTensorFile(file, [...tensors, ...remainder], metadata);
  } finally {
    await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Total bytes of the regular files directly inside `dir`. */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}
