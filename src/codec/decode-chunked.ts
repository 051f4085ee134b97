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
//
// Speed (one thread): a chunk's bytes are copied once into big-endian words; each lookup of the
// multi-code table (multi-table.ts) on 12 look-ahead bits yields up to four codes (about three on
// trained weights); the hot loop is shaped for V8 (see decodeChunkCodes). bench/decode-cpu.ts measures it.
import { Df11Error } from '../errors.js';
import { readChunkIndex, type ChunkIndex } from './chunk-index.js';
import { CHUNK_BITS, CHUNK_BYTES, WINDOW_BITS, WINDOWS_PER_CHUNK } from './constants.js';
import { buildFastTable, FAST_TABLE_BITS, PACKED_EXPONENT_MASK, PACKED_LENGTH_MASK, walkLuts } from './fast-table.js';
import {
  buildMultiTable,
  MULTI_ADVANCE_MASK,
  MULTI_COUNT_MASK,
  MULTI_COUNT_SHIFT,
  MULTI_MAX_CODES,
  MULTI_MISS,
  MULTI_START_BITS,
  MULTI_START_SHIFT,
  type MultiTable,
} from './multi-table.js';
import { gapAt } from './gaps.js';
import type { Df11Unit } from './unit.js';
import type { UnitContext } from './validate-unit.js';

/** 32-bit big-endian words of one chunk plus the look-ahead word (4 bytes past the chunk, §8.4). */
const CHUNK_WORDS = CHUNK_BYTES / 4 + 1;
/** Words of the scratch: the chunk's words, then one spare word the hot loop may read (never use). */
const SCRATCH_WORDS = CHUNK_WORDS + 1;
/** Words per window: the hot loop holds a window's words in registers. */
const WORDS_PER_WINDOW = WINDOW_BITS / 32;
const WORD_BITS = 32;
const WORD_BYTES = 4;
/**
 * Where decodeChunkCodes' last counted code ended, in bits from the start of its chunk. A module
 * variable rather than a second return value: V8 needs no type feedback to store it (see
 * decodeChunkCodes). Only meaningful right after a call.
 */
let lastEndBit = 0;
/** Sign/mantissa byte -> its bits in place in a BF16 word (sign to bit 15, mantissa stays in 0-6). */
const SIGN_MANTISSA_BITS = (() => {
  const t = new Uint16Array(256);
  for (let s = 0; s < 256; s++) t[s] = ((s & 0x80) << 8) | (s & 0x7f);
  return t;
})();

/*
 * The hot loop writes its constants as literals: V8 reloads a module-level binding on every use (and a
 * TypeScript const enum is not inlined under this project's compiler settings). Each literal names
 * its constant in a comment; this check keeps them in step.
 */
if (
  WORD_BITS !== 32 ||
  FAST_TABLE_BITS !== 12 ||
  MULTI_MISS !== 0 ||
  MULTI_ADVANCE_MASK !== 0x3f ||
  MULTI_COUNT_SHIFT !== 6 ||
  MULTI_COUNT_MASK !== 7 ||
  MULTI_MAX_CODES !== 4 ||
  MULTI_START_SHIFT !== 9 ||
  MULTI_START_BITS !== 4 ||
  PACKED_EXPONENT_MASK !== 0x7f80 ||
  PACKED_LENGTH_MASK !== 0x7f ||
  WORDS_PER_WINDOW !== 2 ||
  WINDOWS_PER_CHUNK !== 512
) {
  throw new Error('decode-chunked: hot-loop literals out of step with their constants');
}

/** A unit checked and prepared for chunk decoding: reuse it to decode many chunk ranges. */
export interface PreparedUnit {
  readonly unit: Df11Unit;
  readonly index: ChunkIndex;
  /** Multi-code table derived from `luts` (multi-table.ts). */
  readonly multi: MultiTable;
  /** Names the unit (file, tensor) in errors, when known. */
  readonly context: UnitContext;
}

/**
 * Validates the unit's structure (chunk-index.ts) and derives the decode tables from its `luts`.
 * @throws Df11Error 'unit-invalid' on a structural problem.
 */
export function prepareUnit(unit: Df11Unit, context: UnitContext = {}): PreparedUnit {
  const index = readChunkIndex(unit, context);
  return { unit, index, multi: buildMultiTable(buildFastTable(index.luts)), context };
}

/** Allocates the per-thread scratch buffer {@link decodePreparedChunks} needs. */
export function createChunkScratch(): Int32Array {
  return new Int32Array(SCRATCH_WORDS);
}

/**
 * Decodes chunks [firstChunk, endChunk) of `unit` into `out` (length >= N): chunk b writes
 * out[op[b] .. min(op[b+1], N)) and nothing outside it, even on corrupt input (where it may throw
 * after writing part of its range).
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
  if (scratch.length < SCRATCH_WORDS) throw new RangeError(`decodeChunksInto: scratch needs ${SCRATCH_WORDS} words`);
  const { op, elements: n } = prepared.index;
  const lastChunk = chunks - 1;
  for (let b = firstChunk; b < endChunk; b++) {
    // The last chunk may produce nothing (it holds only EOF, or it is the short case's chunk K-1).
    if (b === lastChunk && op[b]! >= Math.min(op[b + 1]!, n)) continue;
    const next = decodeChunkCodes(prepared, out, b, scratch);
    finishChunk(prepared, b, next, lastEndBit);
  }
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

/**
 * Decodes the codes of chunk b into out[op[b] .. min(op[b+1], N)), window by window, checking each
 * window's gap against where the previous window's codes end (window 0 of chunk b is checked by chunk
 * b-1); returns the next element index and leaves the end of the last counted code in lastEndBit.
 *
 * Shape, for V8: the two inner loops call nothing (a table miss leaves them), so the JIT keeps the
 * arrays' base pointers in registers; each lookup writes four elements and advances by its 1..4 codes
 * without a branch (elements past its codes are rewritten by the next lookup, and the loops stop 3
 * short of the range's end); a window's 96 bits (its 64 plus the 32-bit look-ahead) sit in three
 * registers. Code that runs once per call (the exits) stays small: V8 compiles a long first call's
 * loop on the fly, before such code has run.
 */
function decodeChunkCodes(prepared: PreparedUnit, out: Uint16Array, b: number, words: Int32Array): number {
  const { index, multi, context } = prepared;
  const { meta, exponents } = multi;
  const { op, elements: n } = index;
  const { encodedExponent: enc, signMantissa: sm, gaps } = prepared.unit;
  const start = op[b]!;
  const stop = op[b + 1]!;
  const end = stop < n ? stop : n;
  const endQuad = end - 3; // a lookup writes four elements while idx < endQuad (MULTI_MAX_CODES)
  const firstWindow = b * WINDOWS_PER_CHUNK;
  let p = gapAt(gaps, firstWindow); // bit offset in window j of the next code
  if (b === 0 && p !== 0) throw new Df11Error('gap-mismatch', `gap of window 0 is ${p}; the stream starts at bit 0`, context);
  loadChunkWords(enc, b, words);
  const smBits = SIGN_MANTISSA_BITS;

  // Literals below: see the check at the top of the file (WORD_BITS 32, FAST_TABLE_BITS 12, the
  // MULTI_* layout, WORDS_PER_WINDOW 2, 512 windows per chunk).
  let idx = start;
  let lastMeta = 0; // the last lookup's meta (0 after a general-path code) ...
  let lastStart = 0; // ... and where in the window it started
  for (let j = 0; ; ) {
    const w0 = words[2 * j]!;
    const w1 = words[2 * j + 1]!;
    const w2 = words[2 * j + 2]!; // look-ahead; the spare scratch word after the chunk when j = 511
    for (;;) {
      // Codes starting in the window's first word, then in its second; x = 32 bits from offset p
      // (two shifts keep a shift of 0 right: JS shift counts are mod 32).
      while (p < 32 && idx < endQuad) {
        const x = (w0 << p) | ((w1 >>> 1) >>> (31 - p));
        const m = meta[x >>> 20]!;
        if (m === 0) break; // MULTI_MISS
        const e = exponents[x >>> 20]!;
        out[idx] = smBits[sm[idx]!]! | ((e << 7) & 0x7f80);
        out[idx + 1] = smBits[sm[idx + 1]!]! | ((e >>> 1) & 0x7f80);
        out[idx + 2] = smBits[sm[idx + 2]!]! | ((e >>> 9) & 0x7f80);
        out[idx + 3] = smBits[sm[idx + 3]!]! | ((e >>> 17) & 0x7f80);
        idx += (m >>> 6) & 7;
        lastMeta = m;
        lastStart = p;
        p += m & 0x3f;
      }
      if (p >= 32) {
        while (p < 64 && idx < endQuad) {
          const s = p - 32;
          const x = (w1 << s) | ((w2 >>> 1) >>> (31 - s));
          const m = meta[x >>> 20]!;
          if (m === 0) break;
          const e = exponents[x >>> 20]!;
          out[idx] = smBits[sm[idx]!]! | ((e << 7) & 0x7f80);
          out[idx + 1] = smBits[sm[idx + 1]!]! | ((e >>> 1) & 0x7f80);
          out[idx + 2] = smBits[sm[idx + 2]!]! | ((e >>> 9) & 0x7f80);
          out[idx + 3] = smBits[sm[idx + 3]!]! | ((e >>> 17) & 0x7f80);
          idx += (m >>> 6) & 7;
          lastMeta = m;
          lastStart = p;
          p += m & 0x3f;
        }
      }
      if (p >= 64 || idx >= end) break;
      // A table miss, or one of the range's last three elements: one code by the LUT walk.
      const s = p & 31;
      const x = p < 32 ? (w0 << s) | ((w1 >>> 1) >>> (31 - s)) : (w1 << s) | ((w2 >>> 1) >>> (31 - s));
      const packed = walkLuts(index.luts, x, context);
      out[idx] = smBits[sm[idx]!]! | (packed & 0x7f80); // PACKED_EXPONENT_MASK
      idx++;
      lastMeta = 0;
      lastStart = p;
      p += packed & 0x7f; // PACKED_LENGTH_MASK
    }
    if (p < 64) {
      lastEndBit = 64 * j + p; // done inside the window
      break;
    }
    // The next code starts in window j+1: at p, or at an earlier code of the last lookup that starts
    // there already (`beyond` of its codes do).
    let next = p;
    let beyond = 0;
    for (let k = ((lastMeta >>> 6) & 7) - 1; k >= 1; k--) {
      const codeStart = lastStart + ((lastMeta >>> (9 + 4 * (k - 1))) & 0xf);
      if (codeStart < 64) break;
      next = codeStart;
      beyond++;
    }
    if (++j === 512) {
      // Chunk end: codes starting in the next chunk are not this chunk's (finishChunk then sees the
      // count fall short of op).
      idx -= beyond;
      lastEndBit = 64 * 511 + next;
      break;
    }
    if (idx < end || beyond > 0) {
      const gap = gapAt(gaps, firstWindow + j);
      if (gap !== next - 64) throw gapMismatch(firstWindow + j, gap, next - 64, context);
    }
    if (idx >= end) {
      lastEndBit = 64 * (j - 1) + p;
      break;
    }
    p -= 64;
    lastMeta = 0;
  }
  return idx;
}

function gapMismatch(window: number, gap: number, actual: number, context: UnitContext): Df11Error {
  return new Df11Error('gap-mismatch', `window ${window}: gap ${gap}, but the previous code ends at offset ${actual}`, context);
}

/**
 * The checks after chunk b's last code: the count of a complete chunk, the link to the next chunk's
 * first window, N reached in the last chunk, and ceil(S/8) = B after element N-1.
 * `idx` is the next element index, `p` the end of the last decoded code (bits from the chunk start).
 */
function finishChunk(prepared: PreparedUnit, b: number, idx: number, p: number): void {
  const { index, context } = prepared;
  const { op, elements: n, chunks } = index;
  const { encodedExponent: enc, gaps } = prepared.unit;
  const start = op[b]!;
  const stop = op[b + 1]!;
  const end = stop < n ? stop : n;
  const complete = b < chunks - 1;
  const firstWindow = b * WINDOWS_PER_CHUNK;
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
