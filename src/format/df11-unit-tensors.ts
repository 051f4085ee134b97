/**
 * The six tensors of a DF11 unit as the format layer sees them (df11-format.md §3), and the checks
 * of §10 that need only their dtypes, shapes and two small index tensors (invariants 2–5 and 8).
 *
 * `Df11UnitTensors` is structurally identical to the codec's `Df11Unit`, so either can be passed
 * where the other is expected; the format layer keeps its own copy because it imports nothing of
 * the codec.
 */
import { Df11Error } from '../errors.js';
import type { Dtype } from './dtype.js';

/** One DF11 unit in memory, the six tensors exactly as stored. */
export interface Df11UnitTensors {
  luts: Uint8Array;
  encodedExponent: Uint8Array;
  signMantissa: Uint8Array;
  outputPositions: Uint8Array;
  gaps: Uint8Array;
  splitPositions: BigInt64Array;
}

export type Df11FieldName = 'luts' | 'encoded_exponent' | 'sign_mantissa' | 'output_positions' | 'gaps' | 'split_positions';

/** The six fields in the reference's order: on-disk name, property of Df11UnitTensors, dtype, rank. */
export const DF11_FIELDS: readonly { name: Df11FieldName; key: keyof Df11UnitTensors; dtype: Dtype; rank: number }[] = [
  { name: 'luts', key: 'luts', dtype: 'U8', rank: 2 },
  { name: 'encoded_exponent', key: 'encodedExponent', dtype: 'U8', rank: 1 },
  { name: 'sign_mantissa', key: 'signMantissa', dtype: 'U8', rank: 1 },
  { name: 'output_positions', key: 'outputPositions', dtype: 'U8', rank: 1 },
  { name: 'gaps', key: 'gaps', dtype: 'U8', rank: 1 },
  { name: 'split_positions', key: 'splitPositions', dtype: 'I64', rank: 1 },
];

export const DF11_FIELD_NAMES: ReadonlySet<string> = new Set(DF11_FIELDS.map((f) => f.name));
/** The field whose presence makes a module a unit (the reference loader's rule, §9). */
export const UNIT_MARKER_FIELD: Df11FieldName = 'encoded_exponent';

/** Bytes of `encoded_exponent` per chunk (512 windows × 8 bytes). */
export const DF11_CHUNK_BYTES = 4096;
/** Bytes of `gaps` per chunk (512 five-bit entries). */
export const DF11_GAP_BYTES_PER_CHUNK = 320;
/** Bytes per `output_positions` entry (little-endian uint32). */
export const DF11_OP_ENTRY_BYTES = 4;
/** Columns of every `luts` row. */
export const DF11_LUT_ROW_BYTES = 256;
/** `luts` rows: at least the root row and the length row; at most 16 sub-tables more (§8.1). */
export const DF11_MIN_LUT_ROWS = 2;
export const DF11_MAX_LUT_ROWS = 18;
/** `N` and `B` must stay below 2^31: the reference kernel indexes with signed 32-bit ints (§13.3). */
export const DF11_MAX_INDEX_EXCLUSIVE = 2 ** 31;

/** The shapes of a unit's tensors, from a header or from the in-memory tensors. */
export interface UnitFieldShapes {
  luts: readonly number[];
  encoded_exponent: readonly number[];
  sign_mantissa: readonly number[];
  output_positions: readonly number[];
  gaps: readonly number[];
  split_positions: readonly number[];
}

/** Sizes derived from a unit's shapes once they are known to be valid. */
export interface UnitGeometry {
  /** Weights in the unit. */
  n: number;
  /** Bytes of `encoded_exponent`. */
  b: number;
  /** Chunks, ceil(B / 4096). */
  k: number;
  /** Rows of `luts` (R + 1). */
  lutRows: number;
  /** Entries of `output_positions`: K + 1, or K in the rare short case (§7). */
  opEntries: number;
  /** Pieces (attrs) of the unit: split_positions length + 1. */
  pieces: number;
}

export interface UnitContext {
  file?: string;
  /** The unit path; tensor names in errors are `<path>.<field>`. */
  path: string;
}

function fail(ctx: UnitContext, field: Df11FieldName, detail: string): never {
  throw new Df11Error('unit-invalid', `DF11 unit ${ctx.path}: ${detail}`, { file: ctx.file, tensor: `${ctx.path}.${field}` });
}

/**
 * Checks §10 invariants 2, 3 and 5 and the `output_positions` length of 4 on dtypes and shapes
 * alone. `dtypes` may be omitted for in-memory units (their types already fix the dtypes).
 * Throws `unit-invalid` naming the file and the offending tensor.
 */
export function checkUnitShapes(shapes: UnitFieldShapes, ctx: UnitContext, dtypes?: Readonly<Record<Df11FieldName, Dtype>>): UnitGeometry {
  for (const f of DF11_FIELDS) {
    if (dtypes && dtypes[f.name] !== f.dtype) fail(ctx, f.name, `dtype is ${dtypes[f.name]}, expected ${f.dtype}`);
    const shape = shapes[f.name];
    if (shape.length !== f.rank) fail(ctx, f.name, `rank is ${shape.length}, expected ${f.rank} (shape [${shape.join(', ')}])`);
  }
  const [lutRows, lutCols] = shapes.luts as [number, number];
  if (lutCols !== DF11_LUT_ROW_BYTES) fail(ctx, 'luts', `shape[1] is ${lutCols}, expected ${DF11_LUT_ROW_BYTES}`);
  if (lutRows < DF11_MIN_LUT_ROWS || lutRows > DF11_MAX_LUT_ROWS) {
    fail(ctx, 'luts', `has ${lutRows} rows, expected ${DF11_MIN_LUT_ROWS} to ${DF11_MAX_LUT_ROWS}`);
  }
  const n = shapes.sign_mantissa[0]!;
  const b = shapes.encoded_exponent[0]!;
  if (n < 1) fail(ctx, 'sign_mantissa', 'is empty (N = 0); a unit holds at least one weight');
  if (n >= DF11_MAX_INDEX_EXCLUSIVE) fail(ctx, 'sign_mantissa', `N = ${n} is not below 2^31`);
  if (b < 1) fail(ctx, 'encoded_exponent', 'is empty (B = 0)');
  if (b >= DF11_MAX_INDEX_EXCLUSIVE) fail(ctx, 'encoded_exponent', `B = ${b} is not below 2^31`);
  const k = Math.ceil(b / DF11_CHUNK_BYTES);
  const gapBytes = shapes.gaps[0]!;
  if (gapBytes !== DF11_GAP_BYTES_PER_CHUNK * k) {
    fail(ctx, 'gaps', `has ${gapBytes} bytes, expected ${DF11_GAP_BYTES_PER_CHUNK} × K = ${DF11_GAP_BYTES_PER_CHUNK * k} (B = ${b}, K = ${k})`);
  }
  const opBytes = shapes.output_positions[0]!;
  if (opBytes !== DF11_OP_ENTRY_BYTES * k && opBytes !== DF11_OP_ENTRY_BYTES * (k + 1)) {
    fail(ctx, 'output_positions', `has ${opBytes} bytes, expected ${DF11_OP_ENTRY_BYTES * (k + 1)} (or ${DF11_OP_ENTRY_BYTES * k}) for K = ${k}`);
  }
  const splits = shapes.split_positions[0]!;
  if (splits >= n) fail(ctx, 'split_positions', `has ${splits} entries, more pieces than the ${n} weights`);
  return { n, b, k, lutRows, opEntries: opBytes / DF11_OP_ENTRY_BYTES, pieces: splits + 1 };
}

/**
 * Checks §10 invariant 4 on the `output_positions` bytes: op[0] = 0, non-decreasing, last = N.
 * (Values are uint32 by construction.)
 */
export function checkOutputPositions(op: Uint8Array, geometry: UnitGeometry, ctx: UnitContext): void {
  if (op.length !== geometry.opEntries * DF11_OP_ENTRY_BYTES) fail(ctx, 'output_positions', `holds ${op.length} bytes, the header says ${geometry.opEntries * DF11_OP_ENTRY_BYTES}`);
  const view = new DataView(op.buffer, op.byteOffset, op.byteLength);
  let prev = 0;
  for (let i = 0; i < geometry.opEntries; i++) {
    const v = view.getUint32(i * DF11_OP_ENTRY_BYTES, true);
    if (i === 0 && v !== 0) fail(ctx, 'output_positions', `entry 0 is ${v}, expected 0`);
    if (v < prev) fail(ctx, 'output_positions', `entry ${i} (${v}) is below entry ${i - 1} (${prev})`);
    if (v > geometry.n) fail(ctx, 'output_positions', `entry ${i} (${v}) exceeds N = ${geometry.n}`);
    prev = v;
  }
  if (prev !== geometry.n) fail(ctx, 'output_positions', `last entry is ${prev}, expected N = ${geometry.n}`);
}

/**
 * Checks §10 invariant 8 on `split_positions` (strictly increasing, each in (0, N)) and returns
 * them as numbers.
 */
export function checkSplitPositions(split: BigInt64Array, geometry: UnitGeometry, ctx: UnitContext): number[] {
  if (split.length !== geometry.pieces - 1) fail(ctx, 'split_positions', `holds ${split.length} entries, the header says ${geometry.pieces - 1}`);
  const out: number[] = [];
  let prev = 0n;
  for (let i = 0; i < split.length; i++) {
    const v = split[i]!;
    if (v <= prev) fail(ctx, 'split_positions', `entry ${i} (${v}) is not above ${i === 0 ? '0' : `entry ${i - 1} (${prev})`}`);
    if (v >= BigInt(geometry.n)) fail(ctx, 'split_positions', `entry ${i} (${v}) is not below N = ${geometry.n}`);
    out.push(Number(v));
    prev = v;
  }
  return out;
}

/** The shapes of an in-memory unit's tensors, as they are written (§3). */
export function unitTensorShapes(unit: Df11UnitTensors, ctx: UnitContext): UnitFieldShapes {
  if (unit.luts.length % DF11_LUT_ROW_BYTES !== 0) fail(ctx, 'luts', `holds ${unit.luts.length} bytes, not a whole number of ${DF11_LUT_ROW_BYTES}-byte rows`);
  return {
    luts: [unit.luts.length / DF11_LUT_ROW_BYTES, DF11_LUT_ROW_BYTES],
    encoded_exponent: [unit.encodedExponent.length],
    sign_mantissa: [unit.signMantissa.length],
    output_positions: [unit.outputPositions.length],
    gaps: [unit.gaps.length],
    split_positions: [unit.splitPositions.length],
  };
}

/** Every check this layer can make on an in-memory unit (shapes, op, split positions). */
export function checkUnitTensors(unit: Df11UnitTensors, ctx: UnitContext): UnitGeometry {
  const geometry = checkUnitShapes(unitTensorShapes(unit, ctx), ctx);
  checkOutputPositions(unit.outputPositions, geometry, ctx);
  checkSplitPositions(unit.splitPositions, geometry, ctx);
  return geometry;
}

/** The bytes of a tensor field as stored on disk (little-endian; I64 for split positions). */
export function unitFieldBytes(unit: Df11UnitTensors, key: keyof Df11UnitTensors): Uint8Array {
  const v = unit[key];
  if (v instanceof BigInt64Array) {
    const bytes = new Uint8Array(v.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < v.length; i++) view.setBigInt64(i * 8, v[i]!, true);
    return bytes;
  }
  return v;
}

/** Decodes little-endian I64 bytes (any alignment) into a BigInt64Array. */
export function bytesToBigInt64(bytes: Uint8Array): BigInt64Array {
  const out = new BigInt64Array(bytes.length / 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getBigInt64(i * 8, true);
  return out;
}
