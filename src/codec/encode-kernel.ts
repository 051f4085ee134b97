// The encoder's hot loops (df11-format.md §12). They append codes to a 32-bit accumulator and store
// full words big-endian; the index bookkeeping runs only when a word is stored, because window (2
// words) and chunk (1024 words) boundaries can only be crossed then.
//
// Throughput design (1 GB/s of BF16 = 2 ns per weight): the main loop takes 8 weights per step as four
// uint32 loads. A pair table indexed by two exponents gives their joined code (<= 32 bits) and length;
// when the 8 codes fit in 32 bits (nearly always: real units average ~2.6 bits per exponent), they are
// joined and appended with one accumulator update, and the 8 sign/mantissa bytes are packed into two
// uint32 stores. Longer groups take the one-symbol path. Everything is preallocated from the histogram.
import { EXPONENT_VALUES } from './histogram.js';
import type { HuffmanCode } from './huffman-build.js';

const WORD_BITS = 32;
/** Words per window (64 bits) and per chunk (4096 bytes). */
const WINDOW_WORD_MASK = 1;
const CHUNK_WORD_MASK = 1023;
const WINDOW_WORD_SHIFT = 1;
const CHUNK_WORD_SHIFT = 10;
/** Pair-table length for a pair whose joined code would exceed 32 bits (forces the slow path). */
const PAIR_TOO_LONG = 255;
/** Weights per step of the fast loop, and the uint32 words they occupy. */
export const GROUP_ELEMENTS = 8;
const GROUP_WORDS = 4;
/** Elements staged at a time when a piece's alignment does not allow direct uint32 loads. */
const SCRATCH_ELEMENTS = 1 << 16;

/** Encoder state; mutated by the kernels and carried from one piece to the next. */
export interface EncoderState {
  /** Pending bits, left-aligned (an int32 bit pattern). */
  acc: number;
  /** Number of pending bits in `acc`, 0..31. */
  fill: number;
  /** Words stored so far. */
  words: number;
  /** Symbols encoded so far (the global index of the next element). */
  count: number;
  /** The stream as host-order uint32 words holding big-endian bytes (a view of the output bytes). */
  readonly out: Uint32Array;
  /** sign_mantissa, and the same bytes as uint32 words for the fast loop. */
  readonly sm: Uint8Array;
  readonly sm32: Uint32Array;
  /** Unpacked gap per window; one spare entry for a stream ending exactly on the last window. */
  readonly gaps: Uint8Array;
  /** Output position per chunk; one spare entry likewise. */
  readonly op: Float64Array;
  /** Codes left-aligned to 32 bits, and lengths, per exponent. */
  readonly alignedCodes: Int32Array;
  readonly lengths: Uint8Array;
  /** Joined left-aligned codes and lengths per exponent pair `e0 | e1 << 8` (e0 first). */
  readonly pairCodes: Int32Array;
  readonly pairLengths: Uint8Array;
  /** Aligned staging buffer for misaligned pieces (allocated on first use). */
  scratch: Uint32Array | null;
}

/** Tables of the kernels for `code`; pairs are filled for the exponents present only. */
export function kernelTables(code: HuffmanCode): Pick<EncoderState, 'alignedCodes' | 'lengths' | 'pairCodes' | 'pairLengths'> {
  const lengths = code.lengths;
  const alignedCodes = new Int32Array(EXPONENT_VALUES);
  const present: number[] = [];
  for (let e = 0; e < EXPONENT_VALUES; e++) {
    const len = lengths[e]!;
    if (len === 0) continue;
    alignedCodes[e] = code.codes[e]! << (WORD_BITS - len);
    present.push(e);
  }
  const pairCodes = new Int32Array(EXPONENT_VALUES * EXPONENT_VALUES);
  const pairLengths = new Uint8Array(EXPONENT_VALUES * EXPONENT_VALUES);
  for (const e1 of present) {
    for (const e0 of present) {
      const l0 = lengths[e0]!;
      const len = l0 + lengths[e1]!;
      const i = e0 | (e1 << 8);
      if (len > WORD_BITS) {
        pairLengths[i] = PAIR_TOO_LONG;
      } else {
        pairLengths[i] = len;
        pairCodes[i] = alignedCodes[e0]! | (alignedCodes[e1]! >>> l0); // l0 < 32 here
      }
    }
  }
  return { alignedCodes, lengths, pairCodes, pairLengths };
}

/** Appends the codes and sign/mantissa bytes of `src` (any alignment, any length). */
export function encodePiece(src: Uint16Array, st: EncoderState): void {
  const n = src.length;
  // Head: one by one until the global index is a multiple of 4 (sign/mantissa uint32 stores).
  let i = Math.min(n, (4 - (st.count & 3)) & 3);
  encodeSingles(src, 0, i, st);
  const groups = Math.floor((n - i) / GROUP_ELEMENTS);
  if (groups > 0) {
    const byteOffset = src.byteOffset + 2 * i;
    if ((byteOffset & 3) === 0) {
      encodeGroups(new Uint32Array(src.buffer, byteOffset, groups * GROUP_WORDS), groups, st);
    } else {
      const scratch = (st.scratch ??= new Uint32Array(SCRATCH_ELEMENTS / 2));
      const scratch16 = new Uint16Array(scratch.buffer);
      for (let g = 0; g < groups; ) {
        const take = Math.min(groups - g, SCRATCH_ELEMENTS / GROUP_ELEMENTS);
        const from = i + g * GROUP_ELEMENTS;
        scratch16.set(src.subarray(from, from + take * GROUP_ELEMENTS));
        encodeGroups(scratch, take, st);
        g += take;
      }
    }
    i += groups * GROUP_ELEMENTS;
  }
  encodeSingles(src, i, n, st);
}

/** One symbol at a time: elements [from, to) of `src`. */
function encodeSingles(src: Uint16Array, from: number, to: number, st: EncoderState): void {
  const { out, sm, gaps, op, alignedCodes, lengths } = st;
  let acc = st.acc | 0;
  let fill = st.fill | 0;
  let words = st.words | 0;
  const base = st.count - from;
  for (let i = from; i < to; i++) {
    const w = src[i]!;
    const e = (w >>> 7) & 0xff;
    sm[base + i] = ((w >>> 8) & 0x80) | (w & 0x7f);
    const lc = alignedCodes[e]!;
    const f = fill;
    acc |= lc >>> f;
    fill = f + lengths[e]!;
    if (fill >= WORD_BITS) {
      // Stored big-endian (byte-swapped here; undone at the end on big-endian hosts).
      out[words++] = (acc << 24) | ((acc & 0xff00) << 8) | ((acc >>> 8) & 0xff00) | (acc >>> 24);
      fill -= WORD_BITS;
      // Bits of this code that did not fit; two shifts so that f = 0 yields 0 (JS shifts are mod 32).
      acc = (lc << (31 - f)) << 1;
      if ((words & WINDOW_WORD_MASK) === 0) {
        // The next code starts `fill` bits into the new window (if a next code exists; see encode.ts).
        gaps[words >>> WINDOW_WORD_SHIFT] = fill;
        if ((words & CHUNK_WORD_MASK) === 0) op[words >>> CHUNK_WORD_SHIFT] = base + i + 1;
      }
    }
  }
  st.acc = acc;
  st.fill = fill;
  st.words = words;
  st.count = base + to;
}

/** Eight symbols per step: `groups` groups from s32[0..4*groups); the global index is a multiple of 4. */
function encodeGroups(s32: Uint32Array, groups: number, st: EncoderState): void {
  const { out, sm, sm32, gaps, op, alignedCodes, lengths, pairCodes, pairLengths } = st;
  let acc = st.acc | 0;
  let fill = st.fill | 0;
  let words = st.words | 0;
  const base = st.count; // global index of s32's first element
  const smBase = base >>> 2;
  let j = 0;
  while (j < groups) {
    for (; j < groups; j++) {
      const q = GROUP_WORDS * j;
      const w0 = s32[q]!;
      const w1 = s32[q + 1]!;
      const w2 = s32[q + 2]!;
      const w3 = s32[q + 3]!;
      const i0 = ((w0 >>> 7) & 0xff) | ((w0 >>> 15) & 0xff00);
      const i1 = ((w1 >>> 7) & 0xff) | ((w1 >>> 15) & 0xff00);
      const i2 = ((w2 >>> 7) & 0xff) | ((w2 >>> 15) & 0xff00);
      const i3 = ((w3 >>> 7) & 0xff) | ((w3 >>> 15) & 0xff00);
      const l0 = pairLengths[i0]!;
      const l01 = l0 + pairLengths[i1]!;
      const l012 = l01 + pairLengths[i2]!;
      const len = l012 + pairLengths[i3]!;
      if (len > WORD_BITS) break; // slow path below
      // Sign/mantissa: per 16-bit half, (sign << 7) | mantissa in its low byte; `x | x >>> 8` then
      // brings the high half's byte next to the low half's (little-endian byte order in sm32).
      const x0 = (w0 & 0x007f007f) | ((w0 >>> 8) & 0x00800080);
      const x1 = (w1 & 0x007f007f) | ((w1 >>> 8) & 0x00800080);
      const x2 = (w2 & 0x007f007f) | ((w2 >>> 8) & 0x00800080);
      const x3 = (w3 & 0x007f007f) | ((w3 >>> 8) & 0x00800080);
      sm32[smBase + 2 * j] = ((x0 | (x0 >>> 8)) & 0xffff) | ((x1 | (x1 >>> 8)) << 16);
      sm32[smBase + 2 * j + 1] = ((x2 | (x2 >>> 8)) & 0xffff) | ((x3 | (x3 >>> 8)) << 16);
      // l0, l01, l012 < 32 here, so the shifts are exact.
      const pc = pairCodes[i0]! | (pairCodes[i1]! >>> l0) | (pairCodes[i2]! >>> l01) | (pairCodes[i3]! >>> l012);
      const f = fill;
      acc |= pc >>> f;
      fill = f + len;
      if (fill >= WORD_BITS) {
        out[words++] = (acc << 24) | ((acc & 0xff00) << 8) | ((acc >>> 8) & 0xff00) | (acc >>> 24);
        fill -= WORD_BITS;
        acc = (pc << (31 - f)) << 1;
        if ((words & WINDOW_WORD_MASK) === 0) {
          // The first code starting at or after the word boundary (bit 32 of the old word): element k
          // of the group starts at p (k = 8: the next group's first element). Pair starts are f, f+l0,
          // f+l01, f+l012; the odd element of a pair starts after its even element.
          let k: number;
          let p: number;
          if (f + l01 >= WORD_BITS) {
            if (f + l0 >= WORD_BITS) {
              p = f + lengths[i0 & 0xff]!;
              k = 1;
              if (p < WORD_BITS) {
                p = f + l0;
                k = 2;
              }
            } else {
              p = f + l0 + lengths[i1 & 0xff]!;
              k = 3;
              if (p < WORD_BITS) {
                p = f + l01;
                k = 4;
              }
            }
          } else if (f + l012 >= WORD_BITS) {
            p = f + l01 + lengths[i2 & 0xff]!;
            k = 5;
            if (p < WORD_BITS) {
              p = f + l012;
              k = 6;
            }
          } else {
            p = f + l012 + lengths[i3 & 0xff]!;
            k = 7;
            if (p < WORD_BITS) {
              p = f + len;
              k = 8;
            }
          }
          gaps[words >>> WINDOW_WORD_SHIFT] = p - WORD_BITS;
          if ((words & CHUNK_WORD_MASK) === 0) op[words >>> CHUNK_WORD_SHIFT] = base + GROUP_ELEMENTS * j + k;
        }
      }
    }
    if (j >= groups) break;
    // Slow path: the group's codes exceed 32 bits together; append them one by one.
    const q = GROUP_WORDS * j;
    const first = base + GROUP_ELEMENTS * j;
    for (let k = 0; k < GROUP_ELEMENTS; k++) {
      const w = s32[q + (k >>> 1)]! >>> (k & 1 ? 16 : 0);
      const e = (w >>> 7) & 0xff;
      sm[first + k] = ((w >>> 8) & 0x80) | (w & 0x7f);
      const lc = alignedCodes[e]!;
      const f = fill;
      acc |= lc >>> f;
      fill = f + lengths[e]!;
      if (fill >= WORD_BITS) {
        out[words++] = (acc << 24) | ((acc & 0xff00) << 8) | ((acc >>> 8) & 0xff00) | (acc >>> 24);
        fill -= WORD_BITS;
        acc = (lc << (31 - f)) << 1;
        if ((words & WINDOW_WORD_MASK) === 0) {
          gaps[words >>> WINDOW_WORD_SHIFT] = fill;
          if ((words & CHUNK_WORD_MASK) === 0) op[words >>> CHUNK_WORD_SHIFT] = first + k + 1;
        }
      }
    }
    j++;
  }
  st.acc = acc;
  st.fill = fill;
  st.words = words;
  st.count = base + GROUP_ELEMENTS * groups;
}
