// decode-v2: v1 with (a) the decode loop flattened into one loop per pass (no nested loops or
// breaks across them), the window rotating through registers; (b) a combined root table in workgroup
// memory (exponent | length << 8 per column), so a code of <= 8 bits costs one lookup; longer codes
// walk the raw LUT rows; (c) a subgroup scan of the counts (one barrier) instead of Hillis-Steele.
// Requires the 'subgroups' feature and subgroups laid out linearly in local_invocation_index
// (checked on the host). Bindings, workgroup shape and invariants: see src/gpu/kernels/decode-portable.wgsl (v1).
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

/** Stage capacity in u32 words (4 exponents each); set from the workgroup storage limit. */
override STAGE_WORDS: u32 = 2560u;

const WG: u32 = 256u;
const LUT_WORDS: u32 = 1152u;          // 18 rows x 256 bytes / 4
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

var<workgroup> lut: array<u32, LUT_WORDS>;
var<workgroup> root: array<u32, 256>;
var<workgroup> sg_sums: array<u32, 64>;
var<workgroup> stage: array<atomic<u32>, STAGE_WORDS>;

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

fn lut_byte(i: u32) -> u32 {
  return (lut[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
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
fn sm_bytes4(e: i32) -> u32 {
  let l = e - i32(params.sm_byte_base);
  let q = l >> 2u;
  let sh = u32(l & 3) * 8u;
  var a = 0u;
  var b = 0u;
  if (q >= 0) { a = sm[u32(q)]; }
  if (q + 1 >= 0) { b = sm[u32(q + 1)]; }
  return select((a >> sh) | (b << (32u - sh)), a, sh == 0u);
}

/** Two BF16 values from the low 2 bytes of sm2 (sign/mantissa) and e2 (exponents), low element first. */
fn pack2(sm2: u32, e2: u32) -> u32 {
  let x = (sm2 & 0xffu) | ((sm2 & 0xff00u) << 8u);
  let y = (e2 & 0xffu) | ((e2 & 0xff00u) << 8u);
  return ((x & 0x00800080u) << 8u) | (x & 0x007f007fu) | (y << 7u);
}

/** Writes output word w (lower element e_lo) if the chunk owns it; halves outside [0, N) are kept. */
fn store_word(w: u32, v: u32, e_lo: i32, w_start: u32, w_end: u32) {
  if (w < w_start || w >= w_end || w >= arrayLength(&out)) { return; }
  let n = i32(params.elements);
  let lo_in = e_lo >= 0 && e_lo < n;
  let hi_in = e_lo + 1 >= 0 && e_lo + 1 < n;
  if (lo_in && hi_in) {
    out[w] = v;
  } else {
    let old = out[w];
    out[w] = select(old & 0xffffu, v & 0xffffu, lo_in) | select(old & 0xffff0000u, v & 0xffff0000u, hi_in);
  }
}

const LEN_SHIFT: u32 = 8u;

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
    let d = code_at(bits_at(q0, q1, r));
    if (d.y == 0u) {
      error = symbol_error(d.x);
      break;
    }
    r += d.y;
    count += 1u;
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

/** Decodes the first `limit` codes from g and ORs the exponents at halves h0.. inside [lo, lo + 4*STAGE_WORDS). */
fn stage_codes(w0: u32, w1: u32, w2: u32, w3: u32, w4: u32, g: u32, h0: u32, limit: u32, lo: u32) {
  var q0 = w0;
  var q1 = w1;
  var q2 = w2;
  var q3 = w3;
  var r = g;
  let hi = lo + STAGE_WORDS * 4u;
  let stop = min(h0 + limit, hi);
  var h = h0;
  loop {
    if (h >= stop) { break; }
    let d = code_at(bits_at(q0, q1, r));
    if (d.y == 0u) { break; }
    if (h >= lo) {
      atomicOr(&stage[(h - lo) >> 2u], d.x << ((h & 3u) * 8u));
    }
    r += d.y;
    h += 1u;
    if (r >= 32u) {
      r -= 32u;
      q0 = q1;
      q1 = q2;
      q2 = q3;
      q3 = w4;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg_size: u32) {
  let b = params.chunk_base + wg.x;
  let lut_words = (params.decode_rows + 1u) * (ROW_BYTES / 4u);
  for (var i = lid; i < lut_words; i += WG) {
    lut[i] = luts[i];
  }
  workgroupBarrier();
  {
    let v = lut_byte(lid);
    let len = select(lut_byte(params.decode_rows * ROW_BYTES + v), 0u, v >= FIRST_POINTER);
    root[lid] = v | (len << LEN_SHIFT);
  }
  workgroupBarrier();

  let s = op[b];
  let t = select(params.elements, op[b + 1u], b + 1u < params.op_entries);
  if (t < s || t > params.elements || t - s > MAX_CHUNK_ELEMENTS) {
    if (lid == 0u) { flag(STATUS_BAD_RANGE, b); }
    return;
  }

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
  // Gaps must agree with the walk wherever the code there is an element: window 2j+1's first code, and
  // the next invocation's (or next chunk's) first code.
  let n = params.elements;
  if (b == 0u && lid == 0u && g != 0u) { flag(STATUS_GAP_MISMATCH, b); } // the stream starts at bit 0
  if (first_walk.error == 0u) {
    let t_win = b * WINDOWS_PER_CHUNK + 2u * lid;
    if (my_e + first_walk.mid_count < n && first_walk.mid != gap_at(t_win + 1u)) { flag(STATUS_GAP_MISMATCH, b); }
    if (my_e + count < n && first_walk.end != 128u + gap_at(t_win + 2u)) { flag(STATUS_GAP_MISMATCH, b); }
  }
  // The last element's code must end in the stream's last byte (§5: ceil(S/8) = B).
  if (t == n && my_e < n && my_e + count >= n) {
    let last = count_codes(w0, w1, w2, w3, w4, g, n - my_e);
    let end_byte = b * CHUNK_BYTES + 16u * lid + (last.end + 7u) / 8u;
    if (last.error == 0u && end_byte != params.stream_bytes) { flag(STATUS_STREAM_LENGTH, b); }
  }
  let is_last = b + 1u == params.total_chunks;
  if ((is_last && total < t - s) || (!is_last && total != t - s)) {
    if (lid == 0u) { flag(STATUS_COUNT_MISMATCH, b); }
  }

  // Output words owned by this chunk: those whose lower element lies in [s, t) (plus the first word
  // of the unit when element 0 sits in an upper half).
  let hs = params.out_half_first + (s - params.first_element);
  let ht = params.out_half_first + (t - params.first_element);
  let w_start = select((hs + 1u) >> 1u, hs >> 1u, s == 0u);
  let w_end = (ht + 1u) >> 1u;
  if (w_end <= w_start) { return; }
  let hb = (2u * w_start) & ~3u;
  let cap = STAGE_WORDS * 4u;
  let rounds = (2u * w_end - hb + cap - 1u) / cap;

  // This invocation's elements: [my_e, my_e + mine), halves from my_h.
  let mine = select(0u, min(count, t - my_e), my_e < t);
  let my_h = hs + before;

  // The next chunk's first element shares the last word when its half is odd.
  var seam_e = 0u;
  let need_seam = t < params.elements && (ht & 1u) == 1u;
  if (need_seam && lid == 0u) {
    let nb = b + 1u;
    let ng = gap_at(nb * WINDOWS_PER_CHUNK);
    let d = decode_symbol(bits_at(enc_word(nb * WORDS_PER_CHUNK), enc_word(nb * WORDS_PER_CHUNK + 1u), ng));
    if (d.y == 0u) { flag(symbol_error(d.x), nb); }
    seam_e = d.x;
  }

  for (var round = 0u; round < rounds; round++) {
    let lo = hb + round * cap;
    for (var i = lid; i < STAGE_WORDS; i += WG) {
      atomicStore(&stage[i], 0u);
    }
    workgroupBarrier();
    // Pass 2: decode again, staging the exponents that fall in this round.
    if (mine > 0u && my_h < lo + cap && my_h + mine > lo) {
      stage_codes(w0, w1, w2, w3, w4, g, my_h, mine, lo);
    }
    if (need_seam && lid == 0u && ht >= lo && ht < lo + cap) {
      atomicOr(&stage[(ht - lo) >> 2u], seam_e << ((ht & 3u) * 8u));
    }
    workgroupBarrier();
    // Write: 4 halves (2 output words) per stage word.
    for (var i = lid; i < STAGE_WORDS; i += WG) {
      let h4 = lo + 4u * i;
      if (h4 >= 2u * w_end) { break; }
      let e4 = i32(params.first_element) + i32(h4) - i32(params.out_half_first);
      let ex = atomicLoad(&stage[i]);
      let sm4 = sm_bytes4(e4);
      store_word(h4 >> 1u, pack2(sm4, ex), e4, w_start, w_end);
      store_word((h4 >> 1u) + 1u, pack2(sm4 >> 16u, ex >> 16u), e4 + 2, w_start, w_end);
    }
    workgroupBarrier();
  }
}
