// decode-ix: the first indexed kernel (the promoted one is src/gpu/kernels/decode-indexed.wgsl).
// DF11 decoder driven by an output index (df11-format.md §8.4 decodes by chunk; this kernel decodes by
// groups of output elements instead). The index is computed once per unit when it is uploaded (by
// decode.wgsl with INDEX_OUTPUT): entry g is the bit of encoded_exponent where the code of element
// G*g starts. With it, every invocation decodes its own G consecutive elements, start to end, with no
// scan, no workgroup memory and no barrier, and writes them as whole 16-byte vectors: each invocation
// is independent, so the GPU can keep as many in flight as its registers allow, and the work per
// element is only the table walk, the packing and the stores.
//
// Bindings (group 0):
//   0 params  uniform          Params below (one slot per dispatch)
//   1 luts    storage read     the same `luts` binding as decode.wgsl (raw rows, root table, wide table)
//   2 enc     storage read     encoded_exponent window, from word `enc_word_base`
//   3 index   storage read     the unit's index, whole: a u32 base per 16 groups, then a u16 offset per
//                              group (index-pack.wgsl)
//   4 sm      storage read     sign_mantissa window as 16-byte vectors, from vector `sm_vec_base`
//                              (BF16 output only; bound but unread for the exponent plane)
//   5 out     storage rw       output window as 16-byte vectors: vector `out_vec_first` holds the
//                              unit's element G*group_base (8 BF16 values, or 16 exponent bytes)
//   6 status  storage rw       [flags, -, first bad group, -]; flags: STATUS_* below
//
// Preconditions (planned on the host): the output of element 0 starts a 16-byte vector, so every
// group's output is whole vectors except the unit's last, partial one; G is a multiple of 16.
// Checks: a zero-length code or a 5th table level; where a group's walk ends against the next entry
// of the index (or, for the last group, the stream length B). Every loop is bounded (at most G table
// walks per invocation); every store is checked against arrayLength(&out); bytes of the last vector
// past element N keep their old value.

struct Params {
  group_base: u32,      // global group of invocation 0
  group_count: u32,     // groups in this dispatch
  elements: u32,        // N
  decode_rows: u32,     // R; the length row is row R
  enc_word_base: u32,   // global encoded_exponent word at word 0 of `enc`
  sm_vec_base: u32,     // global sign_mantissa vector (16 elements) at vector 0 of `sm`
  out_vec_first: u32,   // vector of `out` that receives element G * group_base
  groups: u32,          // groups in the unit: ceil(N / G)
  stream_bytes: u32,    // B
  row_stride: u32,      // invocations per row of the dispatch grid (workgroups in x * WG)
  delta_base: u32,      // word of `index` holding the offsets of groups 0 and 1
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> luts: array<u32>;
@group(0) @binding(2) var<storage, read> enc: array<u32>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read> sm: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>, 4>;

/** Invocations per workgroup. */
override WG: u32 = 128u;
/** Exponent plane output (one byte per element, sign_mantissa not read), as decode.wgsl's. */
override EXPONENT_PLANE: bool = false;
/** Elements per group (per index entry): a multiple of 16. */
const G: u32 = 64u;
const ROW_BYTES: u32 = 256u;
const FIRST_POINTER: u32 = 240u;
const ROOT_BASE: u32 = 2176u;
const WIDE_BASE: u32 = 2432u;
const WIDE_BITS: u32 = 12u;
const LEN_SHIFT: u32 = 8u;
const STATUS_ZERO_LENGTH: u32 = 1u;
const STATUS_FIFTH_LEVEL: u32 = 2u;
const STATUS_STREAM_LENGTH: u32 = 16u;
const STATUS_INDEX_MISMATCH: u32 = 64u;

fn flag(bits: u32, group: u32) {
  atomicOr(&status[0], bits);
  atomicMin(&status[2], group);
}

/** Start bit of group g's first code: the base of its 16 groups plus its 16-bit offset (index-pack.wgsl). */
fn group_start(g: u32) -> u32 {
  let d = index[params.delta_base + (g >> 1u)] >> ((g & 1u) * 16u);
  return index[g >> 4u] + (d & 0xffffu);
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

/** Two BF16 values (low half first) from two sign_mantissa bytes and two exponent bytes. */
fn pack2(sm2: u32, e2: u32) -> u32 {
  let x = (sm2 & 0xffu) | ((sm2 & 0xff00u) << 8u);
  let y = (e2 & 0xffu) | ((e2 & 0xff00u) << 8u);
  return ((x & 0x00800080u) << 8u) | (x & 0x007f007fu) | (y << 7u);
}

/** Stores vector v at q; `valid` (bytes of the vector that hold elements, from byte 0) < 16 keeps the rest. */
fn store_vec(q: u32, v: vec4<u32>, valid: u32) {
  if (q >= arrayLength(&out)) { return; }
  if (valid >= 16u) {
    out[q] = v;
    return;
  }
  var old = out[q];
  for (var k = 0u; k < 4u; k++) {
    let lo = 4u * k;
    if (valid >= lo + 4u) {
      old[k] = v[k];
    } else if (valid > lo) {
      let keep = 0xffffffffu << (8u * (valid - lo));
      old[k] = (old[k] & keep) | (v[k] & ~keep);
    }
  }
  out[q] = old;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.y * params.row_stride + gid.x;
  if (j >= params.group_count) { return; }
  let g = params.group_base + j;
  let e0 = g * G;
  if (e0 >= params.elements) { return; }
  let n_el = min(G, params.elements - e0);
  let start = group_start(g);
  let last_group = g + 1u >= params.groups;
  let end_expected = select(group_start(min(g + 1u, params.groups - 1u)), 0u, last_group);

  var word = (start >> 5u) - params.enc_word_base;
  var r = start & 31u;
  var q0 = bswap(enc[word]);
  var q1 = bswap(enc[word + 1u]);
  var q2 = bswap(enc[word + 2u]);
  word += 3u;

  // Pending exponents, byte k for the k-th oldest: up to 7 (3 left over + 4 from one lookup).
  var plo = 0u;
  var phi = 0u;
  var np = 0u;
  var done = 0u;        // codes decoded
  var emitted = 0u;     // exponent words (4 elements) emitted
  var error = 0u;
  var acc = vec4<u32>();
  let per_vec = select(2u, 4u, EXPONENT_PLANE);   // exponent words per 16-byte output vector
  var smv = vec4<u32>();
  let out_base = params.out_vec_first + j * (G / (4u * per_vec));
  let words_needed = (n_el + 3u) / 4u;
  // At most G lookups (each takes at least one code) and 2 more emits.
  for (var it = 0u; it < G + 2u; it++) {
    if (emitted >= words_needed || error != 0u) { break; }
    if (done < n_el) {
      let x = bits_at(q0, q1, r);
      let i = WIDE_BASE + 2u * (x >> (32u - WIDE_BITS));
      let info = luts[i + 1u];
      let nc = (info >> 6u) & 7u;
      var take = 1u;
      var bits = 0u;
      var ex = 0u;
      if (nc != 0u) {
        take = min(nc, n_el - done);
        bits = select((info >> (9u + 4u * (take - 1u))) & 15u, info & 63u, take == nc);
        ex = luts[i] & select((1u << (8u * take)) - 1u, 0xffffffffu, take == 4u);
      } else {
        let d = code_at(x);
        if (d.y == 0u) {
          error = select(STATUS_ZERO_LENGTH, STATUS_FIFTH_LEVEL, d.x >= FIRST_POINTER);
          break;
        }
        bits = d.y;
        ex = d.x;
      }
      let sh = 8u * np;   // np <= 3 here
      plo |= ex << sh;
      phi = select(0u, ex >> (32u - sh), np != 0u);
      np += take;
      done += take;
      r += bits;
      if (r >= 32u) {
        r -= 32u;
        q0 = q1;
        q1 = q2;
        q2 = bswap(enc[word]);
        word += 1u;
      }
    }
    // Emit one exponent word when 4 are pending (or the group's last, partial word).
    if (np >= 4u || (done >= n_el && np > 0u)) {
      let w = plo;
      plo = phi;
      phi = 0u;
      np = select(0u, np - 4u, np >= 4u);
      let k = emitted % per_vec;
      if (EXPONENT_PLANE) {
        acc = select(acc, vec4<u32>(w), vec4<bool>(k == 0u, k == 1u, k == 2u, k == 3u));
      } else {
        // Two BF16 words from 4 exponents and their 4 sign_mantissa bytes (one 16-byte sm vector
        // serves 4 exponent words, loaded at the first of them).
        let m = emitted & 3u;
        if (m == 0u) { smv = sm[(e0 >> 4u) - params.sm_vec_base + (emitted >> 2u)]; }
        let s4 = select(select(smv.x, smv.y, m == 1u), select(smv.z, smv.w, m == 3u), m >= 2u);
        let lo = pack2(s4, w);
        let hi = pack2(s4 >> 16u, w >> 16u);
        acc = select(acc, vec4<u32>(lo, hi, lo, hi), vec4<bool>(k == 0u, k == 0u, k == 1u, k == 1u));
      }
      emitted += 1u;
      if (k + 1u == per_vec || emitted == words_needed) {
        let elems_in_vec = 4u * per_vec;
        let first = (emitted - 1u - k) * 4u;   // first element (in the group) of this vector
        let valid_el = min(n_el - first, elems_in_vec);
        let bytes_per = select(2u, 1u, EXPONENT_PLANE);
        store_vec(out_base + first / elems_in_vec, acc, valid_el * bytes_per);
        acc = vec4<u32>();
      }
    }
  }
  if (error != 0u) {
    flag(error, g);
    return;
  }
  let end = 32u * (word - 3u + params.enc_word_base) + r;   // q0 is global word word - 3 + base
  if (last_group) {
    if ((end + 7u) / 8u != params.stream_bytes) { flag(STATUS_STREAM_LENGTH, g); }
  } else if (end != end_expected) {
    flag(STATUS_INDEX_MISMATCH, g);
  }
}
