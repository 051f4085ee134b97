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
import { buildFastTable, FAST_TABLE_BITS, walkLuts } from './fast-table.js';
import {
  buildPairTable,
  PAIR_ADVANCE_MASK,
  PAIR_FIRST_EXPONENT_SHIFT,
  PAIR_FIRST_LENGTH_MASK,
  PAIR_FIRST_LENGTH_SHIFT,
  PAIR_MISS,
  PAIR_SECOND_EXPONENT_SHIFT,
  PAIR_TWO_FLAG,
  pairEntryOfPacked,
} from './pair-table.js';
import { gapAt } from './gaps.js';
import type { Df11Unit } from './unit.js';
import type { UnitContext } from './validate-unit.js';

/** 32-bit big-endian words of one chunk plus the look-ahead word (4 bytes past the chunk, §8.4). */
const CHUNK_WORDS = CHUNK_BYTES / 4 + 1;
/** Words of the scratch: the chunk's words, then one spare word the hot loop may read (never use). */
const SCRATCH_WORDS = CHUNK_WORDS + 1;
/** Words per window and chunk: the hot loop tracks its position as (word index, bit in word). */
const WORDS_PER_WINDOW = WINDOW_BITS / 32;
const WORDS_PER_CHUNK = CHUNK_BITS / 32;
/**
 * Where decodeChunkCodes' last code ended: word index and bit in that word. Module variables rather
 * than a return value or an array slot, because V8 needs no type feedback to store them (see
 * decodeChunkCodes). Only meaningful right after a call.
 */
let lastEndWord = 0;
let lastEndBit = 0;
const WORD_BITS = 32;
const WORD_BYTES = 4;
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
  PAIR_MISS !== 0 ||
  PAIR_ADVANCE_MASK !== 0x3f ||
  PAIR_FIRST_LENGTH_SHIFT !== 6 ||
  PAIR_FIRST_LENGTH_MASK !== 0xf ||
  PAIR_TWO_FLAG !== 0x400 ||
  PAIR_FIRST_EXPONENT_SHIFT - 7 !== 9 ||
  PAIR_SECOND_EXPONENT_SHIFT - 7 !== 17 ||
  WORDS_PER_WINDOW !== 2 ||
  WORDS_PER_CHUNK !== 1024
) {
  throw new Error('decode-chunked: hot-loop literals out of step with their constants');
}

/** A unit checked and prepared for chunk decoding: reuse it to decode many chunk ranges. */
export interface PreparedUnit {
  readonly unit: Df11Unit;
  readonly index: ChunkIndex;
  /** Pair table derived from `luts` (pair-table.ts). */
  readonly pairs: Int32Array;
  /** Names the unit (file, tensor) in errors, when known. */
  readonly context: UnitContext;
}

/**
 * Validates the unit's structure (chunk-index.ts) and derives the fast decode table.
 * @throws Df11Error 'unit-invalid' on a structural problem.
 */
export function prepareUnit(unit: Df11Unit, context: UnitContext = {}): PreparedUnit {
  const index = readChunkIndex(unit, context);
  return { unit, index, pairs: buildPairTable(buildFastTable(index.luts)), context };
}

/** Allocates the per-thread scratch buffer {@link decodePreparedChunks} needs. */
export function createChunkScratch(): Int32Array {
  return new Int32Array(SCRATCH_WORDS);
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
  if (scratch.length < SCRATCH_WORDS) throw new RangeError(`decodeChunksInto: scratch needs ${SCRATCH_WORDS} words`);
  const { op, elements: n } = prepared.index;
  const lastChunk = chunks - 1;
  for (let b = firstChunk; b < endChunk; b++) {
    // The last chunk may produce nothing (it holds only EOF, or it is the short case's chunk K-1).
    if (b === lastChunk && op[b]! >= Math.min(op[b + 1]!, n)) continue;
    const next = decodeChunkCodes(prepared, out, b, scratch);
    finishChunk(prepared, b, next, lastEndWord * WORD_BITS + lastEndBit);
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
 * Decodes the codes of chunk b into out[op[b] .. min(op[b+1], N)), checking each window link on the
 * way (window 0 of chunk b is checked by chunk b-1); returns the next element index and leaves the
 * end of the last code in lastEndWord/lastEndBit.
 *
 * Nothing follows the loop but stores to module variables and a return: V8 compiles a long first
 * call's loop on the fly (OSR) before any code after it has run, and code that needs type feedback
 * there makes that compiled loop deoptimise on every later call.
 */
function decodeChunkCodes(prepared: PreparedUnit, out: Uint16Array, b: number, words: Int32Array): number {
  const { index, pairs, context } = prepared;
  const { op, elements: n } = index;
  const { encodedExponent: enc, signMantissa: sm, gaps } = prepared.unit;
  const start = op[b]!;
  const stop = op[b + 1]!;
  const end = stop < n ? stop : n;
  const firstWindow = b * WINDOWS_PER_CHUNK;
  let r = gapAt(gaps, firstWindow); // bit of `cur` where the next code starts, 0..31
  if (b === 0 && r !== 0) throw new Df11Error('gap-mismatch', `gap of window 0 is ${r}; the stream starts at bit 0`, context);
  loadChunkWords(enc, b, words);
  const smBits = SIGN_MANTISSA_BITS;

  // The look-ahead lives in two registers, `cur` = words[wi] and `nxt` = words[wi + 1], so the only
  // load on the lookup-to-lookup dependency chain is the table's. Literals: see the check above.
  let wi = 0;
  let cur = words[0]!;
  let nxt = words[1]!;
  let idx = start;
  while (idx < end) {
    // The 32 stream bits from bit r of cur; two shifts keep r = 0 right (JS shifts count mod 32).
    const x = (cur << r) | ((nxt >>> 1) >>> (31 - r));
    let entry = pairs[x >>> 20]!; // top FAST_TABLE_BITS bits
    if (entry === 0) entry = pairEntryOfPacked(walkLuts(index.luts, x, context)); // PAIR_MISS
    out[idx] = smBits[sm[idx]!]! | ((entry >>> 9) & 0x7f80); // first exponent, in place in BF16
    const before = r;
    let second = -1; // bit (from before) where a second code of this lookup starts, if one was used
    if ((entry & 0x400) !== 0) {
      // PAIR_TWO_FLAG: two codes, unless only one element of the chunk's range is left.
      second = (entry >>> 6) & 0xf; // PAIR_FIRST_LENGTH_*
      if (idx + 1 < end) {
        out[idx + 1] = smBits[sm[idx + 1]!]! | ((entry >>> 17) & 0x7f80);
        idx += 2;
        r += entry & 0x3f; // PAIR_ADVANCE_MASK
      } else {
        idx++;
        r += second;
        second = -1;
      }
    } else {
      idx++;
      r += entry & 0x3f;
    }
    if (r >= 32) {
      // Lengths are <= 32 and a pair spans <= 12 bits, so one word at most is crossed.
      r -= 32;
      cur = nxt;
      nxt = words[++wi + 1]!; // wi <= 1024: the spare word at 1025 is in the scratch
      if ((wi & 1) === 0) {
        // A new window (WORDS_PER_WINDOW = 2): its first code must start where its gap says. That code
        // is this lookup's second one if the word boundary fell between the two.
        let first = r;
        if (second >= 0 && before + second >= 32) first = before + second - 32;
        if (wi === 1024) {
          // WORDS_PER_CHUNK: the next code starts in the next chunk, so a second code there is not ours.
          if (first !== r) {
            idx--;
            r = first;
          }
          break;
        }
        if (idx < end || first !== r) {
          const gap = gapAt(gaps, firstWindow + (wi >>> 1));
          if (gap !== first) throw gapMismatch(firstWindow + (wi >>> 1), gap, first, context);
        }
      }
    }
  }
  lastEndWord = wi;
  lastEndBit = r;
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
