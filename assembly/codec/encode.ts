// DF11 encoder kernels (AssemblyScript -> WebAssembly) for src/codec/wasm/encode-wasm.ts: the exponent
// histogram and the stream-building loop of df11-format.md §12 (codes -> bitstream words,
// sign/mantissa bytes, window gaps, chunk output positions). Huffman, limiter and LUT building stay in
// TypeScript. The host streams a unit through in tiles; the encoder state lives in module globals
// between calls, so WebAssembly memory stays small whatever the unit's size.
// Build: node scripts/build-wasm.mjs. Regions are at the fixed addresses of layout.ts.
//
// Speed (1 GB/s of BF16 input = 2 ns per weight for histogram + code + stream): the main loop takes 8
// weights per step as one SIMD load. SIMD yields their 8 sign/mantissa bytes (one 64-bit store) and 8
// exponent bytes; a pair table indexed by two exponents gives their joined left-aligned code and
// length, so the 8 codes join in a few shifts and are appended to a 64-bit accumulator without
// branches (a 32-bit word is stored every step, the position advances by 0 or 1 word; the words are
// byte-swapped to big-endian by one SIMD pass per tile). Gaps and output positions are not worked
// out in the loop: each step records its start and exponents in the slot of the window where it
// starts (the last step starting in a window crosses into the next one), and a branch-free pass over
// finished windows derives the first code start after every window boundary.

import {
  ENC_CODES, ENC_GAPS_OUT, ENC_HIST, ENC_LENGTHS, ENC_OPS_OUT, ENC_PAIR_HIST, ENC_PAIRS, ENC_RING, ENC_RING_SLOTS, ENC_SM, ENC_SRC, ENC_WORDS,
} from './layout';

// ---- Histogram.

/**
 * Adds the exponents of the `n` BF16 words at ENC_SRC from element `from` to the 8 interleaved
 * sub-histograms at ENC_HIST (8 x 256 x u32, so runs of one exponent do not serialise on one counter;
 * zeroed by the host before a unit, which flushes them before any counter can reach 2^32).
 */
export function histogram(from: i32, n: i32): void {
  const src = ENC_SRC + (<usize>from << 1);
  const hist = ENC_HIST;
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const a = load<u64>(src + (<usize>k << 1));
    const b = load<u64>(src + (<usize>k << 1), 8);
    const h0 = hist + ((<usize>(a >> 7) & 0xff) << 2);
    const h1 = hist + 1024 + ((<usize>(a >> 23) & 0xff) << 2);
    const h2 = hist + 2048 + ((<usize>(a >> 39) & 0xff) << 2);
    const h3 = hist + 3072 + ((<usize>(a >> 55) & 0xff) << 2);
    const h4 = hist + 4096 + ((<usize>(b >> 7) & 0xff) << 2);
    const h5 = hist + 5120 + ((<usize>(b >> 23) & 0xff) << 2);
    const h6 = hist + 6144 + ((<usize>(b >> 39) & 0xff) << 2);
    const h7 = hist + 7168 + ((<usize>(b >> 55) & 0xff) << 2);
    store<u32>(h0, load<u32>(h0) + 1);
    store<u32>(h1, load<u32>(h1) + 1);
    store<u32>(h2, load<u32>(h2) + 1);
    store<u32>(h3, load<u32>(h3) + 1);
    store<u32>(h4, load<u32>(h4) + 1);
    store<u32>(h5, load<u32>(h5) + 1);
    store<u32>(h6, load<u32>(h6) + 1);
    store<u32>(h7, load<u32>(h7) + 1);
  }
  for (; k < n; k++) {
    const h = hist + ((<usize>(load<u16>(src + (<usize>k << 1)) >> 7) & 0xff) << 2);
    store<u32>(h, load<u32>(h) + 1);
  }
}

/**
 * Counts the exponent pairs of the `n` BF16 words at ENC_SRC (n a multiple of 8) in ENC_PAIR_HIST
 * (65536 x u32, index e0 | e1 << 8): one increment per two weights, and no per-element extraction
 * (SIMD yields 8 exponent bytes, i.e. 4 pair indices). For large inputs; foldPairHistogram then adds
 * the pair counts into sub-histogram 0 of ENC_HIST and clears them.
 */
export function histogramPairs(n: i32): void {
  for (let k = 0; k < n; k += 8) {
    const ev = i16x8.shr_u(i16x8.shl(v128.load(ENC_SRC + (<usize>k << 1)), 1), 8);
    const exps = <u64>i64x2.extract_lane(i8x16.narrow_i16x8_u(ev, ev), 0);
    const h0 = (<usize>exps & 0xffff) << 2;
    const h1 = (<usize>(exps >> 16) & 0xffff) << 2;
    const h2 = (<usize>(exps >> 32) & 0xffff) << 2;
    const h3 = <usize>(exps >> 48) << 2;
    store<u32>(h0, load<u32>(h0, ENC_PAIR_HIST) + 1, ENC_PAIR_HIST);
    store<u32>(h1, load<u32>(h1, ENC_PAIR_HIST) + 1, ENC_PAIR_HIST);
    store<u32>(h2, load<u32>(h2, ENC_PAIR_HIST) + 1, ENC_PAIR_HIST);
    store<u32>(h3, load<u32>(h3, ENC_PAIR_HIST) + 1, ENC_PAIR_HIST);
  }
}

/** Adds ENC_PAIR_HIST into sub-histogram 0 of ENC_HIST (both exponents of each pair) and zeroes it. */
export function foldPairHistogram(): void {
  for (let v: usize = 0; v < 65536; v++) {
    const c = load<u32>(v << 2, ENC_PAIR_HIST);
    if (c == 0) continue;
    store<u32>(v << 2, 0, ENC_PAIR_HIST);
    const lo = ENC_HIST + ((v & 0xff) << 2);
    const hi = ENC_HIST + ((v >> 8) << 2);
    store<u32>(lo, load<u32>(lo) + c);
    store<u32>(hi, load<u32>(hi) + c);
  }
}

// ---- Code tables (written by the host for each unit).
// ENC_CODES: 256 x u64, (code left-aligned to bit 63) | length (low byte).
// ENC_PAIRS: 65536 x u64 indexed by e0 | e1 << 8: the two codes joined (e0 first), left-aligned,
// | joined length; length 255 when they exceed 32 bits together.
// ENC_LENGTHS: 256 x u8, the code lengths.
const LENGTH_MASK: u64 = 0xff;
const CODE_MASK: u64 = 0xffffffff00000000;

// ---- Encoder state (carried from one call to the next; reset by encodeBegin).
/** Pending bits, left-aligned in 64 bits; fewer than 32 between steps. */
let acc: u64 = 0;
let fill: u32 = 0;
/** Words stored so far (global), and elements encoded so far (global). */
let words: u32 = 0;
let count: u32 = 0;
/** Next window whose boundary (the start of window + 1) has not been resolved yet. */
let pendingWindow: u32 = 0;

export function encodeBegin(): void {
  acc = 0;
  fill = 0;
  words = 0;
  count = 0;
  pendingWindow = 0;
}
/** The pending bits (< 32), left-aligned in a u32; their number; words stored; elements encoded. */
export function pendingBits(): u32 { return <u32>(acc >> 32); }
export function pendingCount(): u32 { return fill; }
export function wordsStored(): u32 { return words; }
export function elementsEncoded(): u32 { return count; }

// ---- Window slots: a ring of 16-byte slots at ENC_RING, one per window, indexed by window & (ring - 1).
// Bytes 0-7: the exponents of the last step that started in the window (element k in byte k);
// bytes 8-11: that step's first element (global index); bytes 12-15: (elements << 8) | start bit in
// the window (0..63).
const SLOT_SHIFT: u32 = 4;

/** Slot meta (u32 at byte 12 of a slot): start bit in the window (0..63) | elements << 8. */
const SLOT_ELEMENTS_SHIFT: u32 = 8;

/**
 * Encodes the `n` BF16 words at ENC_SRC (the elements `count .. count+n` of the unit): appends their
 * codes, storing complete 32-bit words big-endian from ENC_WORDS (this call's first word there; one
 * more, incomplete, word may follow), writes their sign/mantissa bytes to ENC_SM, and records window
 * slots in the ring (the host resolves them with resolveWindows after every call; a call spans at most
 * n * 32 / 64 + 2 < ENC_RING_SLOTS windows).
 * @returns the number of words stored by this call.
 */
export function encodeTile(n: i32): u32 {
  const firstWord = words;
  let a = acc;
  let f = fill;
  let w = words;
  let o = ENC_WORDS;
  const base = count;
  let k = 0;
  while (k + 8 <= n) {
    const v = v128.load(ENC_SRC + (<usize>k << 1));
    // Per 16-bit weight, by shifts only (V8 rebuilds SIMD constants inside loops): exponent byte
    // (w << 1) >> 8; sign/mantissa byte (w >> 15) << 7 | (w << 9) >> 9.
    const ev = i16x8.shr_u(i16x8.shl(v, 1), 8);
    const smv = v128.or(i16x8.shl(i16x8.shr_u(v, 15), 7), i16x8.shr_u(i16x8.shl(v, 9), 9));
    const exps = <u64>i64x2.extract_lane(i8x16.narrow_i16x8_u(ev, ev), 0);
    v128.store64_lane(ENC_SM + <usize>k, i8x16.narrow_i16x8_u(smv, smv), 0);
    const p0 = load<u64>((<usize>exps & 0xffff) << 3, ENC_PAIRS);
    const p1 = load<u64>((<usize>(exps >> 16) & 0xffff) << 3, ENC_PAIRS);
    const p2 = load<u64>((<usize>(exps >> 32) & 0xffff) << 3, ENC_PAIRS);
    const p3 = load<u64>(<usize>(exps >> 48) << 3, ENC_PAIRS);
    const l0 = p0 & LENGTH_MASK;
    const l01 = l0 + (p1 & LENGTH_MASK);
    const l012 = l01 + (p2 & LENGTH_MASK);
    const len = l012 + (p3 & LENGTH_MASK);
    // Window slot of this step: it starts at bit 32w + f, in window w >> 1 (f < 32).
    const slot = (<usize>(w >> 1) & (ENC_RING_SLOTS - 1)) << SLOT_SHIFT;
    store<u64>(slot, exps, ENC_RING);
    store<u32>(slot, base + <u32>k, ENC_RING + 8);
    store<u32>(slot, ((w & 1) << 5) | f | (8 << SLOT_ELEMENTS_SHIFT), ENC_RING + 12);
    if (len > 32) {
      // Rare: the 8 codes exceed 32 bits together (or a pair is too long); one at a time.
      acc = a;
      fill = f;
      words = w;
      count = base + <u32>k;
      w = encodeSingles(exps, 8, o);
      o = ENC_WORDS + (<usize>(w - firstWord) << 2);
      a = acc;
      f = fill;
      k += 8;
      continue;
    }
    // l0, l01, l012 < 32 here: the shifted codes stay in the high half; the low half is discarded.
    const code = (p0 | (p1 >> l0) | (p2 >> l01) | (p3 >> l012)) & CODE_MASK;
    a |= code >> <u64>f;
    f += <u32>len;
    // Store the high word (complete when f >= 32; otherwise rewritten next time), byte-swapped later.
    store<u32>(o, <u32>(a >> 32));
    const full = f >> 5; // 0 or 1
    a <<= <u64>(full << 5);
    f -= full << 5;
    w += full;
    o += <usize>(full << 2);
    k += 8;
  }
  acc = a;
  fill = f;
  words = w;
  count = base + <u32>k;
  for (; k < n; k++) {
    const x = <u32>load<u16>(ENC_SRC + (<usize>k << 1));
    store<u8>(ENC_SM + <usize>k, <u8>(((x >> 8) & 0x80) | (x & 0x7f)));
    encodeSingles(<u64>((x >> 7) & 0xff), 1, ENC_WORDS + (<usize>(words - firstWord) << 2));
  }
  const stored = words - firstWord;
  swapWords(stored);
  return stored;
}

/** Byte-swaps the first `stored` words at ENC_WORDS to big-endian (16 bytes at a time; may swap a few more). */
function swapWords(stored: u32): void {
  const end = ENC_WORDS + (<usize>stored << 2);
  for (let q = ENC_WORDS; q < end; q += 16) {
    const v = v128.load(q);
    v128.store(q, i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  }
}

/**
 * Appends the codes of the first `todo` (1..8) exponents of `exps` (element k in byte k) one at a
 * time to the global state, storing complete words (not yet byte-swapped) from `o`; records a window
 * slot for each. Returns the global word count.
 */
function encodeSingles(exps: u64, todo: i32, o: usize): u32 {
  let a = acc;
  let f = fill;
  let w = words;
  let c = count;
  for (let k = 0; k < todo; k++) {
    const e = <usize>(exps >> (<u64>k << 3)) & 0xff;
    const entry = load<u64>(e << 3, ENC_CODES);
    const slot = (<usize>(w >> 1) & (ENC_RING_SLOTS - 1)) << SLOT_SHIFT;
    store<u64>(slot, <u64>e, ENC_RING);
    store<u32>(slot, c, ENC_RING + 8);
    store<u32>(slot, ((w & 1) << 5) | f | (1 << SLOT_ELEMENTS_SHIFT), ENC_RING + 12);
    a |= (entry & CODE_MASK) >> <u64>f;
    f += <u32>(entry & LENGTH_MASK);
    if (f >= 32) {
      store<u32>(o, <u32>(a >> 32));
      o += 4;
      a <<= 32;
      f -= 32;
      w++;
    }
    c++;
  }
  acc = a;
  fill = f;
  words = w;
  count = c;
  return w;
}

/**
 * Resolves the window boundaries that are final: every window before the one holding the current bit
 * position (when `last`, the end of the stream S), finding the first code start at or after each
 * boundary from the slot of the window before it. Writes gap values for windows pendingWindow+1 ...
 * to ENC_GAPS_OUT (u8 each) and, at each boundary that starts a chunk (window a multiple of 512), the
 * first element of that chunk to ENC_OPS_OUT (u32 each, in order).
 *
 * When `last`: a boundary whose first start is S itself is the EOF code's start; it counts only when
 * `eof` (an EOF tail is written, S mod 8 != 0); otherwise its gap stays 0 and no position is written.
 * Returns the gaps written (the first belongs to window windowsResolved() + 1 as read before the
 * call); positionsResolved() tells the positions written.
 */
export function resolveWindows(last: bool, eof: bool): u32 {
  const end = (<u64>words << 5) + <u64>fill;
  const until = <u32>(end >> 6);
  let g: u32 = 0;
  let q: u32 = 0;
  for (let u = pendingWindow; u < until; u++) {
    const slot = (<usize>u & (ENC_RING_SLOTS - 1)) << SLOT_SHIFT;
    const exps = load<u64>(slot, ENC_RING);
    const first = load<u32>(slot, ENC_RING + 8);
    const meta = load<u32>(slot, ENC_RING + 12);
    // The step starts at d0 (offset in the window); the first code start at or after the boundary
    // (offset 64) is element k's, at offset d. A step of 8 is 4 pairs (the pair table's lengths):
    // find the pair the boundary falls in, then whether its second element starts at or after it.
    const d0 = meta & 63;
    const t: u32 = 64 - d0; // the boundary, from the step's start
    let d: u32;
    let k: u32;
    if (meta >> SLOT_ELEMENTS_SHIFT == 1) {
      k = 1;
      d = d0 + <u32>load<u8>(ENC_LENGTHS + (<usize>exps & 0xff));
    } else {
      const e0 = <u32>load<u64>((<usize>exps & 0xffff) << 3, ENC_PAIRS) & 0xff;
      const e1 = e0 + (<u32>load<u64>((<usize>(exps >> 16) & 0xffff) << 3, ENC_PAIRS) & 0xff);
      const e2 = e1 + (<u32>load<u64>((<usize>(exps >> 32) & 0xffff) << 3, ENC_PAIRS) & 0xff);
      const e3 = e2 + (<u32>load<u64>(<usize>(exps >> 48) << 3, ENC_PAIRS) & 0xff);
      // j: pairs ending before the boundary (the step reaches it, so j <= 3). Branch-free: the pair
      // ends are bytes of one word.
      const j = <u32>(e0 < t) + <u32>(e1 < t) + <u32>(e2 < t);
      const ends = e0 | (e1 << 8) | (e2 << 16) | (e3 << 24);
      const pairEnd = (ends >> (8 * j)) & 0xff;
      const pairStart = ((ends << 8) >> (8 * j)) & 0xff;
      const second = pairStart + <u32>load<u8>(ENC_LENGTHS + (<usize>(exps >> (<u64>j << 4)) & 0xff));
      const inPair = second >= t;
      k = 2 * j + select<u32>(1, 2, inPair);
      d = d0 + select<u32>(second, pairEnd, inPair);
    }
    const start = (<u64>u << 6) + <u64>d;
    const boundary = <u64>(u + 1) << 6;
    const skip = last && !eof && start == end;
    store<u8>(ENC_GAPS_OUT + <usize>g, skip ? 0 : <u8>(start - boundary));
    g++;
    if (((u + 1) & 511) == 0 && !skip) {
      store<u32>(ENC_OPS_OUT + (<usize>q << 2), first + k);
      q++;
    }
  }
  pendingWindow = until;
  positions = q;
  return g;
}

/** Chunk positions written by the last resolveWindows call. */
let positions: u32 = 0;
export function positionsResolved(): u32 { return positions; }

/** The first window whose boundary is not resolved yet (resolveWindows writes from window + 1). */
export function windowsResolved(): u32 { return pendingWindow; }
