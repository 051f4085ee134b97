// Host side of the WebAssembly chunk decoder (assembly/codec/decode.ts): validates the unit with the
// chunk decoders' structural checks (chunk-index.ts), builds the decode tables in WebAssembly memory
// and streams the requested chunks through it in tiles of TILE_CHUNKS: stream bytes, gaps and
// sign/mantissa bytes in, BF16 words out. Semantics and errors are those of decode-chunked.ts
// (df11-format.md §8.4); the output is the serial decode of the stream or a Df11Error.
//
// Memory: a few MiB whatever the unit's size (one tile's buffers), so units of any size the format
// allows (N, B < 2^31) decode here; nothing has to fit the 4 GiB of a wasm32 memory.
import { Df11Error, type Df11ErrorCode } from '../../errors.js';
import { readChunkIndex, type ChunkIndex } from '../chunk-index.js';
import { CHUNK_BITS, CHUNK_BYTES, GAP_BYTES_PER_CHUNK, LUT_ROW_BYTES, MAX_LUT_ROWS } from '../constants.js';
import type { Df11Unit } from '../unit.js';
import type { UnitContext } from '../validate-unit.js';
import { alignUp, codecWasm, type CodecWasm } from './codec-wasm.js';

/** Chunks per tile: ~200 K elements, so a tile's buffers (~1 MiB in use) stay in the L2 cache. */
export const TILE_CHUNKS = 16;
/** A chunk holds at most one code per stream bit (codes are >= 1 bit): its element bound. */
const MAX_CHUNK_ELEMENTS = CHUNK_BITS;
/** Bytes the kernel may read past a tile's stream bytes: 4 look-ahead bytes, then an 8-byte load. */
const STREAM_TAIL_BYTES = 16;
const REGION_ALIGN = 64;
const SIMD_BYTES = 16;

/** Result codes of the kernel's decodeTile (assembly/codec/decode.ts). */
const KERNEL_ERRORS: Record<number, Df11ErrorCode> = {
  1: 'corrupt-lut-chain',
  2: 'corrupt-zero-length',
  3: 'stream-length-mismatch',
  4: 'chunk-count-mismatch',
  5: 'gap-mismatch',
};

interface DecodeLayout {
  luts: number;
  tables: number;
  ops: number;
  gaps: number;
  enc: number;
  rev: number;
  /** Bytes of the stream regions (a multiple of 16). */
  encBytes: number;
  slots: number;
  stage: number;
  sm: number;
  out: number;
  end: number;
}

function decodeLayout(wasm: CodecWasm): DecodeLayout {
  const cached = wasm.layouts.get('decode') as DecodeLayout | undefined;
  if (cached) return cached;
  let at = wasm.heapBase;
  const take = (bytes: number): number => {
    const start = at;
    at = alignUp(at + bytes, REGION_ALIGN);
    return start;
  };
  const encBytes = alignUp(TILE_CHUNKS * CHUNK_BYTES + STREAM_TAIL_BYTES, SIMD_BYTES);
  const layout: DecodeLayout = {
    luts: take(MAX_LUT_ROWS * LUT_ROW_BYTES),
    tables: take(wasm.exports.DECODE_TABLE_BYTES.value),
    ops: take(4 * (TILE_CHUNKS + 2)),
    gaps: take(GAP_BYTES_PER_CHUNK * TILE_CHUNKS + 2),
    enc: take(encBytes),
    rev: take(encBytes),
    encBytes,
    slots: take(wasm.exports.DECODE_SLOT_BYTES.value),
    stage: take(TILE_CHUNKS * (MAX_CHUNK_ELEMENTS + 8) + 16),
    sm: take(TILE_CHUNKS * MAX_CHUNK_ELEMENTS + SIMD_BYTES),
    out: take(2 * TILE_CHUNKS * MAX_CHUNK_ELEMENTS + 2 * SIMD_BYTES),
    end: 0,
  };
  layout.end = at;
  wasm.ensureBytes(layout.end);
  wasm.layouts.set('decode', layout);
  return layout;
}

/** A unit checked for the WebAssembly decoder; reuse it for many chunk ranges of the same unit. */
export interface WasmPreparedUnit {
  readonly unit: Df11Unit;
  readonly index: ChunkIndex;
  readonly context: UnitContext;
}

/**
 * Validates the unit's structure (readChunkIndex).
 * @throws Df11Error 'unit-invalid'
 */
export function prepareUnitWasm(unit: Df11Unit, context: UnitContext = {}): WasmPreparedUnit {
  return { unit, index: readChunkIndex(unit, context), context };
}

/** True when the WebAssembly decoder can run in this thread (see codecWasm). */
export function wasmDecoderAvailable(): boolean {
  return codecWasm() !== undefined;
}

function requireWasm(): CodecWasm {
  const wasm = codecWasm();
  if (!wasm) throw new Error('WebAssembly codec is not available in this environment');
  return wasm;
}

/**
 * Decodes a whole unit into a new array of N BF16 bit patterns with the WebAssembly chunk decoder.
 * Same errors as {@link decodeChunksWasmInto}.
 */
export function decodeUnitWasm(unit: Df11Unit, context: UnitContext = {}): Uint16Array {
  const prepared = prepareUnitWasm(unit, context);
  const out = new Uint16Array(prepared.index.elements);
  decodePreparedChunksWasm(prepared, out, 0, prepared.index.chunks);
  return out;
}

/**
 * Decodes chunks [firstChunk, endChunk) of `unit` into `out` (length >= N): chunk b writes exactly
 * out[op[b] .. min(op[b+1], N)) and nothing else, even on corrupt input.
 * @throws Df11Error 'unit-invalid', 'gap-mismatch', 'chunk-count-mismatch', 'corrupt-lut-chain',
 *   'corrupt-zero-length', 'stream-length-mismatch' (as decodeChunksInto); RangeError when `out` is
 *   shorter than N or the range is not within [0, K]; Error when WebAssembly is unavailable.
 */
export function decodeChunksWasmInto(unit: Df11Unit, out: Uint16Array, firstChunk: number, endChunk: number, context: UnitContext = {}): void {
  decodePreparedChunksWasm(prepareUnitWasm(unit, context), out, firstChunk, endChunk);
}

/** {@link decodeChunksWasmInto} for a prepared unit. */
export function decodePreparedChunksWasm(prepared: WasmPreparedUnit, out: Uint16Array, firstChunk: number, endChunk: number): void {
  const { chunks, elements } = prepared.index;
  if (out.length < elements) throw new RangeError(`decodeChunksWasmInto: output holds ${out.length} elements; the unit has ${elements}`);
  if (!(Number.isInteger(firstChunk) && Number.isInteger(endChunk) && 0 <= firstChunk && firstChunk <= endChunk && endChunk <= chunks)) {
    throw new RangeError(`decodeChunksWasmInto: chunk range [${firstChunk}, ${endChunk}) is not within [0, ${chunks}]`);
  }
  const wasm = requireWasm();
  const layout = decodeLayout(wasm);
  loadTables(wasm, layout, prepared.unit.luts);
  for (let b = firstChunk; b < endChunk; b += TILE_CHUNKS) decodeTile(wasm, layout, prepared, out, b, Math.min(endChunk, b + TILE_CHUNKS));
}

/** Copies `luts` in and builds the decode tables, unless the module holds tables for the same bytes. */
function loadTables(wasm: CodecWasm, layout: DecodeLayout, luts: Uint8Array): void {
  const key = wasm.layouts.get('decode-luts') as Uint8Array | undefined;
  if (key && key.length === luts.length && key.every((v, i) => v === luts[i])) return;
  wasm.u8.set(luts, layout.luts);
  wasm.exports.buildDecodeTables(layout.luts, luts.length / LUT_ROW_BYTES, layout.tables);
  wasm.layouts.set('decode-luts', luts.slice());
}

/** Decodes chunks [first, end) (at most TILE_CHUNKS) into `out`. */
function decodeTile(wasm: CodecWasm, layout: DecodeLayout, prepared: WasmPreparedUnit, out: Uint16Array, first: number, end: number): void {
  const { index, unit, context } = prepared;
  const { op, elements: n, chunks: k, streamBytes } = index;
  const tile = end - first;
  // Element range of the tile; a chunk of more than 32768 elements cannot match its stream.
  for (let b = first; b < end; b++) {
    const count = Math.min(op[b + 1]!, n) - op[b]!;
    if (count > MAX_CHUNK_ELEMENTS) {
      throw new Df11Error('chunk-count-mismatch', `chunk ${b}: output_positions gives ${count} codes; a chunk holds at most ${MAX_CHUNK_ELEMENTS}`, context);
    }
  }
  const e0 = op[first]!;
  const e1 = Math.min(op[end]!, n);
  const mem = wasm.u8;
  // op[first .. min(end + 1, K)]
  const u32 = wasm.u32;
  const opEnd = Math.min(end + 1, k);
  for (let b = first; b <= opEnd; b++) u32[(layout.ops >>> 2) + b - first] = op[b]!;
  // Stream bytes of the tile and 4 look-ahead bytes, zero past B; then reversed.
  const encFrom = first * CHUNK_BYTES;
  const encTo = Math.min(streamBytes, end * CHUNK_BYTES + 4);
  mem.set(unit.encodedExponent.subarray(encFrom, encTo), layout.enc);
  mem.fill(0, layout.enc + (encTo - encFrom), layout.enc + layout.encBytes);
  wasm.exports.reverseBytes(layout.enc, layout.rev, layout.encBytes);
  // Gaps from window 512 * first, including the next chunk's first window, zero-padded.
  const gapFrom = first * GAP_BYTES_PER_CHUNK;
  const gapTo = Math.min(unit.gaps.length, end * GAP_BYTES_PER_CHUNK + 2);
  mem.set(unit.gaps.subarray(gapFrom, gapTo), layout.gaps);
  mem.fill(0, layout.gaps + (gapTo - gapFrom), layout.gaps + tile * GAP_BYTES_PER_CHUNK + 4);
  mem.set(unit.signMantissa.subarray(e0, e1), layout.sm);
  const result = wasm.exports.decodeTile(
    layout.luts, unit.luts.length / LUT_ROW_BYTES, layout.tables, layout.ops, layout.gaps,
    layout.rev + layout.encBytes - 8, layout.stage, layout.slots, layout.sm, layout.out,
    first, tile, k - 1, n, streamBytes,
  );
  if (result !== 0) throw kernelError(wasm, result, context);
  out.set(wasm.u16.subarray(layout.out >>> 1, (layout.out >>> 1) + (e1 - e0)), e0);
}

function kernelError(wasm: CodecWasm, result: number, context: UnitContext): Df11Error {
  const x = wasm.exports;
  const code = KERNEL_ERRORS[result];
  const chunk = x.errorChunk();
  const bit = x.errorBit();
  const value = x.errorValue();
  const expected = x.errorExpected();
  switch (code) {
    case 'corrupt-lut-chain':
      return new Df11Error(code, `chunk ${chunk}, bit ${bit}: a 5th lookup level (value ${value})`, context);
    case 'corrupt-zero-length':
      return new Df11Error(code, `chunk ${chunk}, bit ${bit}: exponent ${value} has code length 0`, context);
    case 'stream-length-mismatch':
      return new Df11Error(code, `the codes end in byte ${value}; encoded_exponent has ${expected}`, context);
    case 'chunk-count-mismatch':
      return new Df11Error(code, `chunk ${chunk}: output_positions gives ${expected} codes, the stream has ${value} (ending at bit ${bit})`, context);
    case 'gap-mismatch':
      return new Df11Error(code, `chunk ${chunk}, bit ${bit}: gap ${value}, but the codes start at offset ${expected}`, context);
    default:
      return new Df11Error('unit-invalid', `decoder kernel returned ${result}`, context);
  }
}
