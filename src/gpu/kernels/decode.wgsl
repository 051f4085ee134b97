// DF11 chunk decoder (df11-format.md §8.4, §13.4), the fast kernel (variant v17 of dev/kernels; the
// variants tried and their numbers are in dev/kernels/README.md). One workgroup per 4096-byte chunk of
// encoded_exponent; BF16 output written as pairs of u32 words (two BF16 values each). Requires
// 'subgroups' with subgroups laid out linearly in local_invocation_index (checked on the host,
// subgroup-layout.wgsl); otherwise the host uses decode-portable.wgsl (same bindings, semantics, checks).
//
// Bindings (group 0); every tensor is its own u32 buffer, zero-padded on the host; "window" buffers are
// bound from a 256-byte-aligned offset, and `params` says which global index their word/byte 0 is.
//   0 params  uniform          Params below (one slot per dispatch)
//   1 luts    storage read     luts (R+1) x 256 bytes zero-padded to 18 rows (word 0), the host-built
//                              multi-symbol table (1024 u32 at word 1152; src/gpu/multi-symbol-table.ts)
//                              the combined root table (256 u32 at word 2176: exponent | length << 8)
//                              and the wide multi-symbol table (2 x 4096 u32 at word 2432: the CPU
//                              decoders' 12-bit table, src/codec/multi-table.ts)
//   2 enc     storage read     encoded_exponent window: chunks [chunk_base, chunk_base+chunk_count] + 16 B
//   3 gaps    storage read     gaps window: entries of those chunks + the next chunk's first entry
//   4 op      storage read     output_positions, whole (K or K+1 entries)
//   5 sm      storage read     sign_mantissa window: the elements of those chunks +- a few bytes
//   6 out     storage rw       output window, viewed as vec2<u32>: pair q holds output words 2q, 2q+1
//   7 status  storage rw       [flags, first bad chunk, -, -]; flags: STATUS_* below
//
// Workgroup: WG = 512 invocations with one 64-bit window each, or 256 with two (devices limited to 256
// invocations, such as WebGPU's defaults); invocation j owns the codes that start in its windows. The
// decode tables are read from `luts` through the cache (nothing is copied per chunk), so workgroup
// memory holds only a u8-per-element exponent stage and the subgroup sums, and more chunks are in
// flight per SM. Work per invocation: issue every load that needs no other load first (op, its gaps and
// the next window's, its stream words plus a look-ahead word); count its codes (pass 1, ~3 codes per
// lookup of the multi-symbol table); a subgroup scan (one barrier, which also orders the zeroing of the
// stage) gives its first element. Pass 1 decodes up to 4 codes per lookup of the wide table (taking
// those that start before the window's end) and keeps the exponents in a register stash (up to 35
// per invocation, in 8 words shifted down a fixed chain so every array index is a constant), and after
// the scan each invocation ORs its stash into the stage at its offset, one atomic per stage word; an
// invocation whose codes overflow the stash, and every invocation of a chunk that needs several rounds,
// decodes again instead (pass 2), gathering exponents in a register word ORed into the stage a word at a
// time. Then every invocation builds 2 output words per 4 staged exponents from one sign_mantissa word
// and writes them with one 8-byte store, loading the sign_mantissa words of WRITE_UNROLL stage words
// before it uses any.
//
// Exponent plane (pipeline constant EXPONENT_PLANE): the same decode, but each output word holds the
// exponents of 4 elements (one byte each) and sign_mantissa is not read; see EXPONENT_PLANE below.
//
// Invariants: chunk b produces elements [op[b], op[b+1]) (op[K] = N when only K entries are stored),
// clamped to N; an output word (2 BF16 halves, or 4 exponent bytes) is written by the chunk holding its
// first element, so a chunk also writes the first elements of the next chunk that share its last word
// (1 for BF16, up to 3 for the plane; decoded by the last invocation from its look-ahead, where the
// next chunk's first code starts); halves or bytes outside the unit are kept (read-modify-write of
// single words; one writer per word).
// Checks (flags in `status`): a zero-length code or a 5th LUT level among the chunk's elements;
// per-chunk code counts against op (exact, or at least op[K]-op[K-1] in the last chunk); gaps against
// the code boundaries; ceil(S/8) = B at the last element. Every loop is bounded (a code has >= 1 bit:
// at most 64 codes per window; at most 33 rounds as t - s <= 32768 is checked), and every store is
// checked against arrayLength(&out). The kernel does not rely on workgroup memory starting zeroed.
enable subgroups;

struct Params {
  chunk_base: u32,      // global index of this dispatch's first chunk (workgroup x = 0)
  chunk_count: u32,     // chunks in this dispatch
  total_chunks: u32,    // K
  elements: u32,        // N
  op_entries: u32,      // stored output_positions entries: K or K+1
  decode_rows: u32,     // R; the length row is row R
  first_element: u32,   // op[chunk_base]
  enc_word_base: u32,   // global encoded_exponent word at word 0 of `enc`
  gap_byte_base: u32,   // global gaps byte at byte 0 of `gaps`
  sm_byte_base: u32,    // global sign_mantissa byte at byte 0 of `sm`
  out_half_first: u32,  // half-word of `out` that receives element first_element
  stream_bytes: u32,    // B
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> luts: array<u32>;
@group(0) @binding(2) var<storage, read> enc: array<u32>;
@group(0) @binding(3) var<storage, read> gaps: array<u32>;
@group(0) @binding(4) var<storage, read> op: array<u32>;
@group(0) @binding(5) var<storage, read> sm: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>, 4>;

/** Stage capacity in u32 words (4 exponents each); a multiple of WG. */
override STAGE_WORDS: u32 = 3072u;

/** Invocations per workgroup: 512 (one window each) or 256 (two windows each). */
override WG: u32 = 512u;
const ROW_BYTES: u32 = 256u;
const FIRST_POINTER: u32 = 240u;
const WINDOWS_PER_CHUNK: u32 = 512u;
const WORDS_PER_CHUNK: u32 = 1024u;
const CHUNK_BYTES: u32 = 4096u;
const MAX_CHUNK_ELEMENTS: u32 = 32768u;
const STATUS_ZERO_LENGTH: u32 = 1u;
const STATUS_FIFTH_LEVEL: u32 = 2u;
const STATUS_COUNT_MISMATCH: u32 = 4u;
const STATUS_BAD_RANGE: u32 = 8u;
const STATUS_STREAM_LENGTH: u32 = 16u;
const STATUS_GAP_MISMATCH: u32 = 32u;
const NO_LIMIT: u32 = 0xffffffffu;
const MULTI_BASE: u32 = 1152u;
const ROOT_BASE: u32 = 2176u;
const MULTI_BITS: u32 = 10u;
const MULTI_COUNT_SHIFT: u32 = 24u;
const MULTI_BITS_SHIFT: u32 = 26u;
const LEN_SHIFT: u32 = 8u;
const WINDOW_BITS: u32 = 64u;
const NO_WORD: u32 = 0xffffffffu;
/** Stage words per invocation whose sign_mantissa words the write loop loads at once. */
const WRITE_UNROLL: u32 = 4u;
/**
 * Exponent plane output (pipeline constant): instead of BF16 values, only the exponents, one byte per
 * element, four per u32 word (element e at byte `out_half_first + e - first_element` of the binding:
 * the Params "halves" are bytes). sign_mantissa is not read. The exponent plane and the unit's
 * sign_mantissa together are the BF16 values, which is how the engine's matrix products read them.
 */
override EXPONENT_PLANE: bool = false;
/**
 * Index output (pipeline constant), for decode-indexed.wgsl: nothing is decoded into `out`; instead,
 * for every element e of the chunk with e % INDEX_GROUP == 0, the bit of encoded_exponent where its
 * code starts is written as u32 word e / INDEX_GROUP of `out` (bound whole, from its word 0).
 */
override INDEX_OUTPUT: bool = false;
const INDEX_GROUP: u32 = 64u;

var<workgroup> sg_sums: array<u32, 128>;
var<workgroup> stage: array<atomic<u32>, STAGE_WORDS>;

fn flag(bits: u32, chunk: u32) {
  atomicOr(&status[0], bits);
  atomicMin(&status[1], chunk);
}

fn bswap(v: u32) -> u32 {
  return (v << 24u) | ((v & 0xff00u) << 8u) | ((v >> 8u) & 0xff00u) | (v >> 24u);
}

fn bits_at(a: u32, b: u32, r: u32) -> u32 {
  return (a << r) | ((b >> 1u) >> (31u - r));
}

fn lut_byte(i: u32) -> u32 {
  return (luts[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

/** (exponent, length) of the code at the top of x; length 0 means corrupt. */
fn code_at(x: u32) -> vec2<u32> {
  let c = luts[ROOT_BASE + (x >> 24u)];
  if (c >= (1u << LEN_SHIFT)) {
    return vec2<u32>(c & 0xffu, c >> LEN_SHIFT);
  }
  var e = c;
  if (e >= FIRST_POINTER) {
    e = lut_byte((ROW_BYTES - e) * ROW_BYTES + ((x >> 16u) & 0xffu));
    if (e >= FIRST_POINTER) {
      e = lut_byte((ROW_BYTES - e) * ROW_BYTES + ((x >> 8u) & 0xffu));
      if (e >= FIRST_POINTER) {
        e = lut_byte((ROW_BYTES - e) * ROW_BYTES + (x & 0xffu));
      }
    }
  }
  return vec2<u32>(e, lut_byte(params.decode_rows * ROW_BYTES + e));
}

fn symbol_error(e: u32) -> u32 {
  return select(STATUS_ZERO_LENGTH, STATUS_FIFTH_LEVEL, e >= FIRST_POINTER);
}

fn gap_byte(i: u32) -> u32 {
  let l = i - params.gap_byte_base;
  return (gaps[l >> 2u] >> ((l & 3u) * 8u)) & 0xffu;
}

fn gap_at(t: u32) -> u32 {
  let bit = 5u * t;
  let j = bit >> 3u;
  let v = (gap_byte(j) << 8u) | gap_byte(j + 1u);
  return (v >> (11u - (bit & 7u))) & 31u;
}

fn enc_word(global_word: u32) -> u32 {
  return bswap(enc[global_word - params.enc_word_base]);
}

/**
 * sign_mantissa word q of the binding, 0 outside it. The load is never skipped (the index is clamped
 * and the value selected): with a branch around it, the write loop kept one load in flight.
 */
fn sm_word(q: i32) -> u32 {
  let len = i32(arrayLength(&sm));
  let v = sm[u32(clamp(q, 0, len - 1))];
  return select(0u, v, q >= 0 && q < len);
}

fn pack2(sm2: u32, e2: u32) -> u32 {
  let x = (sm2 & 0xffu) | ((sm2 & 0xff00u) << 8u);
  let y = (e2 & 0xffu) | ((e2 & 0xff00u) << 8u);
  return ((x & 0x00800080u) << 8u) | (x & 0x007f007fu) | (y << 7u);
}

fn store_word(w: u32, v: u32, e_lo: i32, w_start: u32, w_end: u32) {
  let q = w >> 1u;
  if (w < w_start || w >= w_end || q >= arrayLength(&out)) { return; }
  let n = i32(params.elements);
  let lo_in = e_lo >= 0 && e_lo < n;
  let hi_in = e_lo + 1 >= 0 && e_lo + 1 < n;
  var old = 0u;
  if ((w & 1u) == 0u) { old = out[q].x; } else { old = out[q].y; }
  let merged = select(old & 0xffffu, v & 0xffffu, lo_in) | select(old & 0xffff0000u, v & 0xffff0000u, hi_in);
  if ((w & 1u) == 0u) { out[q].x = merged; } else { out[q].y = merged; }
}

/** Exponent plane word w (elements e0..e0+3): bytes of elements outside the unit keep their old value. */
fn store_exponents(w: u32, v: u32, e0: i32, w_start: u32, w_end: u32) {
  let q = w >> 1u;
  if (w < w_start || w >= w_end || q >= arrayLength(&out)) { return; }
  let n = i32(params.elements);
  var keep = 0u;
  for (var k = 0u; k < 4u; k++) {
    let e = e0 + i32(k);
    keep |= select(0u, 0xffu << (8u * k), e < 0 || e >= n);
  }
  var word = v;
  if (keep != 0u) {
    word = (out[q][w & 1u] & keep) | (v & ~keep);
  }
  out[q][w & 1u] = word;
}

/** Output words 2q, 2q+1 (elements e4..e4+3): one 8-byte store when the chunk owns both and all 4 elements exist. */
fn store_pair(h4: u32, v0: u32, v1: u32, e4: i32, w_start: u32, w_end: u32) {
  let w = h4 >> 1u;
  let q = h4 >> 2u;
  if (w >= w_start && w + 1u < w_end && q < arrayLength(&out) && e4 >= 0 && e4 + 3 < i32(params.elements)) {
    out[q] = vec2<u32>(v0, v1);
  } else {
    store_word(w, v0, e4, w_start, w_end);
    store_word(w + 1u, v1, e4 + 2, w_start, w_end);
  }
}

struct Walk {
  count: u32,
  error: u32,
  end: u32,
}

/** Counts the codes starting in [g, 64) of the window w0 w1 (look-ahead w2), at most `limit`. */
fn count_codes(w0: u32, w1: u32, w2: u32, g: u32, limit: u32) -> Walk {
  var q0 = w0;
  var q1 = w1;
  var k = 0u;
  var r = g;
  var count = 0u;
  var error = 0u;
  loop {
    let pos = 32u * k + r;
    if (pos >= WINDOW_BITS || count >= limit) { break; }
    let x = bits_at(q0, q1, r);
    let m = luts[MULTI_BASE + (x >> (32u - MULTI_BITS))];
    let mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    let mb = m >> MULTI_BITS_SHIFT;
    if (mn != 0u && pos + mb <= WINDOW_BITS && count + mn <= limit) {
      r += mb;
      count += mn;
    } else {
      let d = code_at(x);
      if (d.y == 0u) {
        error = symbol_error(d.x);
        break;
      }
      r += d.y;
      count += 1u;
    }
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = w2;
      k += 1u;
    }
  }
  return Walk(count, error, 32u * k + r);
}

/** Stream word i after a chunk's end: the look-ahead words l0, l1, then loads from `next_word`. */
fn seam_word(l0: u32, l1: u32, next_word: u32, i: u32) -> u32 {
  if (i == 0u) { return l0; }
  if (i == 1u) { return l1; }
  return enc_word(next_word + i);
}

/**
 * The exponents of the first `count` (<= 3) codes of the next chunk, byte k for code k; its stream
 * starts at word `next_word`, its first code g bits in (l0, l1: its first two words). A corrupt code
 * is flagged for `chunk` and ends the seam.
 */
fn seam_codes(l0: u32, l1: u32, g: u32, next_word: u32, count: u32, chunk: u32) -> u32 {
  var v = 0u;
  var pos = g;
  for (var k = 0u; k < 3u; k++) {
    if (k >= count) { break; }
    let i = pos >> 5u;
    let d = code_at(bits_at(seam_word(l0, l1, next_word, i), seam_word(l0, l1, next_word, i + 1u), pos & 31u));
    if (d.y == 0u) {
      flag(symbol_error(d.x), chunk);
      break;
    }
    v |= d.x << (8u * k);
    pos += d.y;
  }
  return v;
}

/**
 * Index entries of the first `limit` codes starting at g in window w0 w1 (look-ahead w2), whose first
 * element is e; `bit_base` is the window's first bit in the stream.
 */
fn index_codes(w0: u32, w1: u32, w2: u32, g: u32, e: u32, limit: u32, bit_base: u32) {
  var q0 = w0;
  var q1 = w1;
  var k = 0u;
  var r = g;
  for (var i = 0u; i < limit; i++) {
    if (k >= 2u) { break; }
    let d = code_at(bits_at(q0, q1, r));
    if (d.y == 0u) { break; }
    let el = e + i;
    if (el % INDEX_GROUP == 0u) {
      let slot = el / INDEX_GROUP;
      if ((slot >> 1u) < arrayLength(&out)) { out[slot >> 1u][slot & 1u] = bit_base + 32u * k + r; }
    }
    r += d.y;
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = w2;
      k += 1u;
    }
  }
}

const STASH_WORDS: u32 = 8u;
/** Exponents a stash holds: 8 whole words and up to 3 in the partial word. */
const STASH_CAPACITY: u32 = 35u;

struct Stash {
  w: array<u32, 8>,  // whole words, oldest at index 8 - (n >> 2)
  acc: u32,          // the partial word: exponents n & ~3 .. n - 1
  n: u32,            // exponents appended
}

fn stash_push(st: ptr<function, Stash>, v: u32, count: u32) {
  let nb = (*st).n & 3u;
  let sh = nb * 8u;
  (*st).acc |= v << sh;
  (*st).n += count;
  if (nb + count >= 4u) {
    for (var j = 0u; j < STASH_WORDS - 1u; j++) { (*st).w[j] = (*st).w[j + 1u]; }
    (*st).w[STASH_WORDS - 1u] = (*st).acc;
    (*st).acc = select(0u, v >> (32u - sh), nb + count > 4u);
  }
}

const WIDE_BASE: u32 = 2432u;
const WIDE_BITS: u32 = 12u;

/** count_codes without a limit, appending every counted code's exponent to the stash (wide table). */
fn count_and_stash(w0: u32, w1: u32, w2: u32, g: u32, st: ptr<function, Stash>) -> Walk {
  var q0 = w0;
  var q1 = w1;
  var k = 0u;
  var r = g;
  var count = 0u;
  var error = 0u;
  loop {
    let pos = 32u * k + r;
    if (pos >= WINDOW_BITS) { break; }
    let x = bits_at(q0, q1, r);
    let i = WIDE_BASE + 2u * (x >> (32u - WIDE_BITS));
    let info = luts[i + 1u];
    let n_codes = (info >> 6u) & 7u;
    if (n_codes != 0u) {
      // Codes start in increasing order: take those that start before the window's end.
      let rem = WINDOW_BITS - pos;
      var take = 1u;
      take += select(0u, 1u, n_codes >= 2u && ((info >> 9u) & 15u) < rem);
      take += select(0u, 1u, n_codes >= 3u && ((info >> 13u) & 15u) < rem);
      take += select(0u, 1u, n_codes >= 4u && ((info >> 17u) & 15u) < rem);
      let bits = select((info >> (9u + 4u * (take - 1u))) & 15u, info & 63u, take == n_codes);
      let ex = luts[i];
      stash_push(st, select(ex & ((1u << (8u * take)) - 1u), ex, take == 4u), take);
      r += bits;
      count += take;
    } else {
      let d = code_at(x);
      if (d.y == 0u) {
        error = symbol_error(d.x);
        break;
      }
      stash_push(st, d.x, 1u);
      r += d.y;
      count += 1u;
    }
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = w2;
      k += 1u;
    }
  }
  return Walk(count, error, 32u * k + r);
}

/** ORs the first `count` stashed exponents into the stage from stage byte o (one atomic per stage word). */
fn stage_stash(st: ptr<function, Stash>, o: u32, count: u32) {
  let nw = (*st).n >> 2u;
  let p = o >> 2u;
  let sh = (o & 3u) * 8u;
  var carry = 0u;
  var done = false;
  for (var k = 0u; k <= STASH_WORDS; k++) {
    if (done || k + nw < STASH_WORDS) { continue; }
    let kk = k + nw - STASH_WORDS;   // logical word: exponents 4kk .. 4kk + 3
    let word = select((*st).acc, (*st).w[min(k, STASH_WORDS - 1u)], k < STASH_WORDS);
    let bytes = min(select(0u, count - 4u * kk, count > 4u * kk), 4u);
    if (bytes == 0u) {
      if (carry != 0u && p + kk < STAGE_WORDS) { atomicOr(&stage[p + kk], carry); }
      done = true;
      continue;
    }
    let wm = word & select((1u << (8u * bytes)) - 1u, 0xffffffffu, bytes == 4u);
    if (p + kk < STAGE_WORDS) { atomicOr(&stage[p + kk], (wm << sh) | carry); }
    carry = select(0u, wm >> (32u - sh), sh != 0u);
    if (k == STASH_WORDS && carry != 0u && p + kk + 1u < STAGE_WORDS) { atomicOr(&stage[p + kk + 1u], carry); }
  }
}

/** Decodes the first `limit` codes from g; ORs the exponents of halves h0.. that lie in [lo, hi) into the stage. */
fn stage_codes(w0: u32, w1: u32, w2: u32, g: u32, h0: u32, limit: u32, lo: u32, hi: u32) {
  var q0 = w0;
  var q1 = w1;
  var r = g;
  var k = 0u;
  let stop = min(h0 + limit, hi);
  var h = h0;
  var aw = NO_WORD;   // stage word (relative to lo) gathered in acc
  var acc = 0u;
  loop {
    if (h >= stop || k >= 2u) { break; }
    let x = bits_at(q0, q1, r);
    let m = luts[MULTI_BASE + (x >> (32u - MULTI_BITS))];
    var mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    var v = m & 0xffffffu;
    var bits = m >> MULTI_BITS_SHIFT;
    if (mn == 0u || h + mn > stop || h < lo) {
      let d = code_at(x);
      if (d.y == 0u) { break; }
      mn = 1u;
      v = d.x;
      bits = d.y;
    }
    if (h >= lo) {
      let w = (h - lo) >> 2u;
      if (w != aw) {
        if (aw != NO_WORD) { atomicOr(&stage[aw], acc); }
        aw = w;
        acc = 0u;
      }
      let sh = (h & 3u) * 8u;
      acc |= v << sh;
      if (sh + 8u * mn > 32u) {
        atomicOr(&stage[aw], acc);
        aw += 1u;
        acc = v >> (32u - sh);
      }
    }
    r += bits;
    h += mn;
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = w2;
      k += 1u;
    }
  }
  if (aw != NO_WORD) { atomicOr(&stage[aw], acc); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg_size: u32) {
  let b = params.chunk_base + wg.x;
  let n = params.elements;
  let is_last = b + 1u == params.total_chunks;
  let wpi = WINDOWS_PER_CHUNK / WG;
  // Loads that need nothing loaded first: op, the gaps of this invocation's windows and of the next
  // window, the stream words of its windows plus one look-ahead word (two for the last invocation,
  // whose look-ahead holds the next chunk's first code).
  let s = op[b];
  let t = select(n, op[b + 1u], b + 1u < params.op_entries);
  let t_win = b * WINDOWS_PER_CHUNK + lid * wpi;
  var gs: array<u32, 3>;
  var ws: array<u32, 6>;
  for (var k = 0u; k < 3u; k++) { if (k <= wpi) { gs[k] = gap_at(t_win + k); } }
  let base = b * WORDS_PER_CHUNK + 2u * wpi * lid;
  for (var k = 0u; k < 5u; k++) { if (k <= 2u * wpi) { ws[k] = enc_word(base + k); } }
  if (lid == WG - 1u && !is_last) { ws[2u * wpi + 1u] = enc_word(base + 2u * wpi + 1u); }

  if (t < s || t > n || t - s > MAX_CHUNK_ELEMENTS) {
    if (lid == 0u) { flag(STATUS_BAD_RANGE, b); }
    return;
  }
  // Output words owned by this chunk (those whose first element is one of its elements) and the
  // stage rounds over them. An output word holds 2 elements (BF16), or 4 (exponent plane).
  let hs = params.out_half_first + (s - params.first_element);
  let ht = params.out_half_first + (t - params.first_element);
  let wsh = select(1u, 2u, EXPONENT_PLANE);
  let w_start = select((hs + (1u << wsh) - 1u) >> wsh, hs >> wsh, s == 0u);
  let w_end = (ht + (1u << wsh) - 1u) >> wsh;
  let hb = (w_start << wsh) & ~3u;
  let cap = STAGE_WORDS * 4u;
  let rounds = select(0u, ((w_end << wsh) - hb + cap - 1u) / cap, w_end > w_start);
  // Element of half 0 of the binding, and where its sign_mantissa byte sits in `sm`.
  let e_base = i32(params.first_element) - i32(params.out_half_first);
  let sm_rel = e_base - i32(params.sm_byte_base);
  let sm_shift = u32(sm_rel & 3) * 8u;

  // Pass 1: count the codes starting in each of this invocation's windows.
  var counts: array<u32, 2>;
  var ends: array<u32, 2>;
  var errors: array<u32, 2>;
  var count = 0u;
  var st = Stash();
  for (var k = 0u; k < 2u; k++) { if (k >= wpi) { break; }
    let walk = count_and_stash(ws[2u * k], ws[2u * k + 1u], ws[2u * k + 2u], gs[k], &st);
    counts[k] = walk.count;
    ends[k] = walk.end;
    errors[k] = walk.error;
    count += walk.count;
  }
  // The scan's barrier also orders the zeroing of the stage before pass 2 (the kernel does not rely
  // on workgroup memory starting zeroed, so it runs with Dawn's workgroup initialisation off).
  for (var i = lid; i < STAGE_WORDS; i += WG) {
    atomicStore(&stage[i], 0u);
  }
  let incl = subgroupInclusiveAdd(count);
  let my_sg = lid / sg_size;
  if (lane == sg_size - 1u) { sg_sums[my_sg] = incl; }
  workgroupBarrier();
  var before = incl - count;
  var total = 0u;
  for (var i = 0u; i < WG / sg_size; i++) {
    let v = sg_sums[i];
    total += v;
    before += select(0u, v, i < my_sg);
  }
  let my_e = s + before;

  // Checks (as v3): LUT errors among the chunk's elements; each walk ends where the next window's
  // first code starts (where that code is an element); the stream length at the last element.
  if (b == 0u && lid == 0u && gs[0] != 0u) { flag(STATUS_GAP_MISMATCH, b); }
  {
    var e = my_e;
    for (var k = 0u; k < 2u; k++) { if (k >= wpi) { break; }
      if (errors[k] != 0u && e + counts[k] < t) { flag(errors[k], b); }
      if (errors[k] == 0u && e + counts[k] < n && ends[k] != WINDOW_BITS + gs[k + 1u]) { flag(STATUS_GAP_MISMATCH, b); }
      if (t == n && e < n && e + counts[k] >= n) {
        let walk = count_codes(ws[2u * k], ws[2u * k + 1u], ws[2u * k + 2u], gs[k], n - e);
        let end_byte = b * CHUNK_BYTES + 8u * (lid * wpi + k) + (walk.end + 7u) / 8u;
        if (walk.error == 0u && end_byte != params.stream_bytes) { flag(STATUS_STREAM_LENGTH, b); }
      }
      e += counts[k];
    }
  }
  if ((is_last && total < t - s) || (!is_last && total != t - s)) {
    if (lid == 0u) { flag(STATUS_COUNT_MISMATCH, b); }
  }
  if (INDEX_OUTPUT) {
    var e = my_e;
    for (var k = 0u; k < 2u; k++) { if (k >= wpi) { break; }
      let m = min(counts[k], select(0u, t - e, e < t));
      index_codes(ws[2u * k], ws[2u * k + 1u], ws[2u * k + 2u], gs[k], e, m, 64u * (b * WINDOWS_PER_CHUNK + lid * wpi + k));
      e += counts[k];
    }
    return;
  }
  if (rounds == 0u) { return; }

  let mine = select(0u, min(count, t - my_e), my_e < t);
  let my_h = hs + before;
  // The next chunk's first elements that share this chunk's last word (BF16: 1 when its half is odd;
  // exponent plane: up to 3): the last invocation's look-ahead holds their codes (the first starts gap
  // bits into the next chunk).
  let seam_count = select(0u, min((w_end << wsh) - ht, n - t), t < n);
  var seam = 0u;
  if (seam_count > 0u && lid == WG - 1u) {
    seam = seam_codes(ws[2u * wpi], ws[2u * wpi + 1u], gs[wpi], (b + 1u) * WORDS_PER_CHUNK, seam_count, b + 1u);
  }

  for (var round = 0u; round < rounds; round++) {
    let lo = hb + round * cap;
    if (round > 0u) {
      workgroupBarrier();
      for (var i = lid; i < STAGE_WORDS; i += WG) {
        atomicStore(&stage[i], 0u);
      }
      workgroupBarrier();
    }
    // Pass 2: the stash when it holds this invocation's codes and one round covers the chunk, else
    // decode again, staging the exponents that fall in this round.
    // (The first invocation's first element can lie before the stage: the previous chunk writes it.)
    let from_stash = rounds == 1u && count <= STASH_CAPACITY && my_h >= lo;
    if (from_stash && mine > 0u) { stage_stash(&st, my_h - lo, mine); }
    var h = my_h;
    var left = select(mine, 0u, from_stash);
    for (var k = 0u; k < 2u; k++) { if (k >= wpi) { break; }
      let m = min(counts[k], left);
      if (m > 0u && h < lo + cap && h + m > lo) {
        stage_codes(ws[2u * k], ws[2u * k + 1u], ws[2u * k + 2u], gs[k], h, m, lo, lo + cap);
      }
      h += m;
      left -= m;
    }
    if (lid == WG - 1u) {
      for (var k = 0u; k < 3u; k++) {
        let hk = ht + k;
        if (k < seam_count && hk >= lo && hk < lo + cap) {
          atomicOr(&stage[(hk - lo) >> 2u], ((seam >> (8u * k)) & 0xffu) << ((hk & 3u) * 8u));
        }
      }
    }
    workgroupBarrier();
    let words = min(STAGE_WORDS, select(0u, ((w_end << wsh) - lo + 3u) / 4u, (w_end << wsh) > lo));
    if (EXPONENT_PLANE) {
      // One output word per stage word.
      for (var i = lid; i < words; i += WG) {
        let h4 = lo + 4u * i;
        store_exponents(h4 >> 2u, atomicLoad(&stage[i]), e_base + i32(h4), w_start, w_end);
      }
      continue;
    }
    // Write: 2 output words (one 8-byte store) per stage word; the sign_mantissa words of
    // WRITE_UNROLL stage words are loaded before any is used.
    for (var i0 = lid; i0 < words; i0 += WRITE_UNROLL * WG) {
      var av: array<u32, WRITE_UNROLL>;
      var cv: array<u32, WRITE_UNROLL>;
      for (var u = 0u; u < WRITE_UNROLL; u++) {
        let q = (sm_rel + i32(lo + 4u * (i0 + u * WG))) >> 2u;
        av[u] = sm_word(q);
        cv[u] = sm_word(q + 1);
      }
      for (var u = 0u; u < WRITE_UNROLL; u++) {
        let i = i0 + u * WG;
        if (i < words) {
          let h4 = lo + 4u * i;
          let sm4 = select((av[u] >> sm_shift) | (cv[u] << (32u - sm_shift)), av[u], sm_shift == 0u);
          let ex = atomicLoad(&stage[i]);
          store_pair(h4, pack2(sm4, ex), pack2(sm4 >> 16u, ex >> 16u), e_base + i32(h4), w_start, w_end);
        }
      }
    }
  }
}
