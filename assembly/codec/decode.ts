// DF11 chunk decoder kernel (AssemblyScript -> WebAssembly), the hot loop of src/codec/wasm/decode-wasm.ts.
// Build: node scripts/build-wasm.mjs (asc -O3 --runtime stub --enable simd). Raw memory only, at the
// fixed addresses of layout.ts: the host copies one tile of chunks in and its BF16 words out.
//
// Semantics: those of the chunk decoders (df11-format.md §8.4, src/codec/decode-chunked.ts). Chunk b
// starts at its first window's gap with element op[b] and produces exactly [op[b], min(op[b+1], N)).
// Each chunk is walked as one run of codes from that start; afterwards every window that holds a
// decoded code start must have the gap the walk found, each complete chunk must hold op[b+1] - op[b]
// codes and end past its last bit, its successor (if that produces output) must start where it ended,
// and whoever decodes element N-1 checks ceil(S/8) = B. So a tile that returns 0 has produced exactly
// the serial decode of the stream.
//
// Speed (the napkin: 1.66 GB/s of BF16 = 830 M elements/s, ~3.6 cycles per element at 3 GHz):
//  - one lookup of the top 12 look-ahead bits yields up to 7 whole codes (~4.3 on trained weights):
//    their exponents (one u64), their total length (a u8 table, what the walk's chain needs) and where
//    they start;
//  - four chunks are walked in lockstep, so four independent load -> lookup -> advance chains overlap;
//  - the stream is byte-reversed once per tile, so the 64 look-ahead bits at any bit position are one
//    unaligned little-endian load and a shift (WebAssembly has no byte swap);
//  - the lockstep loop runs rounds of lookups that provably stay inside every chunk's bit and element
//    budget, so it has no bounds checks and no calls; it keeps only the four bit positions live (every
//    region is at a fixed address, layout.ts), logs each table index and records each lookup in the
//    slot of its window; a table miss advances 0 bits (the stream waits) and is resolved after the
//    round with the LUT walk; a replay of the log then stages the exponents (one 8-byte store each);
//  - gaps are checked after the walk from one slot per window (the last lookup that started in it),
//    eight windows at a time against their five packed bytes;
//  - BF16 words are assembled 16 at a time with SIMD from the staged exponents and sign/mantissa bytes.
import {
  DEC_GAPS, DEC_LOG, DEC_LOG_BYTES_PER_STREAM, DEC_LUTS, DEC_OPS, DEC_OUT, DEC_REVERSED, DEC_SLOTS, DEC_SM, DEC_STAGE,
  DEC_STATE, DEC_STREAM, DEC_STREAM_BYTES, DEC_TABLE_BITS, DEC_TABLES, DECODE_TILE_CHUNKS,
} from './layout';

// ---- Result codes of decodeTile (mirrored in src/codec/wasm/decode-wasm.ts).
const OK: i32 = 0;
const ERR_LUT_CHAIN: i32 = 1;
const ERR_ZERO_LENGTH: i32 = 2;
const ERR_STREAM_LENGTH: i32 = 3;
const ERR_CHUNK_COUNT: i32 = 4;
const ERR_GAP: i32 = 5;

// ---- Format constants (df11-format.md §1, §8).
const LUT_ROW: u32 = 256;
const FIRST_POINTER: u32 = 240;
const CHUNK_BITS: i32 = 32768;
const CHUNK_BYTES: i32 = 4096;
const WINDOWS_PER_CHUNK: i32 = 512;
const WINDOW_SHIFT: i32 = 6; // 64-bit windows

// ---- Decode tables, built from `luts` by buildDecodeTables.
/** Look-ahead bits indexing the tables (layout.ts). */
const TABLE_BITS: i32 = DEC_TABLE_BITS;
const TABLE_ENTRIES: i32 = 1 << TABLE_BITS;
const TABLE_SHIFT: u64 = 64 - TABLE_BITS;
/**
 * Multi-code tables, indexed by the top 12 look-ahead bits v: EXPS (u64: the exponents of up to 7
 * codes, code k in byte k, and their count in byte 7), META (u32, below), ADVANCE (u8: their total
 * length; 0 = miss: walk the LUTs). META has 33 more entries: META[SINGLE_BASE + len] describes one
 * code of length len (what a LUT walk finds). Then the single-code table (u16) and the builder's scratch.
 */
const EXPS: usize = DEC_TABLES;
const META: usize = EXPS + <usize>TABLE_ENTRIES * 8;
const SINGLE_BASE: u32 = <u32>TABLE_ENTRIES;
const ADVANCE: usize = META + (<usize>TABLE_ENTRIES + 64) * 4;
const EXPS_COUNT_SHIFT: u64 = 56;
const SINGLE: usize = ADVANCE + <usize>TABLE_ENTRIES;
const SCRATCH: usize = SINGLE + <usize>TABLE_ENTRIES * 2;
/** Codes per multi-code entry at most (the count field has 3 bits; 7 exponent bytes of a u64). */
const MAX_CODES: i32 = 7;
/**
 * META entry: bits 0-5 advance (total length, 1..32), bits 6.. starts mask (TABLE_BITS bits; bit k: a
 * code starts k bits after the lookup's start; bit 0 always set), bits 29-31 code count (1..7); 0 = miss.
 */
const META_ADVANCE_MASK: u32 = 63;
const META_MASK_SHIFT: u32 = 6;
const META_COUNT_SHIFT: u32 = 29;
/** The starts mask field (TABLE_BITS bits), shifted down. */
const STARTS_MASK: u32 = (1 << TABLE_BITS) - 1;
/** Meta of a single code of length `len`. */
@inline function singleMeta(len: u32): u32 {
  return len | (1 << META_MASK_SHIFT) | (1 << META_COUNT_SHIFT);
}
/** Single-code table entry (u16): exponent << 8 | length; 0 = miss. */
const SINGLE_LENGTH_MASK: u32 = 0xff;

// ---- Error detail of the last failing call (read by the host through the getters below).
let errChunk: i32 = 0;
let errBit: i32 = 0;
let errValue: i32 = 0;
let errExpected: i32 = 0;
let errCode: i32 = OK;
export function errorChunk(): i32 { return errChunk; }
export function errorBit(): i32 { return errBit; }
export function errorValue(): i32 { return errValue; }
export function errorExpected(): i32 { return errExpected; }

/** Records the first error of a call and returns its code. */
function fail(code: i32, chunk: i32, bit: i32, value: i32, expected: i32): i32 {
  if (errCode == OK) {
    errCode = code;
    errChunk = chunk;
    errBit = bit;
    errValue = value;
    errExpected = expected;
  }
  return errCode;
}

// ---- Table building.

/** Single-code entry of exponent e: 0 (miss) when its length is 0, so the LUT walk reports it. */
@inline function packSingle(lengthRow: usize, e: u32): u32 {
  const len = <u32>load<u8>(lengthRow + e);
  return len == 0 ? 0 : (e << 8) | len;
}

/**
 * Builds the decode tables from the `luts` at DEC_LUTS (`rows` rows: 0..R-1 decode rows, then the
 * length row), which the host has validated (validateLuts: pointers name rows 1..R-1, lengths 0..32).
 *
 * Single table: entry v (the top 12 look-ahead bits) holds the code at the front when the LUT walk of
 * §8.2 is decided by those bits (it ends in the root row, or in a sub-row entry shared by all 16
 * completions of the second byte), else 0. Multi table: the first code as above, then each further
 * code while it lies within the 12 bits and every completion of the bits after it decodes it the same
 * way. Both are pure functions of `luts`, so table hits are bit-exact with the LUT walk, leaks included.
 */
export function buildDecodeTables(rows: i32): void {
  const luts = DEC_LUTS;
  const lengthRow = luts + <usize>(rows - 1) * LUT_ROW;
  // decided[r][u] at SCRATCH + 2 * (2^r + u): the code at the front of r known bits u, when those r
  // bits decide it and hold it whole; else 0.
  const known: u32 = <u32>TABLE_BITS - 8; // bits of the second byte fixed by the index
  for (let v: u32 = 0; v < <u32>TABLE_ENTRIES; v++) {
    const e0 = <u32>load<u8>(luts + (v >> known));
    let s: u32 = 0;
    if (e0 < FIRST_POINTER) {
      s = packSingle(lengthRow, e0);
    } else {
      const col = luts + (LUT_ROW - e0) * LUT_ROW + ((v & ((1 << known) - 1)) << (8 - known));
      const e1 = <u32>load<u8>(col);
      let same = e1 < FIRST_POINTER;
      for (let u: u32 = 1; u < (1 << (8 - known)); u++) same = same && <u32>load<u8>(col + u) == e1;
      s = same ? packSingle(lengthRow, e1) : 0;
    }
    store<u16>(SINGLE + (v << 1), <u16>s);
    store<u16>(SCRATCH + ((<usize>(1 << TABLE_BITS) + v) << 1), <u16>((s & SINGLE_LENGTH_MASK) <= <u32>TABLE_BITS ? s : 0));
  }
  for (let r = TABLE_BITS - 1; r >= 1; r--) {
    for (let u: u32 = 0; u < (<u32>1 << r); u++) {
      const longer = SCRATCH + ((<usize>(2 << r) + 2 * u) << 1);
      const a = <u32>load<u16>(longer);
      const ok = a != 0 && a == <u32>load<u16>(longer, 2) && (a & SINGLE_LENGTH_MASK) <= <u32>r;
      store<u16>(SCRATCH + ((<usize>(1 << r) + u) << 1), <u16>(ok ? a : 0));
    }
  }
  for (let v: u32 = 0; v < <u32>TABLE_ENTRIES; v++) {
    const first = <u32>load<u16>(SINGLE + (v << 1));
    if (first == 0) {
      store<u64>(EXPS + (v << 3), 0);
      store<u32>(META + (v << 2), 0);
      store<u8>(ADVANCE + v, 0);
      continue;
    }
    let used = first & SINGLE_LENGTH_MASK;
    let count: u32 = 1;
    let mask: u32 = 1;
    let exps: u64 = <u64>(first >> 8);
    while (count < <u32>MAX_CODES && used < <u32>TABLE_BITS) {
      const rest = <u32>TABLE_BITS - used;
      const next = <u32>load<u16>(SCRATCH + ((<usize>(1 << rest) + (v & ((1 << rest) - 1))) << 1));
      if (next == 0) break;
      mask |= 1 << used;
      exps |= <u64>(next >> 8) << (8 * <u64>count);
      count++;
      used += next & SINGLE_LENGTH_MASK;
    }
    store<u64>(EXPS + (v << 3), exps | (<u64>count << EXPS_COUNT_SHIFT));
    store<u32>(META + (v << 2), used | (mask << META_MASK_SHIFT) | (count << META_COUNT_SHIFT));
    store<u8>(ADVANCE + v, <u8>used);
  }
  for (let len: u32 = 0; len <= 32; len++) store<u32>(META + ((SINGLE_BASE + len) << 2), singleMeta(len));
}

// ---- The stream walk.

/** Length row of the current call's `luts`. */
let gLengthRow: usize = 0;

/**
 * The LUT walk of §8.2 on the 32 look-ahead bits `x`: (meta << 32) | exponent of one code.
 * On a 5th lookup or a zero length it records the error and returns a harmless 1-bit code, so the
 * caller can finish its step inside its budget before it looks at the error.
 */
function walkLuts(x: u32, chunk: i32, bit: i32): u64 {
  let e = <u32>load<u8>(DEC_LUTS + (x >> 24));
  for (let lookup = 1; e >= FIRST_POINTER; lookup++) {
    if (lookup >= 4) {
      fail(ERR_LUT_CHAIN, chunk, bit, <i32>e, 0);
      return <u64>singleMeta(1) << 32;
    }
    const byte = (x >> (24 - 8 * <u32>lookup)) & 0xff;
    e = <u32>load<u8>(DEC_LUTS + (LUT_ROW - e) * LUT_ROW + byte);
  }
  const len = <u32>load<u8>(gLengthRow + e);
  if (len == 0) {
    fail(ERR_ZERO_LENGTH, chunk, bit, <i32>e, 0);
    return <u64>singleMeta(1) << 32;
  }
  return (<u64>singleMeta(len) << 32) | <u64>e;
}

/** Gap of tile window t (two bytes read; the host zero-pads past the tensor). */
@inline function gapAt(t: i32): i32 {
  const bit = 5 * t;
  const j = DEC_GAPS + <usize>(bit >> 3);
  const v = (<i32>load<u8>(j) << 8) | <i32>load<u8>(j, 1);
  return (v >> (11 - (bit & 7))) & 31;
}

/** Stream byte q of the tile sits at REV_END + 7 - q (the reversed copy of DEC_STREAM). */
const REV_END: usize = DEC_REVERSED + DEC_STREAM_BYTES - 8;

/** The 64 stream bits at tile bit p, MSB first (bytes past the stream read as 0): one load, a shift. */
@inline function lookAhead(p: i32): u64 {
  return load<u64>(REV_END - <usize>(p >> 3)) << <u64>(p & 7);
}

/** The multi-code table index of look-ahead bits x. */
@inline function tableIndex(x: u64): usize {
  return <usize>(x >> TABLE_SHIFT);
}

/**
 * Records a lookup at tile bit p in the slot of its window: one u32 per window of the tile,
 * (p mod 32768) | v << 15 for the last lookup that started in the window, v its META index (the chunk
 * follows from the window). The slot address (p >> 6) * 4 is computed as (p >> 4) with the low 2 bits
 * cleared.
 */
const SLOT_INDEX_SHIFT: u32 = 15;
const SLOT_BIT_MASK: u32 = (1 << SLOT_INDEX_SHIFT) - 1;
@inline function storeSlot(p: i32, v: u32): void {
  store<u32>(<usize>(p >> 4) & ~3, (<u32>p & SLOT_BIT_MASK) | (v << SLOT_INDEX_SHIFT), DEC_SLOTS);
}

/**
 * One lookup at tile bit p: stages its exponents at `at` (8 bytes written), records its slot, and
 * returns its meta; a table miss takes one code by the LUT walk (on a corrupt chain it records the
 * error and returns a harmless 1-bit code).
 */
@inline function step(p: i32, at: usize, chunk: i32): u32 {
  const x = lookAhead(p);
  let v = <u32>tableIndex(x);
  if (load<u8>(v, ADVANCE) != 0) {
    store<u64>(at, load<u64>(<usize>v << 3, EXPS));
  } else {
    const w = walkLuts(<u32>(x >> 32), chunk, p);
    store<u64>(at, <u64>(<u8>w));
    v = SINGLE_BASE + (<u32>(w >> 32) & META_ADVANCE_MASK);
  }
  storeSlot(p, v);
  return load<u32>(<usize>v << 2, META);
}

/** Margin of the unchecked lookups: a lookup this far before a chunk's end starts all codes inside it. */
const FAST_BIT_MARGIN: i32 = 16;
/** Longest advance of one lookup (a single 32-bit code), and most codes per lookup (8 > 7). */
const MAX_ADVANCE_SHIFT: i32 = 5;
const MAX_CODES_SHIFT: i32 = 3;
/** Lockstep rounds shorter than this end the lockstep phase (each stream then finishes on its own). */
const MIN_ROUND: i32 = 2;

/**
 * Finishes the walk of tile chunk c on its own, from tile bit p with its next exponent staged at
 * address `at` (its stage starts at `stage` and holds `n` elements): checked multi-code lookups while
 * far from its ends, then one code at a time up to n elements or the chunk's last bit. Returns the
 * end bit (the start of the next code, tile-relative); leaves the staged count in gCount and the last
 * code's start in gLastStart (-1 when this call decoded none).
 */
let gLastStart: i32 = -1;
let gCount: i32 = 0;
function finishStream(p: i32, at: usize, stage: usize, n: i32, c: i32): i32 {
  const chunk = tFirst + c;
  const bitEnd = (c + 1) * CHUNK_BITS;
  const fastBits = bitEnd - FAST_BIT_MARGIN;
  const fastEnd = <i32>stage + n - 1 - MAX_CODES; // a lookup stages <= 7; the last element goes singly
  while (p < fastBits && <i32>at <= fastEnd) {
    const meta = step(p, at, chunk);
    p += <i32>(meta & META_ADVANCE_MASK);
    at += <usize>(meta >> META_COUNT_SHIFT);
  }
  gLastStart = -1;
  gCount = <i32>(at - stage);
  if (errCode != OK) return p;
  const end = stage + <usize>n;
  let last = -1;
  while (at < end && p < bitEnd) {
    const x = lookAhead(p);
    const s = <u32>load<u16>(<usize>(x >> TABLE_SHIFT) << 1, SINGLE);
    let e: u32;
    let len: u32;
    if (s != 0) {
      e = s >> 8;
      len = s & SINGLE_LENGTH_MASK;
    } else {
      const w = walkLuts(<u32>(x >> 32), chunk, p);
      if (errCode != OK) return p;
      e = <u32>w;
      len = <u32>(w >> 32) & META_ADVANCE_MASK;
    }
    store<u8>(at, <u8>e);
    storeSlot(p, SINGLE_BASE + len);
    last = p;
    p += <i32>len;
    at++;
  }
  gLastStart = last;
  gCount = <i32>(at - stage);
  return p;
}

// ---- Checks and output.

/**
 * The gap tile window v must have (v a window after a chunk's first, up to its last code's window):
 * the first code start at or after the window's first bit, found in the slot of window v-1, where the
 * last lookup starting in that window crosses into window v (a walk passes every window: lookups
 * advance <= 32 bits). Returns garbage for other v.
 */
@inline function expectedGap(v: i32): u32 {
  // The address wraps to DEC_SLOTS - 4 for v = 0 (harmless: its gap is not compared).
  const slot = load<u32>(DEC_SLOTS + (<usize>(v - 1) << 2));
  const start = (((v - 1) << WINDOW_SHIFT) & ~(CHUNK_BITS - 1)) | <i32>(slot & SLOT_BIT_MASK);
  const meta = load<u32>(<usize>(slot >> SLOT_INDEX_SHIFT) << 2, META);
  const d = (v << WINDOW_SHIFT) - start; // 1..32 for a valid v
  // Starts inside the lookup at offsets >= d (a 64-bit shift keeps d = 32 right).
  const later = <u32>(<u64>((meta >> META_MASK_SHIFT) & STARTS_MASK) >> <u64>d);
  const gap = later != 0 ? ctz(later) : (meta & META_ADVANCE_MASK) - <u32>d;
  return gap & 31;
}

/** Windows per group of packed gaps (5 bytes), and the shift of window k's gap in a group. */
const GROUP_WINDOWS: i32 = 8;
const GROUP_BYTES: usize = 5;
@inline function groupShift(k: i32): u64 {
  return <u64>(35 - 5 * k);
}

/**
 * Checks the gap of every window 1..lastWindow of tile chunk c (expectedGap), eight windows at a time
 * against their five packed bytes; on a mismatch, finds the window for the error report.
 */
function checkWindowGaps(c: i32, lastWindow: i32, chunk: i32): i32 {
  const groups = (lastWindow >> 3) + 1;
  const w0 = c * WINDOWS_PER_CHUNK;
  const base = DEC_GAPS + <usize>(w0 >> 3) * GROUP_BYTES;
  for (let g = 0; g < groups; g++) {
    const at = base + <usize>g * GROUP_BYTES;
    const stored = (<u64>load<u8>(at) << 32) | (<u64>load<u8>(at, 1) << 24) | (<u64>load<u8>(at, 2) << 16) | (<u64>load<u8>(at, 3) << 8) | <u64>load<u8>(at, 4);
    const v0 = g * GROUP_WINDOWS;
    let expected: u64 = 0;
    for (let k = 0; k < GROUP_WINDOWS; k++) expected |= <u64>expectedGap(w0 + v0 + k) << groupShift(k);
    // Windows outside 1..lastWindow are not compared.
    let care: u64 = 0xffffffffff;
    if (g == 0) care &= ~(<u64>31 << groupShift(0));
    const beyond = v0 + GROUP_WINDOWS - 1 - lastWindow;
    if (beyond > 0) care &= ~((<u64>1 << <u64>(5 * beyond)) - 1);
    if (((expected ^ stored) & care) != 0) {
      for (let k = 0; k < GROUP_WINDOWS; k++) {
        const v = v0 + k;
        if (v < 1 || v > lastWindow) continue;
        const want = expectedGap(w0 + v);
        const gap = gapAt(w0 + v);
        if (<u32>gap != want) return fail(ERR_GAP, chunk, v << WINDOW_SHIFT, gap, <i32>want);
      }
    }
  }
  return OK;
}

/** BF16 words of `count` elements: exponent bytes at `exps`, sign/mantissa bytes at `sm` -> `out`. */
function assemble(exps: usize, sm: usize, out: usize, count: i32): void {
  let k = 0;
  for (; k + 16 <= count; k += 16) {
    const e = v128.load(exps + <usize>k);
    const s = v128.load(sm + <usize>k);
    // In 16-bit lanes, by shifts only (V8 rebuilds SIMD constants inside loops, and has no 8-bit
    // shifts): (s >> 7) << 15 | e << 7 | (s << 9) >> 9 (df11-format.md §4).
    const e0 = i16x8.extend_low_i8x16_u(e);
    const e1 = i16x8.extend_high_i8x16_u(e);
    const s0 = i16x8.extend_low_i8x16_u(s);
    const s1 = i16x8.extend_high_i8x16_u(s);
    const o = out + (<usize>k << 1);
    v128.store(o, v128.or(v128.or(i16x8.shl(i16x8.shr_u(s0, 7), 15), i16x8.shl(e0, 7)), i16x8.shr_u(i16x8.shl(s0, 9), 9)));
    v128.store(o, v128.or(v128.or(i16x8.shl(i16x8.shr_u(s1, 7), 15), i16x8.shl(e1, 7)), i16x8.shr_u(i16x8.shl(s1, 9), 9)), 16);
  }
  for (; k < count; k++) {
    const e = <u32>load<u8>(exps + <usize>k);
    const s = <u32>load<u8>(sm + <usize>k);
    store<u16>(out + (<usize>k << 1), <u16>(((s & 0x80) << 8) | (e << 7) | (s & 0x7f)));
  }
}

/**
 * Reverses the DEC_STREAM_BYTES (a multiple of 16) bytes at DEC_STREAM + shift (0..7: the host copies
 * them in at the source's alignment) into DEC_REVERSED.
 */
export function reverseStream(shift: i32): void {
  const from = DEC_STREAM + <usize>shift;
  const last = DEC_REVERSED + DEC_STREAM_BYTES - 16;
  for (let k: usize = 0; k < DEC_STREAM_BYTES; k += 16) {
    const v = v128.load(from + k);
    v128.store(last - k, i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
}

// ---- Tiles.

// Parameters of the current tile (set by decodeTile).
let tFirst: i32 = 0; // global index of the tile's first chunk
let tLastChunk: i32 = 0; // K - 1
let tElements: i32 = 0; // N
let tStreamBytes: i32 = 0; // B
// Where the tile's sign/mantissa bytes and BF16 words start: DEC_SM + tSmShift, DEC_OUT + tOutShift.
let tSmShift: usize = 0;
let tOutShift: usize = 0;

/** op[first + c] (global element index). */
@inline function opAt(c: i32): i32 {
  return <i32>load<u32>(<usize>c << 2, DEC_OPS);
}
/** End of tile chunk c's elements: min(op[b+1], N). */
@inline function endOf(c: i32): i32 {
  const stop = opAt(c + 1);
  return stop < tElements ? stop : tElements;
}
/** Staging area of tile chunk c: its elements' offset in the tile plus 8 slack bytes per earlier chunk. */
@inline function stageOf(c: i32): usize {
  return DEC_STAGE + <usize>(opAt(c) - opAt(0) + 8 * c);
}

/**
 * The checks after tile chunk c's walk (see the file header), then the BF16 assembly of its elements.
 * `end` is where its last code ends and `lastStart` where that code starts (-1: none; tile bits),
 * `count` its staged elements.
 */
function finishChunk(c: i32, end: i32, count: i32, lastStart: i32): i32 {
  const chunk = tFirst + c;
  const first = opAt(c);
  const want = endOf(c) - first;
  const p = end - c * CHUNK_BITS; // chunk-relative
  if (chunk < tLastChunk) {
    if (count != want || p < CHUNK_BITS) return fail(ERR_CHUNK_COUNT, chunk, p, count, want);
    // The next chunk's first window must start where this chunk's last code ends, if it produces output.
    const nextStop = opAt(c + 2);
    if (opAt(c + 1) < (nextStop < tElements ? nextStop : tElements)) {
      const gap = gapAt((c + 1) * WINDOWS_PER_CHUNK);
      if (p - CHUNK_BITS != gap) return fail(ERR_GAP, chunk + 1, 0, gap, p - CHUNK_BITS);
    }
  } else if (count != want) {
    return fail(ERR_CHUNK_COUNT, chunk, p, count, want);
  }
  if (lastStart >= 0) {
    const r = checkWindowGaps(c, (lastStart - c * CHUNK_BITS) >> WINDOW_SHIFT, chunk);
    if (r != OK) return r;
  }
  if (first + want == tElements) {
    // This chunk decoded element N-1; p is the end of its code.
    const bytes = chunk * CHUNK_BYTES + ((p + 7) >> 3);
    if (bytes != tStreamBytes) return fail(ERR_STREAM_LENGTH, chunk, p, bytes, tStreamBytes);
  }
  const base = <usize>(first - opAt(0));
  assemble(stageOf(c), DEC_SM + tSmShift + base, DEC_OUT + tOutShift + (base << 1), want);
  return OK;
}

/** Tile bit where chunk c's walk starts: its first window's gap (0 required for chunk 0). */
function startBit(c: i32): i32 {
  const gap = gapAt(c * WINDOWS_PER_CHUNK);
  if (tFirst + c == 0 && gap != 0) fail(ERR_GAP, 0, 0, gap, 0);
  return c * CHUNK_BITS + gap;
}

/** Elements of tile chunk c; more than one per stream bit is an error (recorded; returns -1). */
function countOf(c: i32): i32 {
  const n = endOf(c) - opAt(c);
  if (n > CHUNK_BITS) {
    fail(ERR_CHUNK_COUNT, tFirst + c, 0, CHUNK_BITS, n);
    return -1;
  }
  return n;
}

/** Decodes one tile chunk alone (groups of fewer than four). */
function decodeOne(c: i32): i32 {
  const p0 = startBit(c);
  const n = countOf(c);
  if (errCode != OK) return errCode;
  const stage = stageOf(c);
  const end = finishStream(p0, stage, stage, n, c);
  if (errCode != OK) return errCode;
  return finishChunk(c, end, gCount, gLastStart);
}

/**
 * Per-stream state of a lockstep group (i32 each, up to MAX_STREAMS streams): bit position, staging
 * address, first staging address, element count, bit budget, staging budget.
 */
const MAX_STREAMS: i32 = 4;
const STREAM_P: usize = DEC_STATE;
const STREAM_A: usize = STREAM_P + 4 * MAX_STREAMS;
const STREAM_S: usize = STREAM_A + 4 * MAX_STREAMS;
const STREAM_N: usize = STREAM_S + 4 * MAX_STREAMS;
const STREAM_B: usize = STREAM_N + 4 * MAX_STREAMS;
const STREAM_E: usize = STREAM_B + 4 * MAX_STREAMS;
@inline function streamGet(field: usize, s: i32): i32 {
  return load<i32>(field + (<usize>s << 2));
}
@inline function streamSet(field: usize, s: i32, value: i32): void {
  store<i32>(field + (<usize>s << 2), value);
}
/**
 * Lookups per round at most. A table miss stalls its stream for the rest of the round (its advance is
 * 0), so rounds are short; the miss is resolved after the round with the LUT walk.
 */
const ROUND_LOOKUPS: i32 = 64;

/** n lockstep lookups on streams 0..3 (bit positions in STREAM_P): logs each table index, records slots. */
function hot4(n: i32): void {
  let p0 = load<i32>(0, STREAM_P);
  let p1 = load<i32>(4, STREAM_P);
  let p2 = load<i32>(8, STREAM_P);
  let p3 = load<i32>(12, STREAM_P);
  const jEnd = <usize>n << 1;
  for (let j: usize = 0; j < jEnd; j += 2) {
    const v0 = tableIndex(lookAhead(p0));
    const v1 = tableIndex(lookAhead(p1));
    const v2 = tableIndex(lookAhead(p2));
    const v3 = tableIndex(lookAhead(p3));
    store<u16>(j, <u16>v0, DEC_LOG + 0 * DEC_LOG_BYTES_PER_STREAM);
    store<u16>(j, <u16>v1, DEC_LOG + 1 * DEC_LOG_BYTES_PER_STREAM);
    store<u16>(j, <u16>v2, DEC_LOG + 2 * DEC_LOG_BYTES_PER_STREAM);
    store<u16>(j, <u16>v3, DEC_LOG + 3 * DEC_LOG_BYTES_PER_STREAM);
    storeSlot(p0, <u32>v0);
    storeSlot(p1, <u32>v1);
    storeSlot(p2, <u32>v2);
    storeSlot(p3, <u32>v3);
    p0 += <i32>load<u8>(v0, ADVANCE);
    p1 += <i32>load<u8>(v1, ADVANCE);
    p2 += <i32>load<u8>(v2, ADVANCE);
    p3 += <i32>load<u8>(v3, ADVANCE);
  }
  store<i32>(0, p0, STREAM_P);
  store<i32>(4, p1, STREAM_P);
  store<i32>(8, p2, STREAM_P);
  store<i32>(12, p3, STREAM_P);
}

/**
 * Replays the `lookups` table indices logged by stream s in a round: stages their exponents (one
 * 8-byte store each; a miss stages nothing) and leaves the new staging address. Then resolves a miss
 * at the stream's position p with one LUT-walk step. Returns the stream's bit position.
 */
function replay(s: i32, lookups: i32, p: i32, chunk: i32): i32 {
  const log = DEC_LOG + <usize>s * DEC_LOG_BYTES_PER_STREAM;
  let at = <usize>streamGet(STREAM_A, s);
  const end = log + (<usize>lookups << 1);
  let e = log;
  // Two entries per iteration (the loop's own overhead is a third of its work otherwise).
  for (; e + 2 < end; e += 4) {
    const x0 = load<u64>(<usize>load<u16>(e) << 3, EXPS);
    const x1 = load<u64>(<usize>load<u16>(e, 2) << 3, EXPS);
    store<u64>(at, x0);
    at += <usize>(x0 >> EXPS_COUNT_SHIFT);
    store<u64>(at, x1);
    at += <usize>(x1 >> EXPS_COUNT_SHIFT);
  }
  if (e < end) {
    const x = load<u64>(<usize>load<u16>(e) << 3, EXPS);
    store<u64>(at, x);
    at += <usize>(x >> EXPS_COUNT_SHIFT);
  }
  if (load<u8>(tableIndex(lookAhead(p)), ADVANCE) == 0) {
    const meta = step(p, at, chunk);
    p += <i32>(meta & META_ADVANCE_MASK);
    at += <usize>(meta >> META_COUNT_SHIFT);
  }
  streamSet(STREAM_A, s, <i32>at);
  return p;
}

/**
 * Decodes tile chunks c .. c+3 in lockstep: rounds of unchecked lookups on all four streams, each
 * round as long as every stream's remaining bit and element budget allows. (Four streams measured
 * faster than eight: V8 spills the eight bit positions.) The round's loop (hot4) only walks the
 * streams (their bit positions are all it keeps live besides the counter), logs each table index and
 * records each lookup's slot; a replay of the log then stages the exponents. Then each stream
 * finishes on its own (finishStream) and is checked and assembled (finishChunk).
 */
function decodeGroup(c: i32): i32 {
  const streams = MAX_STREAMS;
  for (let s = 0; s < streams; s++) {
    const stage = <i32>stageOf(c + s);
    const n = countOf(c + s);
    streamSet(STREAM_P, s, startBit(c + s));
    streamSet(STREAM_A, s, stage);
    streamSet(STREAM_S, s, stage);
    streamSet(STREAM_N, s, n);
    // Budgets: bits before the chunk's fast limit; staging before its last element (which
    // finishStream decodes, recording its start).
    streamSet(STREAM_B, s, (c + s + 1) * CHUNK_BITS - FAST_BIT_MARGIN);
    streamSet(STREAM_E, s, stage + n - 1);
  }
  if (errCode != OK) return errCode;
  for (;;) {
    // Lookups this round: each advances <= 32 bits and stages <= 7 elements; one more may follow
    // (replay's miss step), so the budget is taken for n + 1.
    let bits = 0x7fffffff;
    let room = 0x7fffffff;
    for (let s = 0; s < streams; s++) {
      bits = min(bits, streamGet(STREAM_B, s) - streamGet(STREAM_P, s));
      room = min(room, streamGet(STREAM_E, s) - streamGet(STREAM_A, s));
    }
    const n = min(min(bits >> MAX_ADVANCE_SHIFT, room >> MAX_CODES_SHIFT) - 1, ROUND_LOOKUPS);
    if (n < MIN_ROUND) break;
    hot4(n);
    for (let s = 0; s < streams; s++) streamSet(STREAM_P, s, replay(s, n, streamGet(STREAM_P, s), tFirst + c + s));
    if (errCode != OK) return errCode;
  }
  for (let s = 0; s < streams; s++) {
    const stage = <usize>streamGet(STREAM_S, s);
    const end = finishStream(streamGet(STREAM_P, s), <usize>streamGet(STREAM_A, s), stage, streamGet(STREAM_N, s), c + s);
    if (errCode != OK || finishChunk(c + s, end, gCount, gLastStart) != OK) return errCode;
  }
  return OK;
}

/**
 * Decodes chunks first .. first+chunks-1 (chunks <= DECODE_TILE_CHUNKS) of a unit, a tile, and writes
 * their BF16 words. The host has filled (layout.ts):
 *  - DEC_LUTS: the unit's `luts` (`rows` x 256 bytes), and built the tables (buildDecodeTables);
 *  - DEC_OPS: u32 op[first .. min(first + chunks + 1, K)] (global element indices; op[K] = N in the
 *    short case);
 *  - DEC_GAPS: packed gaps from window 512*first, through the first window after the tile, 4 zero
 *    bytes past the tensor's end;
 *  - DEC_STREAM: the tile's stream bytes from byte 4096*first (and 4 look-ahead bytes), zero past B,
 *    and reversed them (reverseStream);
 *  - DEC_SM + smShift: the sign/mantissa bytes of elements op[first] .. min(op[first + chunks], N).
 * Every chunk's element count (min(op[b+1], N) - op[b]) is at most 32768 (else an error). The last
 * chunk of the unit is skipped when it produces nothing. The output, at DEC_OUT + outShift, holds the
 * BF16 words of the same elements. (The shifts, 0..7, let the host copy at its arrays' alignment:
 * V8 copies to and from shared memory word by word only when both sides are aligned alike.)
 * @returns 0, or an error code (detail through the error getters).
 */
export function decodeTile(rows: i32, first: i32, chunks: i32, lastChunk: i32, elements: i32, streamBytes: i32, smShift: i32, outShift: i32): i32 {
  errCode = OK;
  tSmShift = <usize>(smShift & 7);
  tOutShift = <usize>(outShift & 7);
  gLengthRow = DEC_LUTS + <usize>(rows - 1) * LUT_ROW;
  tFirst = first;
  tLastChunk = lastChunk;
  tElements = elements;
  tStreamBytes = streamBytes;
  let todo = min(chunks, DECODE_TILE_CHUNKS);
  // The unit's last chunk produces nothing when it holds only EOF (or in the short case): skip it.
  if (first + todo - 1 == lastChunk && opAt(todo - 1) >= endOf(todo - 1)) todo--;
  let c = 0;
  for (; c + MAX_STREAMS <= todo; c += MAX_STREAMS) if (decodeGroup(c) != OK) return errCode;
  for (; c < todo; c++) if (decodeOne(c) != OK) return errCode;
  return OK;
}
