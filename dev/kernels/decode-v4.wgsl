// decode-v4: no staging. Workgroup memory holds only a combined root table (exponent | length << 8),
// the 10-bit multi-symbol table (3 exponents per lookup, src/gpu/multi-symbol-table.ts) and small scan
// and edge arrays (~7 KB), so many more workgroups fit per SM than with a ~12 KB exponent stage.
// Pass 1 counts the codes of each invocation's two windows; a subgroup scan gives each invocation its
// first element; pass 2 decodes again and writes BF16 pairs straight to `out` (each invocation its own
// run of ~48 elements, reading its sign_mantissa bytes word by word). A word whose halves come from
// two invocations is written after a barrier by the invocation holding the upper half (its lower half
// is the previous invocation's last value, kept in workgroup memory); the word holding a chunk's last
// element and the next chunk's first is written by the chunk's last element's invocation, with the
// next chunk's first exponent decoded separately (the seam). Long codes walk the LUT rows in the
// `luts` binding (global memory, cached).
// Requires 'subgroups' with subgroups laid out linearly in local_invocation_index (host-checked).
// Bindings, workgroup shape, checks and invariants: as src/gpu/kernels/decode-portable.wgsl (v1).
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
@group(0) @binding(6) var<storage, read_write> out: array<u32>;
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>, 4>;


const WG: u32 = 256u;
const ROW_BYTES: u32 = 256u;
const FIRST_POINTER: u32 = 240u;
const WINDOWS_PER_CHUNK: u32 = 512u;
const WORDS_PER_CHUNK: u32 = 1024u;
const CHUNK_BYTES: u32 = 4096u;
const MAX_CHUNK_ELEMENTS: u32 = 32768u; // a code has at least 1 bit
const STATUS_ZERO_LENGTH: u32 = 1u;
const STATUS_FIFTH_LEVEL: u32 = 2u;
const STATUS_COUNT_MISMATCH: u32 = 4u;
const STATUS_BAD_RANGE: u32 = 8u;
const STATUS_STREAM_LENGTH: u32 = 16u;
const STATUS_GAP_MISMATCH: u32 = 32u;
const NO_LIMIT: u32 = 0xffffffffu;
const LEN_SHIFT: u32 = 8u;
const MULTI_BASE: u32 = 1152u;      // word offset of the multi-symbol table in `luts`
const MULTI_ENTRIES: u32 = 1024u;
const MULTI_BITS: u32 = 10u;
const MULTI_COUNT_SHIFT: u32 = 24u;
const MULTI_BITS_SHIFT: u32 = 26u;
const WINDOW_BITS: u32 = 64u;
const RANGE_BITS: u32 = 128u;

/** Unused here (no stage); kept so every variant takes the same constants. */
override STAGE_WORDS: u32 = 256u;

var<workgroup> root: array<u32, 256>;
var<workgroup> multi: array<u32, MULTI_ENTRIES>;
var<workgroup> sg_sums: array<u32, 64>;
var<workgroup> edge_last: array<u32, WG>;  // BF16 value of each invocation's last element
var<workgroup> seam_value: u32;            // BF16 value of the next chunk's first element

fn flag(bits: u32, chunk: u32) {
  atomicOr(&status[0], bits);
  atomicMin(&status[1], chunk);
}

fn bswap(v: u32) -> u32 {
  return (v << 24u) | ((v & 0xff00u) << 8u) | ((v >> 8u) & 0xff00u) | (v >> 24u);
}

/** The 32 bits starting r bits into the big-endian pair (a, b); r in 0..31 (two shifts keep r = 0 right). */
fn bits_at(a: u32, b: u32, r: u32) -> u32 {
  return (a << r) | ((b >> 1u) >> (31u - r));
}

/** Byte i of the raw LUT rows, read from the `luts` binding (only long codes get here). */
fn lut_byte(i: u32) -> u32 {
  return (luts[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

/** (exponent, code length) of the code at the top of x; length 0 means corrupt (see symbol_error). */
fn decode_symbol(x: u32) -> vec2<u32> {
  var e = lut_byte(x >> 24u);
  if (e >= FIRST_POINTER) {
    e = lut_byte((ROW_BYTES - e) * ROW_BYTES + ((x >> 16u) & 0xffu));
    if (e >= FIRST_POINTER) {
      e = lut_byte((ROW_BYTES - e) * ROW_BYTES + ((x >> 8u) & 0xffu));
      if (e >= FIRST_POINTER) {
        e = lut_byte((ROW_BYTES - e) * ROW_BYTES + (x & 0xffu));
      }
    }
  }
  // Length-row entries 240..255 are 0 (validated on the host), so a 5th level also yields length 0.
  return vec2<u32>(e, lut_byte(params.decode_rows * ROW_BYTES + e));
}

fn symbol_error(e: u32) -> u32 {
  return select(STATUS_ZERO_LENGTH, STATUS_FIFTH_LEVEL, e >= FIRST_POINTER);
}

fn gap_byte(i: u32) -> u32 {
  let l = i - params.gap_byte_base;
  return (gaps[l >> 2u] >> ((l & 3u) * 8u)) & 0xffu;
}

/** gap(t) of global window t (§6). */
fn gap_at(t: u32) -> u32 {
  let bit = 5u * t;
  let j = bit >> 3u;
  let v = (gap_byte(j) << 8u) | gap_byte(j + 1u);
  return (v >> (11u - (bit & 7u))) & 31u;
}

fn enc_word(global_word: u32) -> u32 {
  return bswap(enc[global_word - params.enc_word_base]);
}

/** sign_mantissa bytes of the 4 elements starting at element e (bytes of elements < 0 read as 0). */
/** (exponent, length) of the code at the top of x: one lookup for root codes, else the LUT chain. */
fn code_at(x: u32) -> vec2<u32> {
  let c = root[x >> 24u];
  if (c >= (1u << LEN_SHIFT)) {
    return vec2<u32>(c & 0xffu, c >> LEN_SHIFT);
  }
  return decode_symbol(x);
}

struct Walk {
  count: u32,
  error: u32,
  end: u32,
  mid: u32,
  mid_count: u32,
}

/** Counts the codes starting in [g, 128) of w0..w4; see v1's walk. */
fn count_codes(w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, g: u32, limit: u32) -> Walk {
  var q0 = w0;
  var q1 = w1;
  var q2 = w2;
  var q3 = w3;
  var k = 0u;
  var r = g;
  var count = 0u;
  var error = 0u;
  var mid = 0u;
  var mid_count = 0u;
  loop {
    if (k >= 4u || count >= limit) { break; }
    let x = bits_at(q0, q1, r);
    let pos = 32u * k + r;
    let m = multi[x >> (32u - MULTI_BITS)];
    let mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    // Several codes per lookup only inside one window (the gap checks need window 2j+1's first code).
    if (mn != 0u && (pos % WINDOW_BITS) + MULTI_BITS <= WINDOW_BITS && count + mn <= limit) {
      r += m >> MULTI_BITS_SHIFT;
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
      q1 = q2;
      q2 = q3;
      q3 = w4;
      k += 1u;
      if (k == 2u) {
        mid = r;
        mid_count = count;
      }
    }
  }
  return Walk(count, error, 32u * k + r, mid, mid_count);
}

/** BF16 bits of element e (global index) with exponent x. */
fn bf16_of(e: u32, x: u32) -> u32 {
  let l = e - params.sm_byte_base;
  let s = (sm[l >> 2u] >> ((l & 3u) * 8u)) & 0xffu;
  return ((s & 0x80u) << 8u) | (x << 7u) | (s & 0x7fu);
}

/** Output cursor of one invocation: the element, its local half-word, the pending lower half. */
struct Cursor {
  e: u32,
  h: u32,
  k: u32,       // elements emitted so far
  pending: u32, // value of the last element when its half is even (lower half waiting for its upper)
  first: u32,   // value of the first element emitted
  last: u32,    // value of the last element emitted
}

/** Emits exponent x as the next element: completes and stores a word when its half is odd. */
fn emit(c: ptr<function, Cursor>, x: u32) {
  let v = bf16_of((*c).e, x);
  if (((*c).h & 1u) == 0u) {
    (*c).pending = v;
  } else if ((*c).k > 0u) {
    let w = (*c).h >> 1u;
    if (w < arrayLength(&out)) { out[w] = (*c).pending | (v << 16u); }
  }
  if ((*c).k == 0u) { (*c).first = v; }
  (*c).last = v;
  (*c).e += 1u;
  (*c).h += 1u;
  (*c).k += 1u;
}

/** Decodes `limit` codes from g, writing the words whose two halves are both this invocation's. */
fn write_codes(w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, g: u32, e0: u32, h0: u32, limit: u32) -> Cursor {
  var q0 = w0;
  var q1 = w1;
  var q2 = w2;
  var q3 = w3;
  var r = g;
  var k = 0u;
  var c = Cursor(e0, h0, 0u, 0u, 0u, 0u);
  loop {
    if (c.k >= limit) { break; }
    let x = bits_at(q0, q1, r);
    let m = multi[x >> (32u - MULTI_BITS)];
    let mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    if (mn != 0u && 32u * k + r + MULTI_BITS <= RANGE_BITS && c.k + mn <= limit) {
      emit(&c, m & 0xffu);
      if (mn >= 2u) { emit(&c, (m >> 8u) & 0xffu); }
      if (mn == 3u) { emit(&c, (m >> 16u) & 0xffu); }
      r += m >> MULTI_BITS_SHIFT;
    } else {
      let d = code_at(x);
      if (d.y == 0u) { break; }
      emit(&c, d.x);
      r += d.y;
    }
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = q2;
      q2 = q3;
      q3 = w4;
      k += 1u;
    }
  }
  return c;
}

/** Writes word w = lo | hi << 16, keeping the halves that lie outside the unit. */
fn store_pair(w: u32, lo: u32, hi: u32, lo_in: bool, hi_in: bool) {
  if (w >= arrayLength(&out)) { return; }
  if (lo_in && hi_in) {
    out[w] = lo | (hi << 16u);
  } else {
    let old = out[w];
    out[w] = select(old & 0xffffu, lo, lo_in) | select(old & 0xffff0000u, hi << 16u, hi_in);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg_size: u32) {
  let b = params.chunk_base + wg.x;
  {
    let v = lut_byte(lid);
    let len = select(lut_byte(params.decode_rows * ROW_BYTES + v), 0u, v >= FIRST_POINTER);
    root[lid] = v | (len << LEN_SHIFT);
  }
  for (var i = lid; i < MULTI_ENTRIES; i += WG) {
    multi[i] = luts[MULTI_BASE + i];
  }
  workgroupBarrier();

  let s = op[b];
  let t = select(params.elements, op[b + 1u], b + 1u < params.op_entries);
  if (t < s || t > params.elements || t - s > MAX_CHUNK_ELEMENTS) {
    if (lid == 0u) { flag(STATUS_BAD_RANGE, b); }
    return;
  }
  let n = params.elements;

  // Pass 1: count the codes starting in this invocation's two windows.
  let g = gap_at(b * WINDOWS_PER_CHUNK + 2u * lid);
  let base = b * WORDS_PER_CHUNK + 4u * lid;
  let w0 = enc_word(base);
  let w1 = enc_word(base + 1u);
  let w2 = enc_word(base + 2u);
  let w3 = enc_word(base + 3u);
  let w4 = enc_word(base + 4u);
  let first_walk = count_codes(w0, w1, w2, w3, w4, g, NO_LIMIT);
  let count = first_walk.count;

  // Exclusive scan of the counts: within subgroups, then over the subgroup totals.
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
  if (first_walk.error != 0u && my_e + count < t) { flag(first_walk.error, b); }
  if (b == 0u && lid == 0u && g != 0u) { flag(STATUS_GAP_MISMATCH, b); } // the stream starts at bit 0
  if (first_walk.error == 0u) {
    let t_win = b * WINDOWS_PER_CHUNK + 2u * lid;
    if (my_e + first_walk.mid_count < n && first_walk.mid != gap_at(t_win + 1u)) { flag(STATUS_GAP_MISMATCH, b); }
    if (my_e + count < n && first_walk.end != 128u + gap_at(t_win + 2u)) { flag(STATUS_GAP_MISMATCH, b); }
  }
  if (t == n && my_e < n && my_e + count >= n) {
    let last = count_codes(w0, w1, w2, w3, w4, g, n - my_e);
    let end_byte = b * CHUNK_BYTES + 16u * lid + (last.end + 7u) / 8u;
    if (last.error == 0u && end_byte != params.stream_bytes) { flag(STATUS_STREAM_LENGTH, b); }
  }
  let is_last = b + 1u == params.total_chunks;
  if ((is_last && total < t - s) || (!is_last && total != t - s)) {
    if (lid == 0u) { flag(STATUS_COUNT_MISMATCH, b); }
  }

  // Pass 2: decode again and write the words this invocation holds both halves of.
  let hs = params.out_half_first + (s - params.first_element);
  let ht = params.out_half_first + (t - params.first_element);
  let mine = select(0u, min(count, t - my_e), my_e < t);
  let my_h = hs + before;
  let c = write_codes(w0, w1, w2, w3, w4, g, my_e, my_h, mine);
  edge_last[lid] = c.last;
  let need_seam = t < n && (ht & 1u) == 1u;
  if (need_seam && lid == 0u) {
    let nb = b + 1u;
    let ng = gap_at(nb * WINDOWS_PER_CHUNK);
    let d = code_at(bits_at(enc_word(nb * WORDS_PER_CHUNK), enc_word(nb * WORDS_PER_CHUNK + 1u), ng));
    if (d.y == 0u) { flag(symbol_error(d.x), nb); }
    seam_value = bf16_of(t, d.x);
  }
  workgroupBarrier();

  // Words split between invocations. The first element's word when its half is odd: its lower half
  // is the previous invocation's last element (or lies outside the unit for element 0; for a chunk's
  // first element it belongs to the previous chunk, which writes it with its seam). The chunk's last
  // element's word when its half is even: the upper half is the next chunk's first element (the seam)
  // or lies outside the unit.
  if (c.k > 0u) {
    if ((my_h & 1u) == 1u) {
      if (my_e > s) {
        store_pair(my_h >> 1u, edge_last[lid - 1u], c.first, true, true);
      } else if (my_e == 0u) {
        store_pair(my_h >> 1u, 0u, c.first, false, true);
      }
    }
    let h_last = my_h + c.k - 1u;
    if ((h_last & 1u) == 0u && my_e + c.k == t) {
      store_pair(h_last >> 1u, c.last, seam_value, true, t < n);
    }
  }
}
