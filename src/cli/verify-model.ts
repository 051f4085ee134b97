// Verification of a DF11 model: every unit is read, checked structurally (§10 items 1-8), decoded
// with the chunk-parallel decoder (item 9: per-chunk counts, gaps, stream length), then checked
// against its stored SHA-256 when present and, with `against`, byte-compared with the original
// model's tensors (every restored weight and every uncompressed tensor, and no tensor missing).
// Failures are collected per unit (file and unit named) rather than stopping at the first.
import { createHash } from 'node:crypto';
import { Df11Error } from '../errors.js';
import type { Df11Model, Df11UnitRef } from '../format/df11-open.js';
import { openDf11ForCli } from './open-df11.js';
import { f32ToBf16 } from '../format/float.js';
import { openInputModel, type InputModel } from './model-input.js';
import type { Progress } from './progress.js';
import { COPY_CHUNK_BYTES } from './tensor-data.js';
import { createUnitDecoder, type UnitDecoder } from './unit-decoder.js';
import { tiedSourceOf } from './tied-weights.js';
import { parseShapes, shapesMetadataKey } from './unit-metadata.js';

const BF16_BYTES = 2;
const F32_BYTES = 4;

export interface VerifyOptions {
  path: string;
  /** The original BF16 (or F32, compared through its BF16 cast) model to compare with. */
  against?: string;
  threads: number;
  /** Decode with this decoder (e.g. openGpuUnitDecoder; the caller closes it) instead of `threads` CPU threads. */
  decoder?: UnitDecoder;
  progress?: Progress;
  signal?: AbortSignal;
  /** Called for each failure as it is found. */
  onFailure?: (f: VerifyFailure) => void;
}

export interface VerifyFailure {
  file: string;
  /** The unit concerned, when the failure is inside one. */
  unit: string | undefined;
  /** The tensor concerned (outside units), when known. */
  tensor: string | undefined;
  message: string;
}

export interface VerifySummary {
  units: number;
  weights: number;
  /** Units whose stored checksum matched. */
  checksums: number;
  /** Tensors byte-compared with the original. */
  compared: number;
  /** Units that had neither a checksum nor an original to compare with (structure and decode only). */
  structureOnly: number;
  failures: VerifyFailure[];
  seconds: number;
}

/** Verifies a DF11 model (see the file header). Throws only when the model cannot be opened at all. */
export async function verifyModel(options: VerifyOptions): Promise<VerifySummary> {
  const started = Date.now();
  const model = await openDf11ForCli(options.path);
  let original: InputModel | undefined;
  const decoder = options.decoder ?? createUnitDecoder(options.threads);
  const failures: VerifyFailure[] = [];
  const fail = (f: VerifyFailure): void => {
    failures.push(f);
    options.onFailure?.(f);
  };
  const summary: VerifySummary = { units: model.units.length, weights: 0, checksums: 0, compared: 0, structureOnly: 0, failures, seconds: 0 };
  try {
    if (options.against !== undefined) original = await openInputModel(options.against);
    options.progress?.setTotal(model.units.reduce((s, u) => s + u.geometry.n * BF16_BYTES, 0));
    const covered = new Set<string>();
    for (const u of model.units) {
      if (options.signal?.aborted) throw new Df11Error('interrupted', 'verification interrupted', { file: options.path });
      const file = u.fields.encoded_exponent.file;
      const unitFail = (message: string): void => fail({ file, unit: u.path, tensor: undefined, message });
      summary.weights += u.geometry.n;
      try {
        const bf16 = await decoder.decode(model, u);
        let checked = false;
        if (u.sha256 !== undefined) {
          const got = createHash('sha256').update(new Uint8Array(bf16.buffer, bf16.byteOffset, bf16.byteLength)).digest('hex');
          if (got === u.sha256) summary.checksums++;
          else unitFail(`checksum mismatch: decoded BF16 has SHA-256 ${got}, the file records ${u.sha256}`);
          checked = true;
        }
        if (original !== undefined) {
          await compareUnit(model, u, bf16, original, covered, unitFail);
          summary.compared += Math.max(1, u.attrs.length);
          checked = true;
        }
        if (!checked) summary.structureOnly++;
      } catch (e) {
        if (!(e instanceof Df11Error)) throw e;
        unitFail(e.message);
      }
      options.progress?.advance(u.geometry.n * BF16_BYTES);
    }
    if (original !== undefined) {
      const stored = [...model.units.flatMap((u) => u.extraTensors), ...model.others];
      for (const name of stored) {
        covered.add(name);
        const file = model.entry(name).file;
        try {
          const problem = await compareStored(model, name, original);
          if (problem !== undefined) fail({ file, unit: undefined, tensor: name, message: problem });
          else summary.compared++;
        } catch (e) {
          if (!(e instanceof Df11Error)) throw e;
          fail({ file, unit: undefined, tensor: name, message: e.message });
        }
      }
      for (const name of original.model.names()) {
        if (!covered.has(name)) fail({ file: original.path, unit: undefined, tensor: name, message: 'tensor of the original model is missing from the DF11 model' });
      }
    }
  } finally {
    if (!options.decoder) await decoder.close();
    await original?.model.close();
    await model.close();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** Byte-compares a decoded unit's pieces with the original weights (and shapes, when stored). */
async function compareUnit(model: Df11Model, u: Df11UnitRef, bf16: Uint16Array, original: InputModel, covered: Set<string>, unitFail: (m: string) => void): Promise<void> {
  const attrs = u.attrs.length === 0 ? [''] : u.attrs;
  const bounds = [0, ...u.splitPositions, u.geometry.n];
  const meta = model.safetensors.reader(u.fields.encoded_exponent.name).header.metadata;
  const shapesText = meta?.[shapesMetadataKey(u.path)];
  const shapes = shapesText === undefined ? undefined : parseShapes(shapesText, attrs.length, u.path, u.fields.encoded_exponent.file);
  for (let i = 0; i < attrs.length; i++) {
    const name = attrs[i] === '' ? `${u.path}.weight` : `${u.path}.${attrs[i]}.weight`;
    covered.add(name);
    let origName = name;
    if (!original.model.has(name)) {
      const source = tiedSourceOf(model, u, name);
      if (source === undefined || !original.model.has(source)) {
        unitFail(`piece ${i} restores ${name}, which the original model lacks`);
        continue;
      }
      origName = source; // a tied alias: its data is the source tensor's
    }
    const e = original.model.entry(origName);
    const numel = bounds[i + 1]! - bounds[i]!;
    const want = e.shape.reduce((a, b) => a * b, 1);
    if (want !== numel) {
      unitFail(`piece ${i} (${name}) holds ${numel} weights, the original ${origName} has ${want}`);
      continue;
    }
    if (shapes !== undefined && shapes[i]!.join(',') !== e.shape.join(',')) {
      unitFail(`stored shape [${shapes[i]!.join(', ')}] of ${name} differs from the original [${e.shape.join(', ')}]`);
    }
    const piece = new Uint8Array(bf16.buffer, bf16.byteOffset + bounds[i]! * BF16_BYTES, numel * BF16_BYTES);
    const mismatch = await firstMismatch(piece, originalAsBf16(original, origName));
    const what = origName === name ? name : `${name} (tied to ${origName})`;
    if (mismatch === 'dtype') unitFail(`original ${origName} is ${e.dtype}, not BF16 or F32`);
    else if (mismatch !== undefined) unitFail(`${what} differs from the original at byte ${mismatch}`);
  }
}

/** Compares a tensor stored uncompressed in the DF11 model with the original's; undefined when equal. */
async function compareStored(model: Df11Model, name: string, original: InputModel): Promise<string | undefined> {
  if (!original.model.has(name)) return 'tensor is not in the original model';
  const a = model.entry(name);
  const b = original.model.entry(name);
  if (a.shape.join(',') !== b.shape.join(',')) return `shape [${a.shape.join(', ')}] differs from the original [${b.shape.join(', ')}]`;
  const cast = a.dtype === 'BF16' && b.dtype === 'F32';
  if (a.dtype !== b.dtype && !cast) return `dtype ${a.dtype} differs from the original ${b.dtype}`;
  const mine = await model.readTensor(name);
  const mismatch = await firstMismatch(mine, cast ? originalAsBf16(original, name) : original.model.reader(name).stream(name, COPY_CHUNK_BYTES));
  return mismatch === undefined ? undefined : `differs from the original at byte ${mismatch}`;
}

/** The original tensor's bytes as BF16: streamed as is, or converted from F32; 'dtype' for anything else. */
function originalAsBf16(original: InputModel, name: string): AsyncIterable<Uint8Array> | 'dtype' {
  const e = original.model.entry(name);
  const reader = original.model.reader(name);
  if (e.dtype === 'BF16') return reader.stream(name, COPY_CHUNK_BYTES);
  if (e.dtype !== 'F32') return 'dtype';
  return (async function* () {
    for await (const chunk of reader.stream(name, COPY_CHUNK_BYTES)) {
      const bf16 = f32ToBf16(new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / F32_BYTES));
      yield new Uint8Array(bf16.buffer, 0, bf16.length * BF16_BYTES);
    }
  })();
}

/** First differing byte offset between `bytes` and the streamed chunks (or a length difference). */
async function firstMismatch(bytes: Uint8Array, other: AsyncIterable<Uint8Array> | 'dtype'): Promise<number | 'dtype' | undefined> {
  if (other === 'dtype') return 'dtype';
  let at = 0;
  for await (const chunk of other) {
    if (at + chunk.length > bytes.length) return Math.min(bytes.length, at + chunk.length);
    const mine = bytes.subarray(at, at + chunk.length);
    if (!Buffer.from(mine.buffer, mine.byteOffset, mine.length).equals(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) {
      for (let i = 0; i < chunk.length; i++) if (mine[i] !== chunk[i]) return at + i;
    }
    at += chunk.length;
  }
  return at === bytes.length ? undefined : at;
}
