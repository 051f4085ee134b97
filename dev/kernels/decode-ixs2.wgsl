// decode-ixs2: the first indexed kernel (decode-ix.wgsl) with its output written through workgroup
// memory: each invocation stores its 16 exponent words in a stage (17-word rows: no bank conflicts),
// and after a barrier the workgroup writes its groups' output as consecutive 16-byte vectors (a warp's
// store covers 512 contiguous bytes instead of 32 vectors 128 bytes apart). The write phase's
// sign_mantissa loads (8-byte vectors, one per output vector) are issued before the barrier, so their
// latency overlaps the wait for the workgroup's slowest decode; ixs, which run.ts makes from this file,
// loads them after it, a 16-byte vector per two output vectors. Bindings, Params and checks as
// decode-ix.wgsl.

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
@group(0) @binding(4) var<storage, read> sm: array<vec2<u32>>;
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

const ROW: u32 = 17u;
var<workgroup> stage: array<u32, 2176>;   // WG (128) x ROW

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
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = gid.y * params.row_stride + gid.x;
  let j0 = j - lid;
  let g = params.group_base + j;
  let e0 = g * G;
  let live = j < params.group_count && e0 < params.elements;
  let n_el = select(0u, min(G, params.elements - e0), live);
  let start = group_start(min(g, params.groups - 1u));
  let last_group = g + 1u >= params.groups;
  let end_expected = select(group_start(min(g + 1u, params.groups - 1u)), 0u, last_group);

  var word = (start >> 5u) - params.enc_word_base;
  var r = start & 31u;
  var q0 = bswap(enc[word]);
  var q1 = bswap(enc[word + 1u]);
  var q2 = bswap(enc[word + 2u]);
  word += 3u;

  var plo = 0u;
  var phi = 0u;
  var np = 0u;
  var done = 0u;
  var emitted = 0u;
  var error = 0u;
  let words_needed = (n_el + 3u) / 4u;
  for (var it = 0u; it < n_el + 2u; it++) {
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
      let sh = 8u * np;
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
    if (np >= 4u || (done >= n_el && np > 0u)) {
      stage[lid * ROW + emitted] = plo;
      plo = phi;
      phi = 0u;
      np = select(0u, np - 4u, np >= 4u);
      emitted += 1u;
    }
  }
  if (live) {
    if (error != 0u) {
      flag(error, g);
    } else {
      let end = 32u * (word - 3u + params.enc_word_base) + r;
      if (last_group) {
        if ((end + 7u) / 8u != params.stream_bytes) { flag(STATUS_STREAM_LENGTH, g); }
      } else if (end != end_expected) {
        flag(STATUS_INDEX_MISMATCH, g);
      }
    }
  }
  // The workgroup's output: groups j0 .. j0 + WG - 1 of the dispatch, as consecutive vectors.
  let first_el = (params.group_base + j0) * G;
  let wg_live = first_el < params.elements && j0 < params.group_count;
  let el_end = select(first_el, min(min(params.elements, (params.group_base + params.group_count) * G), first_el + WG * G), wg_live);
  // BF16: the sign_mantissa (8 bytes) of output vector v = lid + WG k, loaded now.
  var smv: array<vec2<u32>, 8>;
  let smq = (first_el >> 3u) - 2u * params.sm_vec_base;
  let vecs = (el_end - first_el + 7u) / 8u;
  if (!EXPONENT_PLANE) {
    for (var k = 0u; k < 8u; k++) {
      let v = lid + WG * k;
      smv[k] = select(vec2<u32>(), sm[smq + min(v, max(vecs, 1u) - 1u)], v < vecs);
    }
  }
  workgroupBarrier();
  if (!wg_live) { return; }
  let out0 = params.out_vec_first + j0 * (G / select(8u, 16u, EXPONENT_PLANE));
  if (EXPONENT_PLANE) {
    let pvecs = (el_end - first_el + 15u) / 16u;
    for (var v = lid; v < pvecs; v += WG) {
      let t = v >> 2u;            // group in the workgroup (4 vectors each)
      let s0 = t * ROW + (v & 3u) * 4u;
      let val = vec4<u32>(stage[s0], stage[s0 + 1u], stage[s0 + 2u], stage[s0 + 3u]);
      store_vec(out0 + v, val, min(el_end - (first_el + 16u * v), 16u));
    }
  } else {
    for (var k = 0u; k < 8u; k++) {
      let v = lid + WG * k;
      if (v >= vecs) { break; }
      let t = v >> 3u;            // group in the workgroup (8 vectors each)
      let s0 = t * ROW + (v & 7u) * 2u;
      let m = smv[k];
      let e0w = stage[s0];
      let e1w = stage[s0 + 1u];
      let val = vec4<u32>(pack2(m.x, e0w), pack2(m.x >> 16u, e0w >> 16u), pack2(m.y, e1w), pack2(m.y >> 16u, e1w >> 16u));
      store_vec(out0 + v, val, 2u * min(el_end - (first_el + 8u * v), 8u));
    }
  }
}
