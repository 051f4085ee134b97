// Host side of the WebAssembly chunk decoder (assembly/codec/decode.ts): validates the unit with the
// chunk decoders' structural checks (chunk-index.ts), builds the decode tables in WebAssembly memory
// and streams the requested chunks through it in tiles of DECODE_TILE_CHUNKS: stream bytes, gaps and
// sign/mantissa bytes in, BF16 words out. Semantics and errors are those of decode-chunked.ts
// (df11-format.md §8.4); the output is the serial decode of the stream or a Df11Error.
//
// Memory: ~2.3 MiB whatever the unit's size (one tile's buffers, assembly/codec/layout.ts), so units
// of any size the format allows (N, B < 2^31) decode here; nothing has to fit a wasm32 memory (4 GiB).
import { Df11Error, type Df11ErrorCode } from '../../errors.js';
import { readChunkIndex, type ChunkIndex } from '../chunk-index.js';
import { CHUNK_BITS, CHUNK_BYTES, GAP_BYTES_PER_CHUNK, LUT_ROW_BYTES, MAX_LUT_ROWS } from '../constants.js';
import type { Df11Unit } from '../unit.js';
import type { UnitContext } from '../validate-unit.js';
import { codecWasm, type CodecWasm } from './codec-wasm.js';

/** A chunk holds at most one code per stream bit (codes are >= 1 bit): its element bound. */
const MAX_CHUNK_ELEMENTS = CHUNK_BITS;
/** Stream bytes a tile needs past its chunks: the 4 look-ahead bytes of §8.4. */
const LOOK_AHEAD_BYTES = 4;
/** Gap bytes a tile needs past its chunks: the next chunk's first window, and the byte after it. */
const GAP_TAIL_BYTES = 2;
/** Zero bytes after the copied gaps (the kernel reads two bytes per window). */
const GAP_PAD_BYTES = 4;
/** Copies keep their alignment mod 8 (the word size of V8's copies to and from shared memory). */
const ALIGN_MASK = 7;

/** Result codes of the kernel's decodeTile (assembly/codec/decode.ts). */
const KERNEL_ERRORS: Record<number, Df11ErrorCode> = {
  1: 'corrupt-lut-chain',
  2: 'corrupt-zero-length',
  3: 'stream-length-mismatch',
  4: 'chunk-count-mismatch',
  5: 'gap-mismatch',
};

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

/** {@link decodeChunksWasmInto} for a prepared unit (`wasm`: this thread's module unless given). */
export function decodePreparedChunksWasm(prepared: WasmPreparedUnit, out: Uint16Array, firstChunk: number, endChunk: number, wasm: CodecWasm = requireWasm()): void {
  const { chunks, elements } = prepared.index;
  if (out.length < elements) throw new RangeError(`decodeChunksWasmInto: output holds ${out.length} elements; the unit has ${elements}`);
  if (!(Number.isInteger(firstChunk) && Number.isInteger(endChunk) && 0 <= firstChunk && firstChunk <= endChunk && endChunk <= chunks)) {
    throw new RangeError(`decodeChunksWasmInto: chunk range [${firstChunk}, ${endChunk}) is not within [0, ${chunks}]`);
  }
  loadTables(wasm, prepared.unit.luts);
  const tile = wasm.layout.DECODE_TILE_CHUNKS;
  for (let b = firstChunk; b < endChunk; b += tile) decodeTile(wasm, prepared, out, b, Math.min(endChunk, b + tile));
}

/** Copies `luts` in and builds the decode tables, unless the module holds tables for the same bytes. */
function loadTables(wasm: CodecWasm, luts: Uint8Array): void {
  const key = wasm.decodeLuts;
  if (key && key.length === luts.length && key.every((v, i) => v === luts[i])) return;
  wasm.decodeLuts = undefined;
  wasm.u8.set(luts, wasm.layout.DEC_LUTS);
  wasm.exports.buildDecodeTables(luts.length / LUT_ROW_BYTES);
  wasm.decodeLuts = luts.slice();
}

/** Decodes chunks [first, end) (at most DECODE_TILE_CHUNKS) into `out`. */
function decodeTile(wasm: CodecWasm, prepared: WasmPreparedUnit, out: Uint16Array, first: number, end: number): void {
  const { index, unit, context } = prepared;
  const { op, elements: n, chunks: k, streamBytes } = index;
  const at = wasm.layout;
  // A chunk of more than 32768 elements cannot match its stream (and would not fit the tile buffers).
  for (let b = first; b < end; b++) {
    const count = Math.min(op[b + 1]!, n) - op[b]!;
    if (count > MAX_CHUNK_ELEMENTS) {
      throw new Df11Error('chunk-count-mismatch', `chunk ${b}: output_positions gives ${count} codes; a chunk holds at most ${MAX_CHUNK_ELEMENTS}`, context);
    }
  }
  const e0 = op[first]!;
  const e1 = Math.min(op[end]!, n);
  const mem = wasm.u8;
  const u32 = wasm.u32;
  const opEnd = Math.min(end + 1, k);
  for (let b = first; b <= opEnd; b++) u32[(at.DEC_OPS >>> 2) + b - first] = op[b]!;
  // Each copy lands at its source's (or target's) alignment mod 8: V8 copies to and from shared memory
  // word by word only when both sides are aligned alike, else byte by byte.
  // Stream bytes of the tile and the look-ahead bytes, zero past B; then reversed by the kernel.
  const enc = unit.encodedExponent;
  const encFrom = first * CHUNK_BYTES;
  const encTo = Math.min(streamBytes, end * CHUNK_BYTES + LOOK_AHEAD_BYTES);
  const encShift = (enc.byteOffset + encFrom) & ALIGN_MASK;
  mem.set(enc.subarray(encFrom, encTo), at.DEC_STREAM + encShift);
  mem.fill(0, at.DEC_STREAM + encShift + (encTo - encFrom), at.DEC_STREAM + encShift + at.DEC_STREAM_BYTES);
  wasm.exports.reverseStream(encShift);
  // Gaps from window 512 * first, through the next chunk's first window, zero-padded.
  const gapFrom = first * GAP_BYTES_PER_CHUNK;
  const gapTo = Math.min(unit.gaps.length, end * GAP_BYTES_PER_CHUNK + GAP_TAIL_BYTES);
  mem.set(unit.gaps.subarray(gapFrom, gapTo), at.DEC_GAPS);
  mem.fill(0, at.DEC_GAPS + (gapTo - gapFrom), at.DEC_GAPS + (end - first) * GAP_BYTES_PER_CHUNK + GAP_TAIL_BYTES + GAP_PAD_BYTES);
  const sm = unit.signMantissa;
  const smShift = (sm.byteOffset + e0) & ALIGN_MASK;
  mem.set(sm.subarray(e0, e1), at.DEC_SM + smShift);
  const outShift = (out.byteOffset + 2 * e0) & ALIGN_MASK;
  const result = wasm.exports.decodeTile(unit.luts.length / LUT_ROW_BYTES, first, end - first, k - 1, n, streamBytes, smShift, outShift);
  if (result !== 0) throw kernelError(wasm, result, context);
  const outAt = (at.DEC_OUT + outShift) >>> 1;
  out.set(wasm.u16.subarray(outAt, outAt + (e1 - e0)), e0);
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
