// The safetensors header: bytes <-> structure, with every invariant checked. Pure (no I/O), so the
// fuzzer can drive it directly.
//
// File layout (safetensors format): an 8-byte little-endian unsigned header length N, then N bytes of
// UTF-8 JSON (an object), then the data section. The JSON maps tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to the data section, plus an
// optional "__metadata__" object of string values. The tensors' byte ranges, sorted by offset, must
// tile the data section exactly: no gap, no overlap, no trailing byte (as the reference Rust crate
// requires). Offsets are JS numbers, exact up to 2^53 bytes (8 PiB), far beyond any model file.

import { Df11Error } from '../errors.js';
import { DTYPE_BYTES, isDtype, type Dtype } from './dtype.js';
import { JsonNumber, JsonObject, JsonSyntaxError, parseJsonStrict, type JsonValue } from './json-strict.js';

/** Bytes of the little-endian header-length prefix. */
export const HEADER_LENGTH_BYTES = 8;
/** Largest header JSON accepted, in bytes (the reference Rust crate's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** The writer pads the header JSON with spaces to a multiple of this many bytes, so data starts aligned. */
export const HEADER_ALIGN_BYTES = 8;
/** The reserved header key holding string -> string metadata. */
export const METADATA_KEY = '__metadata__';

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** absolute byte offsets in the file */
  start: number;
  end: number;
}

export interface SafetensorsHeader {
  /** in header (JSON) order */
  tensors: TensorEntry[];
  metadata: Record<string, string> | null;
  /** absolute offset of the data section: 8 + header JSON length */
  dataStart: number;
}

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
}

export interface EncodedHeader {
  /** 8-byte length + JSON padded with spaces to a multiple of 8 */
  bytes: Uint8Array;
  /** total size of the data section, in bytes */
  dataBytes: number;
  /** each tensor's data_offsets [begin, end), relative to the data section, in the given order */
  offsets: { begin: number; end: number }[];
  /** absolute offset of the data section (= bytes.length) */
  dataStart: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Reads the header length from the first 8 bytes of a file of `fileSize` bytes and checks it against
 * MAX_HEADER_BYTES and the file size. Returns N, the JSON length.
 * Throws Df11Error truncated-file (file shorter than 8 + N bytes) or header-too-large.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (prefix.length < HEADER_LENGTH_BYTES || fileSize < HEADER_LENGTH_BYTES) {
    throw new Df11Error('truncated-file', `file of ${fileSize} bytes is shorter than the ${HEADER_LENGTH_BYTES}-byte header length`, { file });
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new Df11Error('header-too-large', `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`, { file });
  }
  const len = Number(n);
  if (fileSize < HEADER_LENGTH_BYTES + len) {
    throw new Df11Error('truncated-file', `header of ${len} bytes does not fit in a file of ${fileSize} bytes`, { file });
  }
  return len;
}

/**
 * Parses and validates a header. `headerJsonBytes` are the N bytes after the length prefix;
 * `fileSize` is the whole file's size. Throws Df11Error with code truncated-file, header-too-large,
 * header-invalid-json, header-invalid, dtype-unknown, shape-size-mismatch, offsets-invalid or
 * duplicate-tensor, naming `file` and, where one is concerned, the tensor. Never throws anything else.
 */
export function parseSafetensorsHeader(headerJsonBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const n = headerJsonBytes.length;
  if (n > MAX_HEADER_BYTES) {
    throw new Df11Error('header-too-large', `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`, { file });
  }
  const dataStart = HEADER_LENGTH_BYTES + n;
  if (!Number.isSafeInteger(fileSize) || fileSize < dataStart) {
    throw new Df11Error('truncated-file', `header of ${n} bytes does not fit in a file of ${fileSize} bytes`, { file });
  }
  const root = decodeJson(headerJsonBytes, file);

  const tensors: TensorEntry[] = [];
  const seen = new Set<string>();
  let metadata: Record<string, string> | null = null;
  let sawMetadata = false;
  for (const [name, value] of root.entries) {
    if (name === METADATA_KEY) {
      if (sawMetadata) throw new Df11Error('header-invalid', `"${METADATA_KEY}" appears twice`, { file });
      sawMetadata = true;
      metadata = parseMetadata(value, file);
      continue;
    }
    if (seen.has(name)) throw new Df11Error('duplicate-tensor', 'tensor name appears twice in the header', { file, tensor: name });
    seen.add(name);
    tensors.push(parseEntry(name, value, dataStart, file));
  }
  checkTiling(tensors, fileSize - dataStart, dataStart, file);
  return { tensors, metadata, dataStart };
}

/**
 * Builds the header for `tensors` laid out back to back in the given order, `__metadata__` first.
 * Throws Df11Error duplicate-tensor, dtype-unknown, header-invalid (bad shape, reserved or
 * non-well-formed name, non-string metadata) or header-too-large.
 */
export function encodeSafetensorsHeader(tensors: readonly TensorSpec[], metadata?: Record<string, string> | null): EncodedHeader {
  const parts: string[] = [];
  // UTF-8 never takes fewer bytes than UTF-16 code units, so counting code units rejects oversize
  // headers before building them.
  let chars = 2;
  const grow = (n: number): void => {
    chars += n;
    if (chars > MAX_HEADER_BYTES) {
      throw new Df11Error('header-too-large', `header of more than ${MAX_HEADER_BYTES} bytes`);
    }
  };
  if (metadata !== undefined && metadata !== null) {
    const members: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Df11Error('header-invalid', `metadata value of "${k}" is not a string`);
      grow(k.length + v.length + 5); // "k":"v"
      if (!isWellFormed(k) || !isWellFormed(v)) throw new Df11Error('header-invalid', `metadata "${k}" is not well-formed Unicode`);
      members.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${members.join(',')}}`);
  }
  const seen = new Set<string>();
  const offsets: { begin: number; end: number }[] = [];
  let cursor = 0;
  for (const t of tensors) {
    const ctx = { tensor: t.name };
    grow(t.name.length + 49); // shortest entry: "":{"dtype":"U8","shape":[],"data_offsets":[0,0]}
    if (t.name === METADATA_KEY) throw new Df11Error('header-invalid', `"${METADATA_KEY}" is reserved`, ctx);
    if (!isWellFormed(t.name)) throw new Df11Error('header-invalid', 'tensor name is not well-formed Unicode', ctx);
    if (seen.has(t.name)) throw new Df11Error('duplicate-tensor', 'tensor declared twice', ctx);
    seen.add(t.name);
    if (!isDtype(t.dtype)) throw new Df11Error('dtype-unknown', `unknown dtype ${String(t.dtype)}`, ctx);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Df11Error('header-invalid', 'shape must be an array of non-negative safe integers', ctx);
    }
    const size = tensorByteSize(t.shape, t.dtype);
    if (size === undefined || cursor + size > Number.MAX_SAFE_INTEGER) {
      throw new Df11Error('shape-size-mismatch', 'tensor size overflows 2^53 bytes', ctx);
    }
    offsets.push({ begin: cursor, end: cursor + size });
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${cursor},${cursor + size}]}`);
    cursor += size;
  }
  const json = utf8Encoder.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / HEADER_ALIGN_BYTES) * HEADER_ALIGN_BYTES;
  if (padded > MAX_HEADER_BYTES) {
    throw new Df11Error('header-too-large', `header of ${padded} bytes exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const bytes = new Uint8Array(HEADER_LENGTH_BYTES + padded);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, HEADER_LENGTH_BYTES);
  bytes.fill(0x20, HEADER_LENGTH_BYTES + json.length);
  return { bytes, dataBytes: cursor, offsets, dataStart: bytes.length };
}

/**
 * Bytes of a tensor of this shape and dtype, or undefined when a dimension is not a non-negative safe
 * integer or the size exceeds Number.MAX_SAFE_INTEGER (checked before each multiplication).
 */
export function tensorByteSize(shape: readonly number[], dtype: Dtype): number | undefined {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return undefined;
  if (shape.includes(0)) return 0;
  let size = DTYPE_BYTES[dtype];
  for (const d of shape) {
    // size * d <= MAX_SAFE  <=>  size <= MAX_SAFE / d (d >= 1); checked before multiplying.
    if (size > Math.floor(Number.MAX_SAFE_INTEGER / d)) return undefined;
    size *= d;
  }
  return size;
}

function decodeJson(bytes: Uint8Array, file: string): JsonObject {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new Df11Error('header-invalid-json', 'header is not valid UTF-8', { file, cause });
  }
  // The reference implementation requires the JSON to start with '{' (no leading whitespace).
  if (!text.startsWith('{')) throw new Df11Error('header-invalid-json', "header does not start with '{'", { file });
  let root: JsonValue;
  try {
    root = parseJsonStrict(text);
  } catch (cause) {
    if (cause instanceof JsonSyntaxError) throw new Df11Error('header-invalid-json', `header is not valid JSON: ${cause.message}`, { file, cause });
    if (cause instanceof RangeError) throw new Df11Error('header-invalid-json', 'header JSON is too deeply nested', { file, cause });
    throw cause;
  }
  if (!(root instanceof JsonObject)) throw new Df11Error('header-invalid-json', 'header is not a JSON object', { file });
  return root;
}

function parseMetadata(value: JsonValue, file: string): Record<string, string> | null {
  if (value === null) return null;
  if (!(value instanceof JsonObject)) throw new Df11Error('header-invalid', `"${METADATA_KEY}" is not an object`, { file });
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [k, v] of value.entries) {
    if (typeof v !== 'string') throw new Df11Error('header-invalid', `"${METADATA_KEY}" value of "${k}" is not a string`, { file });
    if (seen.has(k)) throw new Df11Error('header-invalid', `"${METADATA_KEY}" key "${k}" appears twice`, { file });
    seen.add(k);
    out.push([k, v]);
  }
  // fromEntries defines own properties, so even a key named "__proto__" is kept as data.
  return Object.fromEntries(out);
}

function parseEntry(name: string, value: JsonValue, dataStart: number, file: string): TensorEntry {
  const ctx = { file, tensor: name };
  if (!(value instanceof JsonObject)) throw new Df11Error('header-invalid', 'tensor entry is not an object', ctx);
  let dtypeV: JsonValue | undefined;
  let shapeV: JsonValue | undefined;
  let offsetsV: JsonValue | undefined;
  const seen = new Set<string>();
  for (const [k, v] of value.entries) {
    if (seen.has(k)) throw new Df11Error('header-invalid', `field "${k}" appears twice`, ctx);
    seen.add(k);
    // Other fields are ignored, as the reference implementation does.
    if (k === 'dtype') dtypeV = v;
    else if (k === 'shape') shapeV = v;
    else if (k === 'data_offsets') offsetsV = v;
  }
  if (dtypeV === undefined || shapeV === undefined || offsetsV === undefined) {
    throw new Df11Error('header-invalid', 'tensor entry needs "dtype", "shape" and "data_offsets"', ctx);
  }
  if (typeof dtypeV !== 'string') throw new Df11Error('header-invalid', '"dtype" is not a string', ctx);
  if (!isDtype(dtypeV)) throw new Df11Error('dtype-unknown', `unknown dtype ${JSON.stringify(dtypeV)}`, ctx);
  if (!Array.isArray(shapeV)) throw new Df11Error('header-invalid', '"shape" is not an array', ctx);
  const shape: number[] = [];
  for (const d of shapeV) {
    const v = d instanceof JsonNumber ? d.safeNonNegativeInteger : undefined;
    if (v === undefined) throw new Df11Error('header-invalid', `shape dimension ${describe(d)} is not a non-negative integer below 2^53`, ctx);
    shape.push(v);
  }
  if (!Array.isArray(offsetsV) || offsetsV.length !== 2) {
    throw new Df11Error('offsets-invalid', '"data_offsets" is not an array of two integers', ctx);
  }
  const [b, e] = offsetsV;
  const begin = b instanceof JsonNumber ? b.safeNonNegativeInteger : undefined;
  const end = e instanceof JsonNumber ? e.safeNonNegativeInteger : undefined;
  if (begin === undefined || end === undefined) {
    throw new Df11Error('offsets-invalid', `data_offsets [${describe(b)}, ${describe(e)}] are not non-negative integers below 2^53`, ctx);
  }
  if (begin > end) throw new Df11Error('offsets-invalid', `data_offsets begin ${begin} > end ${end}`, ctx);
  const size = tensorByteSize(shape, dtypeV);
  if (size === undefined) throw new Df11Error('shape-size-mismatch', `shape [${shape.join(',')}] of ${dtypeV} overflows 2^53 bytes`, ctx);
  if (size !== end - begin) {
    throw new Df11Error('shape-size-mismatch', `shape [${shape.join(',')}] of ${dtypeV} needs ${size} bytes but data_offsets span ${end - begin}`, ctx);
  }
  if (dataStart + end > Number.MAX_SAFE_INTEGER) throw new Df11Error('offsets-invalid', `data_offsets end ${end} overflows 2^53 bytes`, ctx);
  return { name, dtype: dtypeV, shape, start: dataStart + begin, end: dataStart + end };
}

/** Sorted by offset, the tensors must cover [0, dataSize) of the data section exactly. */
function checkTiling(tensors: readonly TensorEntry[], dataSize: number, dataStart: number, file: string): void {
  const sorted = [...tensors].sort((x, y) => x.start - y.start || x.end - y.end);
  let cursor = dataStart;
  let prev: TensorEntry | undefined;
  for (const t of sorted) {
    if (t.start < cursor) {
      throw new Df11Error('offsets-invalid', `data_offsets overlap those of ${prev?.name ?? '?'} by ${cursor - t.start} bytes`, { file, tensor: t.name });
    }
    if (t.start > cursor) {
      throw new Df11Error('offsets-invalid', `gap of ${t.start - cursor} bytes in the data section before this tensor`, { file, tensor: t.name });
    }
    cursor = t.end;
    prev = t;
  }
  const covered = cursor - dataStart;
  if (covered > dataSize) {
    throw new Df11Error('truncated-file', `data section has ${dataSize} bytes but the tensors need ${covered}`, { file, tensor: prev?.name });
  }
  if (covered < dataSize) {
    throw new Df11Error('offsets-invalid', `${dataSize - covered} bytes at the end of the data section belong to no tensor`, { file });
  }
}

function describe(v: JsonValue | undefined): string {
  if (v instanceof JsonNumber) return v.lexeme;
  if (v === undefined) return 'missing';
  if (v instanceof JsonObject) return 'an object';
  return JSON.stringify(v).slice(0, 40);
}

/** Matches a lone UTF-16 surrogate (one that cannot be encoded as UTF-8). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone UTF-16 surrogate (so it encodes to valid UTF-8). */
function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
