// DF11 chunk decoder (df11-format.md §8.4, §13.4), the fast kernel (variant v3 of dev/kernels; the
// variants tried and their numbers are in dev/kernels/README.md). One workgroup per 4096-byte chunk of
// encoded_exponent; BF16 output packed two per u32. Requires 'subgroups', with subgroups laid out
// linearly in local_invocation_index (checked on the host, subgroup-layout.wgsl); otherwise the host
// uses decode-portable.wgsl (same bindings, semantics and checks).
//
// Bindings (group 0); every tensor is its own u32 buffer, zero-padded on the host; "window" buffers are
// bound from a 256-byte-aligned offset, and `params` says which global index their word/byte 0 is.
//   0 params  uniform          Params below (one slot per dispatch)
//   1 luts    storage read     luts (R+1) x 256 bytes zero-padded to 18 rows, then the host-built
//                              multi-symbol table (1024 u32 at word 1152; src/gpu/multi-symbol-table.ts)
//                              and combined root table (256 u32 at word 2176; unused here)
//   2 enc     storage read     encoded_exponent window: chunks [chunk_base, chunk_base+chunk_count] + 16 B
//   3 gaps    storage read     gaps window: entries of those chunks + the next chunk's first entry
//   4 op      storage read     output_positions, whole (K or K+1 entries)
//   5 sm      storage read     sign_mantissa window: the elements of those chunks +- a few bytes
//   6 out     storage rw       output window: BF16 pairs (u32) covering those elements
//   7 status  storage rw       [flags, first bad chunk, -, -]; flags: STATUS_* below
//
// Workgroup: 256 invocations; invocation j owns windows 2j and 2j+1 of its chunk, i.e. the codes that
// start in chunk bits [128j + gap(2j), 128j + 128). Workgroup memory: LUT rows, a combined root table
// (exponent | length << 8: one lookup for codes <= 8 bits), the multi-symbol table (one lookup on the
// next 10 bits gives up to 3 exponents), subgroup sums, and a u8-per-element exponent stage.
// Work per invocation: read 5 stream words; pass 1 counts its codes; a subgroup scan (one barrier)
// gives its first element; pass 2 decodes again and ORs the exponents into the stage; then every
// invocation builds 2 output words per 4 staged exponents from one (unaligned) 4-byte sign_mantissa
// read (coalesced). Chunks with more elements than the stage holds take several rounds.
// Multi-symbol lookups are used only where all their codes lie inside the current window, range and
// round; elsewhere one code at a time.
//
// Invariants: chunk b produces elements [op[b], op[b+1]) (op[K] = N when only K entries are stored),
// clamped to N; the output word holding elements (2w - H, 2w - H + 1) (H = half-word of element 0) is
// written by the chunk holding its lower element, so a chunk whose last element has an even half also
// writes the first element of the next chunk (decoded from that chunk's first gap); halves outside the
// unit are kept (read-modify-write; one writer per word). Checks (flags in `status`): a zero-length code
// or a 5th LUT level among the chunk's elements; per-chunk code counts against op (exact, or at least
// op[K]-op[K-1] in the last chunk); gaps against the code boundaries; ceil(S/8) = B at the last
// element. Every loop is bounded (a code has >= 1 bit: at most 128 codes per invocation; at most 33
// rounds as t - s <= 32768 is checked), and every store is checked against arrayLength(&out).
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
var<workgroup> multi: array<u32, MULTI_ENTRIES>;
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
const MULTI_BASE: u32 = 1152u;      // word offset of the multi-symbol table in `luts`
const MULTI_ENTRIES: u32 = 1024u;
const MULTI_BITS: u32 = 10u;
const MULTI_COUNT_SHIFT: u32 = 24u;
const MULTI_BITS_SHIFT: u32 = 26u;
const WINDOW_BITS: u32 = 64u;
const RANGE_BITS: u32 = 128u;

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
  var k = 0u;
  loop {
    if (h >= stop) { break; }
    let x = bits_at(q0, q1, r);
    let m = multi[x >> (32u - MULTI_BITS)];
    let mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    if (mn != 0u && 32u * k + r + MULTI_BITS <= RANGE_BITS && h >= lo && h + mn <= stop) {
      let v = m & ((1u << (8u * mn)) - 1u);
      let i = h - lo;
      let sh = (i & 3u) * 8u;
      atomicOr(&stage[i >> 2u], v << sh);
      if (sh + 8u * mn > 32u) {
        atomicOr(&stage[(i >> 2u) + 1u], v >> (32u - sh));
      }
      r += m >> MULTI_BITS_SHIFT;
      h += mn;
    } else {
      let d = code_at(x);
      if (d.y == 0u) { break; }
      if (h >= lo) {
        atomicOr(&stage[(h - lo) >> 2u], d.x << ((h & 3u) * 8u));
      }
      r += d.y;
      h += 1u;
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
