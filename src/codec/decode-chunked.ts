// Chunk-parallel CPU decoder: decodes any range of 4096-byte chunks independently, with the semantics
// of the GPU kernels (df11-format.md §8.4): each chunk starts at its `op[b]`, each window at its gap,
// results are clamped to [op[b], min(op[b+1], N)). Chunks share nothing, so ranges can go to threads.
//
// Validation (so a decoder that returns never returns anything but the serial decode of the stream):
//  - every window that produces output must start where the previous window's last code ends
//    ('gap-mismatch'; window 0 of the stream must start at bit 0), so each window decodes the same codes
//    as a serial decoder; this is what lets the CPU walk a chunk as one continuous run of codes;
//  - every complete (non-last) chunk has exactly op[b+1] - op[b] code starts ('chunk-count-mismatch');
//    the last chunk must reach N (garbage after it, §13.3, is never decoded);
//  - a needed code with a 5th lookup or length 0 throws ('corrupt-lut-chain', 'corrupt-zero-length');
//  - whoever decodes element N-1 checks ceil(S/8) = B ('stream-length-mismatch').
// Bytes past B read as 0; the byte past the end of `gaps` reads as 0; a short `op` gets op[K] = N.
import { Df11Error } from '../errors.js';
import { readChunkIndex, type ChunkIndex } from './chunk-index.js';
import { CHUNK_BITS, CHUNK_BYTES, WINDOW_BITS, WINDOWS_PER_CHUNK } from './constants.js';
import { buildFastTable, FAST_TABLE_BITS, FAST_TABLE_MISS, PACKED_EXPONENT_MASK, PACKED_LENGTH_MASK, walkLuts } from './fast-table.js';
import { gapAt } from './gaps.js';
import type { Df11Unit } from './unit.js';
import type { UnitContext } from './validate-unit.js';

/** 32-bit big-endian words of one chunk plus the look-ahead word (4 bytes past the chunk, §8.4). */
const CHUNK_WORDS = CHUNK_BYTES / 4 + 1;
const WORD_BITS = 32;
const WORD_BYTES = 4;
/** Sign/mantissa byte -> its bits in place in a BF16 word (sign to bit 15, mantissa stays in 0-6). */
const SIGN_MANTISSA_BITS = (() => {
  const t = new Uint16Array(256);
  for (let s = 0; s < 256; s++) t[s] = ((s & 0x80) << 8) | (s & 0x7f);
  return t;
})();

/** A unit checked and prepared for chunk decoding: reuse it to decode many chunk ranges. */
export interface PreparedUnit {
  readonly unit: Df11Unit;
  readonly index: ChunkIndex;
  /** Fast table derived from `luts` (fast-table.ts). */
  readonly fast: Uint16Array;
  /** Names the unit (file, tensor) in errors, when known. */
  readonly context: UnitContext;
}

/**
 * Validates the unit's structure (chunk-index.ts) and derives the fast decode table.
 * @throws Df11Error 'unit-invalid' on a structural problem.
 */
export function prepareUnit(unit: Df11Unit, context: UnitContext = {}): PreparedUnit {
  const index = readChunkIndex(unit, context);
  return { unit, index, fast: buildFastTable(index.luts), context };
}

/** Allocates the per-thread scratch buffer {@link decodePreparedChunks} needs. */
export function createChunkScratch(): Int32Array {
  return new Int32Array(CHUNK_WORDS);
}

/**
 * Decodes chunks [firstChunk, endChunk) of `unit` into `out` (length >= N): chunk b writes exactly
 * out[op[b] .. min(op[b+1], N)) and nothing else, even on corrupt input.
 * @throws Df11Error 'unit-invalid', 'gap-mismatch', 'chunk-count-mismatch', 'corrupt-lut-chain',
 *   'corrupt-zero-length', 'stream-length-mismatch' (see the file header); RangeError when `out` is
 *   shorter than N or the range is not within [0, K].
 */
export function decodeChunksInto(unit: Df11Unit, out: Uint16Array, firstChunk: number, endChunk: number): void {
  decodePreparedChunks(prepareUnit(unit), out, firstChunk, endChunk, createChunkScratch());
}

/** Decodes the whole unit with the chunk decoder. Same errors as {@link decodeChunksInto}. */
export function decodeChunked(unit: Df11Unit): Uint16Array {
  const prepared = prepareUnit(unit);
  const out = new Uint16Array(prepared.index.elements);
  decodePreparedChunks(prepared, out, 0, prepared.index.chunks, createChunkScratch());
  return out;
}

/** {@link decodeChunksInto} for a prepared unit, with caller-owned scratch from {@link createChunkScratch}. */
export function decodePreparedChunks(prepared: PreparedUnit, out: Uint16Array, firstChunk: number, endChunk: number, scratch: Int32Array): void {
  const { chunks, elements } = prepared.index;
  if (out.length < elements) throw new RangeError(`decodeChunksInto: output holds ${out.length} elements; the unit has ${elements}`);
  if (!(Number.isInteger(firstChunk) && Number.isInteger(endChunk) && 0 <= firstChunk && firstChunk <= endChunk && endChunk <= chunks)) {
    throw new RangeError(`decodeChunksInto: chunk range [${firstChunk}, ${endChunk}) is not within [0, ${chunks}]`);
  }
  if (scratch.length < CHUNK_WORDS) throw new RangeError(`decodeChunksInto: scratch needs ${CHUNK_WORDS} words`);
  for (let b = firstChunk; b < endChunk; b++) decodeChunk(prepared, out, b, scratch);
}

/** Copies chunk b's bytes (plus the 4 look-ahead bytes) into big-endian words, zero past B. */
function loadChunkWords(enc: Uint8Array, b: number, words: Int32Array): void {
  const base = b * CHUNK_BYTES;
  const avail = enc.length - base;
  if (avail >= CHUNK_WORDS * WORD_BYTES) {
    const view = new DataView(enc.buffer, enc.byteOffset + base, CHUNK_WORDS * WORD_BYTES);
    for (let i = 0; i < CHUNK_WORDS; i++) words[i] = view.getInt32(i * WORD_BYTES);
    return;
  }
  for (let i = 0; i < CHUNK_WORDS; i++) {
    let w = 0;
    for (let k = 0; k < WORD_BYTES; k++) {
      const o = i * WORD_BYTES + k;
      w = (w << 8) | (o < avail ? enc[base + o]! : 0);
    }
    words[i] = w;
  }
}

function decodeChunk(prepared: PreparedUnit, out: Uint16Array, b: number, words: Int32Array): void {
  const { index, fast, context } = prepared;
  const { op, elements: n, chunks } = index;
  const { encodedExponent: enc, signMantissa: sm, gaps } = prepared.unit;
  const start = op[b]!;
  const stop = op[b + 1]!;
  const end = stop < n ? stop : n;
  const complete = b < chunks - 1;
  if (!complete && start >= end) return; // e.g. the chunk holding only EOF, or the short case's last chunk

  const firstWindow = b * WINDOWS_PER_CHUNK;
  let p = gapAt(gaps, firstWindow); // bit position inside the chunk
  if (b === 0 && p !== 0) throw new Df11Error('gap-mismatch', `gap of window 0 is ${p}; the stream starts at bit 0`, context);
  loadChunkWords(enc, b, words);
  const smBits = SIGN_MANTISSA_BITS;

  let idx = start;
  let windowEnd = WINDOW_BITS;
  for (let j = 0; ; ) {
    // Hot loop: one code per iteration. p < windowEnd <= 32768, so words[q + 1] is in the scratch.
    while (p < windowEnd && idx < end) {
      const q = p >>> 5;
      const r = p & (WORD_BITS - 1);
      const x = (words[q]! << r) | ((words[q + 1]! >>> 1) >>> (WORD_BITS - 1 - r));
      let packed = fast[x >>> (WORD_BITS - FAST_TABLE_BITS)]!;
      if (packed === FAST_TABLE_MISS) packed = walkLuts(index.luts, x, context);
      out[idx] = smBits[sm[idx]!]! | (packed & PACKED_EXPONENT_MASK);
      idx++;
      p += packed & PACKED_LENGTH_MASK;
    }
    if (idx >= end) break;
    if (++j === WINDOWS_PER_CHUNK) break;
    const gap = gapAt(gaps, firstWindow + j);
    if (p - windowEnd !== gap) {
      throw new Df11Error('gap-mismatch', `window ${firstWindow + j}: gap ${gap}, but the previous code ends at offset ${p - windowEnd}`, context);
    }
    windowEnd += WINDOW_BITS;
  }

  if (complete) {
    if (idx !== end || p < CHUNK_BITS) {
      throw new Df11Error('chunk-count-mismatch', `chunk ${b}: output_positions gives ${stop - start} codes, the stream has ${idx - start}${p < CHUNK_BITS ? ' or more' : ''}`, context);
    }
    // The next chunk's first window must start where this chunk's last code ends, if it produces output.
    const nextStop = op[b + 2]!;
    if (stop < (nextStop < n ? nextStop : n)) {
      const gap = gapAt(gaps, firstWindow + WINDOWS_PER_CHUNK);
      if (p - CHUNK_BITS !== gap) {
        throw new Df11Error('gap-mismatch', `window ${firstWindow + WINDOWS_PER_CHUNK}: gap ${gap}, but the previous code ends at offset ${p - CHUNK_BITS}`, context);
      }
    }
  } else if (idx < end) {
    throw new Df11Error('chunk-count-mismatch', `the stream ends after ${idx} of ${n} elements`, context);
  }
  if (idx === n) {
    // This chunk decoded element N-1; p is the end of its code.
    const bytes = b * CHUNK_BYTES + Math.ceil(p / 8);
    if (bytes !== enc.length) {
      throw new Df11Error('stream-length-mismatch', `the ${n} codes end in byte ${bytes}; encoded_exponent has ${enc.length}`, context);
    }
  }
}
