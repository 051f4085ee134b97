// DF11 chunk decoder kernel (AssemblyScript -> WebAssembly), the hot loop of src/codec/wasm/decode-wasm.ts.
// Build: node scripts/build-wasm.mjs (asc -O3 --runtime stub --enable simd). Raw memory only: the host
// lays out every region (offsets are parameters) and copies a tile of chunks in and its BF16 out.
//
// Semantics: those of the chunk decoders (df11-format.md §8.4, src/codec/decode-chunked.ts). Chunk b
// starts at its first window's gap with element op[b] and produces exactly [op[b], min(op[b+1], N)).
// Each chunk is walked as one run of codes from that start; afterwards every window that holds a decoded
// code start must have the gap the walk found, each complete chunk must hold op[b+1] - op[b] codes and
// end past its last bit, its successor (if that produces output) must start where it ended, and
// whoever decodes element N-1 checks ceil(S/8) = B. So a tile that returns 0 has produced exactly the
// serial decode of the stream.
//
// Speed (the napkin: 1.66 GB/s of BF16 = 830 M elements/s, ~3.6 cycles per element at 3 GHz):
//  - one lookup of the top 12 look-ahead bits yields up to 4 whole codes (4 exponent bytes, stored with
//    one 32-bit store into a staging buffer), their total length and where they start;
//  - four chunks are walked in lockstep, so four independent load -> lookup -> advance chains overlap;
//  - the stream is byte-reversed once per tile, so the 64 look-ahead bits at any bit position are one
//    unaligned little-endian load and a shift (WebAssembly has no byte swap);
//  - the lockstep loop runs rounds of lookups that provably stay inside every chunk's bit and element
//    budget, so it has no bounds checks; the last few codes of a chunk go one at a time, checked;
//  - gaps are checked after the walk from one slot per window (the last lookup that started in it);
//  - BF16 words are assembled 16 at a time with SIMD from the staged exponents and sign/mantissa bytes.

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
/** Look-ahead bits indexing the tables: 4096 entries. */
const TABLE_BITS: i32 = 12;
const TABLE_ENTRIES: i32 = 1 << TABLE_BITS;
const TABLE_SHIFT: u64 = 64 - TABLE_BITS;
/** Codes per multi-code entry at most (4 exponent bytes = one u32 store). */
const MAX_CODES: i32 = 4;
/**
 * Multi-code entry (u64; 0 = miss: walk the LUTs). Low 32 bits: the exponents, code k in byte k.
 * High 32 bits ("meta"): bits 0-5 advance (total length, 1..32), bits 8-10 code count (1..4),
 * bits 12-23 starts mask (bit k: a code starts k bits after the lookup's start; bit 0 always set).
 */
const META_ADVANCE_MASK: u32 = 63;
const META_COUNT_SHIFT: u32 = 8;
const META_COUNT_MASK: u32 = 7;
const META_MASK_SHIFT: u32 = 12;
/** Meta of a single code of length `len`. */
@inline function singleMeta(len: u32): u32 {
  return len | (1 << META_COUNT_SHIFT) | (1 << META_MASK_SHIFT);
}
/** Single-code table entry (u16): exponent << 8 | length; 0 = miss. */
const SINGLE_LENGTH_MASK: u32 = 0xff;

/** Bytes of the tables region: multi table, single table, then scratch for building. */
export const DECODE_TABLE_BYTES: i32 = TABLE_ENTRIES * 8 + TABLE_ENTRIES * 2 + 2 * (2 << TABLE_BITS);

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
 * Builds the decode tables at `tables` (DECODE_TABLE_BYTES) from `luts` (rows 0..R-1, then the length
 * row R), which the host has validated (validateLuts: pointers name rows 1..R-1, lengths 0..32).
 *
 * Single table: entry v (the top 12 look-ahead bits) holds the code at the front when the LUT walk of
 * §8.2 is decided by those bits (it ends in the root row, or in a sub-row entry shared by all 16
 * completions of the second byte), else 0. Multi table: the first code as above, then each further
 * code while it lies within the 12 bits and every completion of the bits after it decodes it the same
 * way. Both are pure functions of `luts`, so table hits are bit-exact with the LUT walk, leaks included.
 */
export function buildDecodeTables(luts: usize, rows: i32, tables: usize): void {
  const decodeRows = rows - 1;
  const lengthRow = luts + <usize>decodeRows * LUT_ROW;
  const multi = tables;
  const single = tables + <usize>TABLE_ENTRIES * 8;
  // decided[r][u] at scratch + 2 * (2^r + u): the code at the front of r known bits u, when those r
  // bits decide it and hold it whole; else 0.
  const scratch = single + <usize>TABLE_ENTRIES * 2;
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
    store<u16>(single + (v << 1), <u16>s);
    store<u16>(scratch + ((<usize>(1 << TABLE_BITS) + v) << 1), <u16>((s & SINGLE_LENGTH_MASK) <= <u32>TABLE_BITS ? s : 0));
  }
  for (let r = TABLE_BITS - 1; r >= 1; r--) {
    for (let u: u32 = 0; u < (<u32>1 << r); u++) {
      const longer = scratch + ((<usize>(2 << r) + 2 * u) << 1);
      const a = <u32>load<u16>(longer);
      const ok = a != 0 && a == <u32>load<u16>(longer, 2) && (a & SINGLE_LENGTH_MASK) <= <u32>r;
      store<u16>(scratch + ((<usize>(1 << r) + u) << 1), <u16>(ok ? a : 0));
    }
  }
  for (let v: u32 = 0; v < <u32>TABLE_ENTRIES; v++) {
    const first = <u32>load<u16>(single + (v << 1));
    if (first == 0) {
      store<u64>(multi + (v << 3), 0);
      continue;
    }
    let used = first & SINGLE_LENGTH_MASK;
    let count: u32 = 1;
    let mask: u32 = 1;
    let exps: u32 = first >> 8;
    while (count < <u32>MAX_CODES && used < <u32>TABLE_BITS) {
      const rest = <u32>TABLE_BITS - used;
      const next = <u32>load<u16>(scratch + ((<usize>(1 << rest) + (v & ((1 << rest) - 1))) << 1));
      if (next == 0) break;
      mask |= 1 << used;
      exps |= (next >> 8) << (8 * count);
      count++;
      used += next & SINGLE_LENGTH_MASK;
    }
    const meta = used | (count << META_COUNT_SHIFT) | (mask << META_MASK_SHIFT);
    store<u64>(multi + (v << 3), (<u64>meta << 32) | <u64>exps);
  }
}

// ---- Decoding.

// Tables and LUTs of the current call (set by decodeTile; module globals so the cold paths need no
// long parameter lists).
let gLuts: usize = 0;
let gLengthRow: usize = 0;

/**
 * The LUT walk of §8.2 on the 32 look-ahead bits `x`: (meta << 32) | exponent of one code.
 * On a 5th lookup or a zero length it records the error and returns a harmless 1-bit code, so a
 * lockstep round can finish inside its budget before the caller sees the error.
 */
function walkLuts(x: u32, chunk: i32, bit: i32): u64 {
  let e = <u32>load<u8>(gLuts + (x >> 24));
  for (let lookup = 1; e >= FIRST_POINTER; lookup++) {
    if (lookup >= 4) {
      fail(ERR_LUT_CHAIN, chunk, bit, <i32>e, 0);
      return <u64>singleMeta(1) << 32;
    }
    const byte = (x >> (24 - 8 * <u32>lookup)) & 0xff;
    e = <u32>load<u8>(gLuts + (LUT_ROW - e) * LUT_ROW + byte);
  }
  const len = <u32>load<u8>(gLengthRow + e);
  if (len == 0) {
    fail(ERR_ZERO_LENGTH, chunk, bit, <i32>e, 0);
    return <u64>singleMeta(1) << 32;
  }
  return (<u64>singleMeta(len) << 32) | <u64>e;
}

/** Gap of window t of the tile's packed `gaps` (two bytes read; the host zero-pads the end). */
@inline function gapAt(gaps: usize, t: i32): i32 {
  const bit = 5 * t;
  const j = <usize>(bit >> 3);
  const v = (<i32>load<u8>(gaps + j) << 8) | <i32>load<u8>(gaps + j + 1);
  return (v >> (11 - (bit & 7))) & 31;
}

/** The 64 stream bits at bit `p` of a chunk, MSB first (bytes past the stream read as 0). */
@inline function lookAhead(rev: usize, p: i32): u64 {
  return load<u64>(rev - <usize>(p >> 3)) << <u64>(p & 7);
}

/** Per-stream state of the lockstep walk, kept in memory only between phases (see decodeGroup). */
const STREAM_P: usize = 0; // bit position of the next code, chunk-relative
const STREAM_I: usize = 4; // elements staged so far, chunk-relative
const STREAM_BYTES: usize = 8;

// Stream parameters, set per chunk of a group.
/** Slot array: one u64 per window, (meta << 32) | start bit of the last lookup that started in it. */
const SLOT_BYTES_PER_STREAM: i32 = WINDOWS_PER_CHUNK * 8;
export const DECODE_SLOT_BYTES: i32 = 4 * SLOT_BYTES_PER_STREAM;
/** Bit budget of the unchecked lookups: a lookup at p < this starts all its codes inside the chunk. */
const FAST_BIT_LIMIT: i32 = CHUNK_BITS - 16;
/** Longest advance of one lookup (a single 32-bit code), and most codes per lookup. */
const MAX_ADVANCE_SHIFT: i32 = 5;
const MAX_CODES_SHIFT: i32 = 2;
/** Lockstep rounds shorter than this end the lockstep phase (each stream then finishes on its own). */
const MIN_ROUND: i32 = 2;

/** One multi-code lookup of one stream; returns the advance and count packed as meta. */
@inline function lookup(rev: usize, p: i32, tab: usize, chunk: i32): u64 {
  const x = lookAhead(rev, p);
  let ent = load<u64>(tab + (<usize>(x >> TABLE_SHIFT) << 3));
  if (ent == 0) ent = walkLuts(<u32>(x >> 32), chunk, p);
  return ent;
}

/**
 * Finishes one stream on its own: checked multi-code lookups while far from its ends, then one code
 * at a time up to its element count or the chunk's last bit. Returns the end bit (the start of the
 * next code) and leaves the last decoded code's start in gLastStart; the element count in gCount.
 */
let gLastStart: i32 = -1;
let gCount: i32 = 0;
function finishStream(rev: usize, tab: usize, single: usize, stage: usize, slots: usize, p: i32, i: i32, end: i32, chunk: i32): i32 {
  const il = end - 1;
  while (p < FAST_BIT_LIMIT && i + MAX_CODES <= il) {
    const ent = lookup(rev, p, tab, chunk);
    store<u32>(stage + <usize>i, <u32>ent);
    const meta = <u32>(ent >> 32);
    store<u64>(slots + (<usize>(p >> WINDOW_SHIFT) << 3), (<u64>meta << 32) | <u64>p);
    p += <i32>(meta & META_ADVANCE_MASK);
    i += <i32>((meta >> META_COUNT_SHIFT) & META_COUNT_MASK);
  }
  if (errCode != OK) return p;
  let last = -1;
  while (i < end && p < CHUNK_BITS) {
    const x = lookAhead(rev, p);
    let s = <u32>load<u16>(single + (<usize>(x >> TABLE_SHIFT) << 1));
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
    store<u8>(stage + <usize>i, <u8>e);
    store<u64>(slots + (<usize>(p >> WINDOW_SHIFT) << 3), (<u64>singleMeta(len) << 32) | <u64>p);
    last = p;
    p += <i32>len;
    i++;
  }
  gLastStart = last;
  gCount = i;
  return p;
}

/**
 * Checks the gap of every window 1..lastWindow of chunk `c` of the tile against the first code start
 * at or after the window's first bit, found in the slot of the window before it.
 */
function checkWindowGaps(slots: usize, gaps: usize, c: i32, lastWindow: i32, chunk: i32): i32 {
  for (let v = 1; v <= lastWindow; v++) {
    const slot = load<u64>(slots + (<usize>(v - 1) << 3));
    const start = <i32>(<u32>slot);
    const meta = <u32>(slot >> 32);
    const boundary = v << WINDOW_SHIFT;
    // The last lookup starting in window v-1 reaches window v (codes are <= 32 bits, windows 64).
    if ((start >> WINDOW_SHIFT) != v - 1) return fail(ERR_GAP, chunk, boundary, -1, 0);
    const d = <u32>(boundary - start); // 1..64
    const later = d < 32 ? (meta >> META_MASK_SHIFT) >> d : 0;
    const first = later != 0 ? start + <i32>d + <i32>ctz(later) : start + <i32>(meta & META_ADVANCE_MASK);
    const gap = gapAt(gaps, c * WINDOWS_PER_CHUNK + v);
    if (first - boundary != gap) return fail(ERR_GAP, chunk, boundary, gap, first - boundary);
  }
  return OK;
}

/** BF16 words of `count` elements: sign/mantissa bytes `sm` and exponent bytes `exps` -> `out`. */
function assemble(exps: usize, sm: usize, out: usize, count: i32): void {
  const signMask = i8x16.splat(-128);
  const mantissaMask = i8x16.splat(0x7f);
  let k = 0;
  for (; k + 16 <= count; k += 16) {
    const e = v128.load(exps + <usize>k);
    const s = v128.load(sm + <usize>k);
    const hi = v128.or(v128.and(s, signMask), i8x16.shr_u(e, 1));
    const lo = v128.or(v128.and(s, mantissaMask), i8x16.shl(e, 7));
    const o = out + (<usize>k << 1);
    v128.store(o, i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    v128.store(o, i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
  }
  for (; k < count; k++) {
    const e = <u32>load<u8>(exps + <usize>k);
    const s = <u32>load<u8>(sm + <usize>k);
    store<u16>(out + (<usize>k << 1), <u16>(((s & 0x80) << 8) | (e << 7) | (s & 0x7f)));
  }
}

/** Reverses `bytes` (a multiple of 16) bytes from `src` into `dst`. */
export function reverseBytes(src: usize, dst: usize, bytes: i32): void {
  const last = dst + <usize>bytes - 16;
  for (let k = 0; k < bytes; k += 16) {
    const v = v128.load(src + <usize>k);
    v128.store(last - <usize>k, i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
}

// Tile parameters (set by decodeTile).
let tOps: usize = 0; // u32 op[first + c] for c in 0..chunks+1 (global element indices)
let tGaps: usize = 0; // packed gaps from window 512 * first
let tRevEnd: usize = 0; // reversed stream: chunk c's look-ahead loads at tRevEnd - 4096c - (p >> 3)
let tStage: usize = 0;
let tSm: usize = 0;
let tOut: usize = 0;
let tSlots: usize = 0;
let tTables: usize = 0;
let tFirst: i32 = 0;
let tLastChunk: i32 = 0; // K - 1
let tElements: i32 = 0; // N
let tStreamBytes: i32 = 0; // B

@inline function opAt(c: i32): i32 {
  return <i32>load<u32>(tOps + (<usize>c << 2));
}
@inline function endOf(c: i32): i32 {
  const stop = opAt(c + 1);
  return stop < tElements ? stop : tElements;
}
/** Staging area of chunk c: its elements' offset in the tile plus 8 slack bytes per earlier chunk. */
@inline function stageOf(c: i32): usize {
  return tStage + <usize>(opAt(c) - opAt(0) + 8 * c);
}
@inline function revOf(c: i32): usize {
  return tRevEnd - <usize>(CHUNK_BYTES * c);
}

/**
 * The checks after chunk c's walk (see the file header), then the BF16 assembly of its elements.
 * `p` is where its last code ends, `count` its staged elements, `lastStart` its last code's start.
 */
function finishChunk(c: i32, slots: usize, p: i32, count: i32, lastStart: i32): i32 {
  const chunk = tFirst + c;
  const start = opAt(c);
  const end = endOf(c);
  const want = end - start;
  if (chunk < tLastChunk) {
    if (count != want || p < CHUNK_BITS) return fail(ERR_CHUNK_COUNT, chunk, p, count, want);
    // The next chunk's first window must start where this chunk's last code ends, if it produces output.
    const nextStop = opAt(c + 2);
    if (opAt(c + 1) < (nextStop < tElements ? nextStop : tElements)) {
      const gap = gapAt(tGaps, (c + 1) * WINDOWS_PER_CHUNK);
      if (p - CHUNK_BITS != gap) return fail(ERR_GAP, chunk + 1, 0, gap, p - CHUNK_BITS);
    }
  } else if (count != want) {
    return fail(ERR_CHUNK_COUNT, chunk, p, count, want);
  }
  if (lastStart >= 0) {
    const r = checkWindowGaps(slots, tGaps, c, lastStart >> WINDOW_SHIFT, chunk);
    if (r != OK) return r;
  }
  if (end == tElements) {
    // This chunk decoded element N-1; p is the end of its code.
    const bytes = chunk * CHUNK_BYTES + ((p + 7) >> 3);
    if (bytes != tStreamBytes) return fail(ERR_STREAM_LENGTH, chunk, p, bytes, tStreamBytes);
  }
  const base = <usize>(start - opAt(0));
  assemble(stageOf(c), tSm + base, tOut + (base << 1), want);
  return OK;
}

/** Where chunk c's walk starts: its first window's gap (0 required for chunk 0). */
function startBit(c: i32): i32 {
  const gap = gapAt(tGaps, c * WINDOWS_PER_CHUNK);
  if (tFirst + c == 0 && gap != 0) fail(ERR_GAP, 0, 0, gap, 0);
  return gap;
}

/** Decodes one chunk alone (groups of fewer than four). */
function decodeOne(c: i32): i32 {
  const chunk = tFirst + c;
  const start = opAt(c);
  const end = endOf(c);
  const p0 = startBit(c);
  if (errCode != OK) return errCode;
  if (end - start > CHUNK_BITS) return fail(ERR_CHUNK_COUNT, chunk, 0, CHUNK_BITS, end - start);
  const single = tTables + <usize>TABLE_ENTRIES * 8;
  const p = finishStream(revOf(c), tTables, single, stageOf(c), tSlots, p0, 0, end - start, chunk);
  if (errCode != OK) return errCode;
  return finishChunk(c, tSlots, p, gCount, gLastStart);
}

/**
 * Decodes chunks c .. c+3 of the tile in lockstep: rounds of unchecked lookups on all four streams,
 * each round as long as every stream's remaining bit and element budget allows; then each stream
 * finishes on its own (finishStream) and is checked and assembled (finishChunk).
 */
function decodeFour(c: i32): i32 {
  const tab = tTables;
  const single = tTables + <usize>TABLE_ENTRIES * 8;
  let p0 = startBit(c), p1 = startBit(c + 1), p2 = startBit(c + 2), p3 = startBit(c + 3);
  if (errCode != OK) return errCode;
  const n0 = endOf(c) - opAt(c), n1 = endOf(c + 1) - opAt(c + 1), n2 = endOf(c + 2) - opAt(c + 2), n3 = endOf(c + 3) - opAt(c + 3);
  if (n0 > CHUNK_BITS) return fail(ERR_CHUNK_COUNT, tFirst + c, 0, CHUNK_BITS, n0);
  if (n1 > CHUNK_BITS) return fail(ERR_CHUNK_COUNT, tFirst + c + 1, 0, CHUNK_BITS, n1);
  if (n2 > CHUNK_BITS) return fail(ERR_CHUNK_COUNT, tFirst + c + 2, 0, CHUNK_BITS, n2);
  if (n3 > CHUNK_BITS) return fail(ERR_CHUNK_COUNT, tFirst + c + 3, 0, CHUNK_BITS, n3);
  const r0 = revOf(c), r1 = revOf(c + 1), r2 = revOf(c + 2), r3 = revOf(c + 3);
  const s0 = stageOf(c), s1 = stageOf(c + 1), s2 = stageOf(c + 2), s3 = stageOf(c + 3);
  const l0 = tSlots, l1 = l0 + <usize>SLOT_BYTES_PER_STREAM, l2 = l1 + <usize>SLOT_BYTES_PER_STREAM, l3 = l2 + <usize>SLOT_BYTES_PER_STREAM;
  // Element budgets: the last element of each chunk is decoded by finishStream (it records its start).
  const e0 = n0 - 1, e1 = n1 - 1, e2 = n2 - 1, e3 = n3 - 1;
  const ch = tFirst + c;
  let i0 = 0, i1 = 0, i2 = 0, i3 = 0;
  for (;;) {
    // Lookups this round: each advances <= 32 bits and stages <= 4 elements.
    let n = min(FAST_BIT_LIMIT - p0, FAST_BIT_LIMIT - p1) >> MAX_ADVANCE_SHIFT;
    n = min(n, min(FAST_BIT_LIMIT - p2, FAST_BIT_LIMIT - p3) >> MAX_ADVANCE_SHIFT);
    n = min(n, min(min(e0 - i0, e1 - i1), min(e2 - i2, e3 - i3)) >> MAX_CODES_SHIFT);
    if (n < MIN_ROUND) break;
    for (let k = 0; k < n; k++) {
      // Four independent chains; the same six steps each (see lookup and finishStream).
      const a0 = lookup(r0, p0, tab, ch);
      const a1 = lookup(r1, p1, tab, ch + 1);
      const a2 = lookup(r2, p2, tab, ch + 2);
      const a3 = lookup(r3, p3, tab, ch + 3);
      store<u32>(s0 + <usize>i0, <u32>a0);
      store<u32>(s1 + <usize>i1, <u32>a1);
      store<u32>(s2 + <usize>i2, <u32>a2);
      store<u32>(s3 + <usize>i3, <u32>a3);
      const m0 = <u32>(a0 >> 32), m1 = <u32>(a1 >> 32), m2 = <u32>(a2 >> 32), m3 = <u32>(a3 >> 32);
      store<u64>(l0 + (<usize>(p0 >> WINDOW_SHIFT) << 3), (a0 & 0xffffffff00000000) | <u64>p0);
      store<u64>(l1 + (<usize>(p1 >> WINDOW_SHIFT) << 3), (a1 & 0xffffffff00000000) | <u64>p1);
      store<u64>(l2 + (<usize>(p2 >> WINDOW_SHIFT) << 3), (a2 & 0xffffffff00000000) | <u64>p2);
      store<u64>(l3 + (<usize>(p3 >> WINDOW_SHIFT) << 3), (a3 & 0xffffffff00000000) | <u64>p3);
      p0 += <i32>(m0 & META_ADVANCE_MASK);
      p1 += <i32>(m1 & META_ADVANCE_MASK);
      p2 += <i32>(m2 & META_ADVANCE_MASK);
      p3 += <i32>(m3 & META_ADVANCE_MASK);
      i0 += <i32>((m0 >> META_COUNT_SHIFT) & META_COUNT_MASK);
      i1 += <i32>((m1 >> META_COUNT_SHIFT) & META_COUNT_MASK);
      i2 += <i32>((m2 >> META_COUNT_SHIFT) & META_COUNT_MASK);
      i3 += <i32>((m3 >> META_COUNT_SHIFT) & META_COUNT_MASK);
    }
    if (errCode != OK) return errCode;
  }
  let p = finishStream(r0, tab, single, s0, l0, p0, i0, n0, ch);
  if (errCode != OK) return errCode;
  if (finishChunk(c, l0, p, gCount, gLastStart) != OK) return errCode;
  p = finishStream(r1, tab, single, s1, l1, p1, i1, n1, ch + 1);
  if (errCode != OK) return errCode;
  if (finishChunk(c + 1, l1, p, gCount, gLastStart) != OK) return errCode;
  p = finishStream(r2, tab, single, s2, l2, p2, i2, n2, ch + 2);
  if (errCode != OK) return errCode;
  if (finishChunk(c + 2, l2, p, gCount, gLastStart) != OK) return errCode;
  p = finishStream(r3, tab, single, s3, l3, p3, i3, n3, ch + 3);
  if (errCode != OK) return errCode;
  return finishChunk(c + 3, l3, p, gCount, gLastStart);
}

/**
 * Decodes chunks first .. first+chunks-1 of a unit (a tile) and writes their BF16 words.
 *
 * Memory (all prepared by the host):
 *  - luts: the unit's `luts` (rows x 256 bytes); tables: built by buildDecodeTables from them;
 *  - ops: u32 op[first .. first+chunks+1] (global element indices; op[K] = N in the short case;
 *    entries past K are never read for the last chunk);
 *  - gaps: packed gaps from window 512*first, 2 zero bytes past the tensor's end;
 *  - revEnd: the tile's stream bytes (from byte 4096*first, zero past B), byte-reversed, such that
 *    stream byte q of the tile sits at revEnd + 7 - q; valid for q up to 4096*chunks + 8;
 *  - stage: op range + 8*chunks + 16 bytes; slots: DECODE_SLOT_BYTES;
 *  - sm: sign/mantissa bytes op[first] .. end of the tile; out: BF16 words of the same range.
 * Every chunk's element count (min(op[b+1], N) - op[b]) must be at most 32768 (the host checks; a
 * larger count is an error anyway). The last chunk of the unit, when it produces nothing, is skipped.
 * @returns 0, or an error code (detail through the error getters); on error `out` is partly written.
 */
export function decodeTile(
  luts: usize, rows: i32, tables: usize, ops: usize, gaps: usize, revEnd: usize, stage: usize, slots: usize,
  sm: usize, out: usize, first: i32, chunks: i32, lastChunk: i32, elements: i32, streamBytes: i32,
): i32 {
  errCode = OK;
  gLuts = luts;
  gLengthRow = luts + <usize>(rows - 1) * LUT_ROW;
  tOps = ops;
  tGaps = gaps;
  tRevEnd = revEnd;
  tStage = stage;
  tSm = sm;
  tOut = out;
  tSlots = slots;
  tTables = tables;
  tFirst = first;
  tLastChunk = lastChunk;
  tElements = elements;
  tStreamBytes = streamBytes;
  let todo = chunks;
  // The unit's last chunk produces nothing when it holds only EOF (or in the short case): skip it.
  if (first + chunks - 1 == lastChunk && opAt(chunks - 1) >= endOf(chunks - 1)) todo--;
  let c = 0;
  for (; c + 4 <= todo; c += 4) if (decodeFour(c) != OK) return errCode;
  for (; c < todo; c++) if (decodeOne(c) != OK) return errCode;
  return OK;
}
