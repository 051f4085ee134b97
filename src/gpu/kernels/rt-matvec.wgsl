// rt-matvec: y[t, r] (+)= sum_c W[r, c] * x[t, c] (+ bias[r]) for a BF16 weight matrix W [rows, cols]
// stored row-major, two elements per u32, starting at element w_offset of the bound buffer (any
// alignment: a piece of a decoded DF11 unit may start at an odd element). f32 accumulation.
// Prefill applies the same per-token product to every token, so a token's result is the same
// whether it is computed alone or in a batch.
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity
//   2 w       storage read   BF16 pairs (u32)
//   3 x       storage read   f32 [n_tokens, cols]
//   4 y       storage rw     f32 [n_tokens, rows]
//   5 bias    storage read   f32 [rows] (read only when flags has FLAG_BIAS)
//             (with FLAG_SWIGLU, y holds the gate product of the same rows, and the result is the
//             gated MLP activation y = silu(y) * (W x), silu(g) = g * (1 / (1 + exp(-g))) in
//             llama2.c's operation order: the up product and the activation in one dispatch)
//   6 w4      storage read   the same range as w, as 16-byte words (read only with FLAG_VEC4)
//   7 x4      storage read   the same buffer as x, as 16-byte words (read only with FLAG_VEC4)
//   8 y2      storage rw     f32 [n_tokens, seg2 - seg1]: rows [seg1, seg2) of the result
//   9 y3      storage rw     f32 [n_tokens, rows - seg2]: rows [seg2, rows)
//  10 e2      storage read   with PLANES: the exponent plane, one byte per element, 8 per vec2
//  11 s2      storage read   with PLANES: sign_mantissa, one byte per element; element e of e2 has its
//                            sign_mantissa byte at element e + sm_delta of s2 (wrapping u32 sum)
//
// Planes (pipeline constant PLANES; a DF11 unit decoded to its exponent plane, beside the unit's own
// sign_mantissa): W's BF16 value e is (sm & 0x80) << 8 | exponent << 7 | (sm & 0x7f). The words a chunk
// is made of are the same bits as the BF16 path loads, and the sums below are the same code, so a
// product over planes equals the product over the decoded BF16 matrix bit for bit. `w` and `w4` are
// not read then; w_offset and w_offset_b are elements of e2.
//
// Segments: one dispatch can compute several matrices that lie back to back in w with the same
// columns (the q, k and v projections) into their own buffers: result row r goes to y when r < seg1,
// to y2 when r < seg2, else to y3 (seg1 = seg2 = rows: all to y). bias covers all rows.
//
// Pairs (pipeline constant PAIR, the gated MLP): a second matrix W' of the same shape starts at
// element w_offset_b of w, and y[t, r] = silu(W x)[r] * (W' x)[r] (FLAG_SWIGLU's activation): each
// workgroup computes row r of both, each with the order of sums below, so the result is bit for bit
// that of the two products in separate dispatches.
//
// Workgroup: WG invocations for ROWS consecutive rows (the same x chunk serves every row, so x is
// read once per ROWS rows). Entry point main (one token per workgroup): dispatch (grid_x,
// ceil(ceil(rows / ROWS) / grid_x), n_tokens), first row (wid.y * grid_x + wid.x) * ROWS (rows may
// exceed the 65535 workgroups of one dimension), token wid.z. Entry point main_batch (prompts):
// TOKENS consecutive tokens per workgroup (pipeline constant), so a weight chunk loaded once serves
// TOKENS tokens; dispatch (ceil(n_tokens / TOKENS), grid_x, ceil(ceil(rows / ROWS) / grid_x)), first
// token wid.x * TOKENS, first row (wid.z * grid_x + wid.y) * ROWS: the token groups of a row group are
// neighbours in dispatch order, so the later reads of its weights come from cache. (main_batch is a
// separate entry point because folding the token loop into main slowed single-token products ~2x.)
//
// Order of the sums (fixed, so results repeat bit for bit, and the same for any ROWS or TOKENS): a row is cut
// into chunks of 8 columns (the last one padded with zeros); invocation i adds the dot products of
// chunks i, i + WG, i + 2 WG, ... to its sum in that order, and the WG sums are added by a fixed
// binary tree. A chunk's dot product is computed by the same code whichever way its bytes were loaded.
//
// Loads: with FLAG_VEC4 (the host sets it when w_offset and cols are multiples of 8, so that every
// row starts on a 16-byte boundary; with PLANES also sm_delta) a chunk is one 16-byte load of W (with
// PLANES, one 8-byte load from each plane) and two of x, and neighbouring
// invocations read neighbouring 16 bytes (coalesced). UNROLL chunks of every row are loaded before
// any is added, in straight-line code: the flag is tested once per workgroup, not per load (with a
// branch around each load the compiler kept about one load in flight, and a 14336 x 4096 product ran
// at 1.3 TB/s on an H100 instead of 3.0). Otherwise the chunks are gathered from u32 words. The
// loaded bits are the same either way, so the result does not depend on w_offset's alignment.
//
// Napkin math (batch 1, decode): a 14336 x 4096 BF16 matrix is 117 MB; at the 3.35 TB/s of an H100
// SXM that is 35 us if every byte is read once at full bandwidth. Each invocation keeps ROWS x UNROLL
// 16-byte loads of W in flight (~4 K of them per SM at full occupancy, 64 KB, above the ~25 KB that
// bandwidth x latency asks of each SM); x, 16 KB per token, is read from cache by every workgroup.

struct Params {
  rows: u32,
  cols: u32,
  w_offset: u32,
  flags: u32,
  grid_x: u32,
  w_offset_b: u32,
  seg1: u32,
  seg2: u32,
  sm_delta: u32,
}

struct Step {
  n_tokens: u32,
  pos0: u32,
  kv_capacity: u32,
  _pad: u32,
}

/** y += W x instead of y = W x (residual connections). */
const FLAG_ACCUMULATE: u32 = 1u;
/** Add bias[r]. */
const FLAG_BIAS: u32 = 2u;
/** w_offset % 8 == 0 and cols % 8 == 0: read chunks through w4 and x4. */
const FLAG_VEC4: u32 = 4u;
/** y = silu(y) * (W x): y holds the gate product (see the bindings). */
const FLAG_SWIGLU: u32 = 8u;
/** Columns per chunk: 8 BF16 values, one 16-byte word. */
const CHUNK: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> w4: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> y2: array<f32>;
@group(0) @binding(9) var<storage, read_write> y3: array<f32>;
@group(0) @binding(10) var<storage, read> e2: array<vec2<u32>>;
@group(0) @binding(11) var<storage, read> s2: array<vec2<u32>>;

override WG: u32 = 256u;
/** Rows per workgroup, 1 to MAX_ROWS. */
override ROWS: u32 = 2u;
const MAX_ROWS: u32 = 4u;
/** W is read from an exponent plane and sign_mantissa (pipeline constant; see Planes above). */
override PLANES: bool = false;
/** Rows of W' beside those of W (pipeline constant; see Pairs above). */
override PAIR: bool = false;
/** Product rows per workgroup: ROWS of W, and as many of W' in a pair. */
const MAX_SLOTS: u32 = 2u * MAX_ROWS;
/** Tokens per workgroup, 1 to MAX_TOKENS (pipeline constant). */
override TOKENS: u32 = 1u;
const MAX_TOKENS: u32 = 4u;
/** Sums per invocation: slot s, token tt at s * MAX_TOKENS + tt. */
const MAX_SUMS: u32 = MAX_SLOTS * MAX_TOKENS;
/** Chunks per row each invocation loads before adding them (16-byte path). */
const UNROLL: u32 = 2u;

var<workgroup> partial: array<f32, WG * SLOTS * TOKENS>;

/** 8 BF16 weights (4 words, low half first) and the 8 matching x values. */
struct Chunk {
  w: vec4<u32>,
  xa: vec4<f32>,
  xb: vec4<f32>,
}

fn lo(word: u32) -> f32 {
  return bitcast<f32>(word << 16u);
}

fn hi(word: u32) -> f32 {
  return bitcast<f32>(word & 0xffff0000u);
}

fn chunk_dot(c: Chunk) -> f32 {
  let wa = vec4<f32>(lo(c.w.x), hi(c.w.x), lo(c.w.y), hi(c.w.y));
  let wb = vec4<f32>(lo(c.w.z), hi(c.w.z), lo(c.w.w), hi(c.w.w));
  return dot(wa, c.xa) + dot(wb, c.xb);
}

/** Two BF16 values (low half first) from two sign_mantissa bytes and two exponent bytes (low bytes first). */
fn pack2(sm2: u32, e2: u32) -> u32 {
  let x = (sm2 & 0xffu) | ((sm2 & 0xff00u) << 8u);
  let y = (e2 & 0xffu) | ((e2 & 0xff00u) << 8u);
  return ((x & 0x00800080u) << 8u) | (x & 0x007f007fu) | (y << 7u);
}

/** Byte e of a byte plane viewed as vec2<u32> words. */
fn plane_byte(word: vec2<u32>, e: u32) -> u32 {
  return (word[(e >> 2u) & 1u] >> ((e & 3u) * 8u)) & 0xffu;
}

/** Chunk c (elements 8c .. 8c + 7 of e2) as 4 words of BF16 pairs, from the planes. */
fn plane_chunk(c: u32) -> vec4<u32> {
  let e = e2[c];
  let m = s2[u32(i32(c) + (bitcast<i32>(params.sm_delta) >> 3u))];
  return vec4<u32>(pack2(m.x, e.x), pack2(m.x >> 16u, e.x >> 16u), pack2(m.y, e.y), pack2(m.y >> 16u, e.y >> 16u));
}

/** The 16 bits of column `col` of the row whose column 0 is element `e_row` of w; 0 past the row. */
fn gather_half(e_row: u32, col: u32) -> u32 {
  if (col >= params.cols) {
    return 0u;
  }
  let e = e_row + col;
  if (PLANES) {
    let m = e + params.sm_delta;
    let sm = plane_byte(s2[m >> 3u], m);
    return ((sm & 0x80u) << 8u) | (plane_byte(e2[e >> 3u], e) << 7u) | (sm & 0x7fu);
  }
  let word = w[e >> 1u];
  return select(word & 0xffffu, word >> 16u, (e & 1u) == 1u);
}

/** 16-byte path: chunk c of the bound weights (c counts 8 elements from the start of w or e2). */
fn w_chunk(c: u32) -> vec4<u32> {
  if (PLANES) {
    return plane_chunk(c);
  }
  return w4[c];
}

/** x[xbase + col], or 0 past the row. */
fn gather_x(xbase: u32, col: u32) -> f32 {
  return select(0.0, x[xbase + min(col, params.cols - 1u)], col < params.cols);
}

/** The x values of chunk j (of the token starting at xbase). */
fn load_x(xbase: u32, j: u32) -> Chunk {
  var c: Chunk;
  if ((params.flags & FLAG_VEC4) != 0u) {
    c.xa = x4[(xbase >> 2u) + 2u * j];
    c.xb = x4[(xbase >> 2u) + 2u * j + 1u];
  } else {
    let c0 = j * CHUNK;
    for (var k = 0u; k < 4u; k++) {
      c.xa[k] = gather_x(xbase, c0 + k);
      c.xb[k] = gather_x(xbase, c0 + 4u + k);
    }
  }
  return c;
}

/** The weights of chunk j of the row starting at element e_row of w. */
fn load_w(e_row: u32, j: u32) -> vec4<u32> {
  if ((params.flags & FLAG_VEC4) != 0u) {
    return w_chunk((e_row >> 3u) + j);
  }
  var v: vec4<u32>;
  let c0 = j * CHUNK;
  for (var k = 0u; k < 4u; k++) {
    v[k] = gather_half(e_row, c0 + 2u * k) | (gather_half(e_row, c0 + 2u * k + 1u) << 16u);
  }
  return v;
}

/** Product rows per workgroup: ROWS, or 2 ROWS in a pair (slots ROWS.. are the rows of W'). */
override SLOTS: u32 = select(ROWS, 2u * ROWS, PAIR);

/** Element of w where slot s's row starts (clamped to the workgroup's last row). */
fn slot_row(row0: u32, nrows: u32, s: u32) -> u32 {
  let first = select(params.w_offset, params.w_offset_b, s >= ROWS);
  return first + (row0 + min(s % ROWS, nrows - 1u)) * params.cols;
}

/**
 * The per-invocation sums of the 16-byte path: UNROLL chunks of x and of each slot's row are loaded
 * before any is added (straight-line loads, so they are all in flight at once).
 */
fn sums_vec4(row0: u32, nrows: u32, xbase: u32, chunks: u32, lid: u32) -> array<f32, MAX_SLOTS> {
  var acc = array<f32, MAX_SLOTS>();
  let x0 = xbase >> 2u;
  for (var base = 0u; base < chunks; base += UNROLL * WG) {
    var xa: array<vec4<f32>, UNROLL>;
    var xb: array<vec4<f32>, UNROLL>;
    var ws: array<vec4<u32>, MAX_SLOTS * UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      let j = min(base + u * WG + lid, chunks - 1u);
      xa[u] = x4[x0 + 2u * j];
      xb[u] = x4[x0 + 2u * j + 1u];
    }
    for (var s = 0u; s < MAX_SLOTS; s++) {
      if (s < SLOTS) {
        let w0 = slot_row(row0, nrows, s) >> 3u;
        for (var u = 0u; u < UNROLL; u++) {
          ws[s * UNROLL + u] = w_chunk(w0 + min(base + u * WG + lid, chunks - 1u));
        }
      }
    }
    for (var s = 0u; s < MAX_SLOTS; s++) {
      if (s < SLOTS) {
        for (var u = 0u; u < UNROLL; u++) {
          if (base + u * WG + lid < chunks) {
            acc[s] += chunk_dot(Chunk(ws[s * UNROLL + u], xa[u], xb[u]));
          }
        }
      }
    }
  }
  return acc;
}

/** The per-invocation sums from gathered words (any w_offset), chunk by chunk in the same order. */
fn sums_gathered(row0: u32, nrows: u32, xbase: u32, chunks: u32, lid: u32) -> array<f32, MAX_SLOTS> {
  var acc = array<f32, MAX_SLOTS>();
  for (var j = lid; j < chunks; j += WG) {
    var c = load_x(xbase, j);
    for (var s = 0u; s < MAX_SLOTS; s++) {
      if (s < SLOTS && s % ROWS < nrows) {
        c.w = load_w(slot_row(row0, nrows, s), j);
        acc[s] += chunk_dot(c);
      }
    }
  }
  return acc;
}

/** sums_vec4 for TOKENS tokens: each slot's UNROLL chunks are loaded once and used for every token. */
fn sums_vec4_batch(row0: u32, nrows: u32, t0: u32, chunks: u32, lid: u32) -> array<f32, MAX_SUMS> {
  var acc = array<f32, MAX_SUMS>();
  let cols = params.cols;
  let last_token = step.n_tokens - 1u;
  for (var base = 0u; base < chunks; base += UNROLL * WG) {
    var ws: array<vec4<u32>, MAX_SLOTS * UNROLL>;
    for (var s = 0u; s < MAX_SLOTS; s++) {
      if (s < SLOTS) {
        let w0 = slot_row(row0, nrows, s) >> 3u;
        for (var u = 0u; u < UNROLL; u++) {
          ws[s * UNROLL + u] = w_chunk(w0 + min(base + u * WG + lid, chunks - 1u));
        }
      }
    }
    for (var tt = 0u; tt < MAX_TOKENS; tt++) {
      if (tt < TOKENS) {
        let x0 = (min(t0 + tt, last_token) * cols) >> 2u;
        var xa: array<vec4<f32>, UNROLL>;
        var xb: array<vec4<f32>, UNROLL>;
        for (var u = 0u; u < UNROLL; u++) {
          let j = min(base + u * WG + lid, chunks - 1u);
          xa[u] = x4[x0 + 2u * j];
          xb[u] = x4[x0 + 2u * j + 1u];
        }
        for (var s = 0u; s < MAX_SLOTS; s++) {
          if (s < SLOTS) {
            for (var u = 0u; u < UNROLL; u++) {
              if (base + u * WG + lid < chunks) {
                acc[s * MAX_TOKENS + tt] += chunk_dot(Chunk(ws[s * UNROLL + u], xa[u], xb[u]));
              }
            }
          }
        }
      }
    }
  }
  return acc;
}

/** sums_gathered for TOKENS tokens. */
fn sums_gathered_batch(row0: u32, nrows: u32, t0: u32, chunks: u32, lid: u32) -> array<f32, MAX_SUMS> {
  var acc = array<f32, MAX_SUMS>();
  let last_token = step.n_tokens - 1u;
  for (var j = lid; j < chunks; j += WG) {
    var wv: array<vec4<u32>, MAX_SLOTS>;
    for (var s = 0u; s < MAX_SLOTS; s++) {
      if (s < SLOTS && s % ROWS < nrows) {
        wv[s] = load_w(slot_row(row0, nrows, s), j);
      }
    }
    for (var tt = 0u; tt < MAX_TOKENS; tt++) {
      if (tt < TOKENS) {
        let c = load_x(min(t0 + tt, last_token) * params.cols, j);
        for (var s = 0u; s < MAX_SLOTS; s++) {
          if (s < SLOTS && s % ROWS < nrows) {
            acc[s * MAX_TOKENS + tt] += chunk_dot(Chunk(wv[s], c.xa, c.xb));
          }
        }
      }
    }
  }
  return acc;
}

fn silu(g: f32) -> f32 {
  return g * (1.0 / (1.0 + exp(-g)));
}

/** The new value of an output element that held `old` (FLAG_SWIGLU, FLAG_ACCUMULATE). */
fn combine(old: f32, v: f32) -> f32 {
  if ((params.flags & FLAG_SWIGLU) != 0u) {
    return silu(old) * v;
  }
  if ((params.flags & FLAG_ACCUMULATE) != 0u) {
    return old + v;
  }
  return v;
}

/** Writes the result of row `row` for token t (segments, pairs, flags). */
fn store(row: u32, t: u32, v0: f32, pair_value: f32) {
  var v = v0;
  if ((params.flags & FLAG_BIAS) != 0u) {
    v = v + bias[row];
  }
  if (PAIR) {
    y[t * params.rows + row] = silu(v) * pair_value;
  } else if (row < params.seg1) {
    let at = t * params.seg1 + row;
    y[at] = combine(y[at], v);
  } else if (row < params.seg2) {
    let at = t * (params.seg2 - params.seg1) + row - params.seg1;
    y2[at] = combine(y2[at], v);
  } else {
    let at = t * (params.rows - params.seg2) + row - params.seg2;
    y3[at] = combine(y3[at], v);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = (wid.y * params.grid_x + wid.x) * ROWS;
  let t = wid.z;
  if (row0 >= params.rows) {
    return;
  }
  let cols = params.cols;
  let xbase = t * cols;
  let chunks = (cols + CHUNK - 1u) / CHUNK;
  let nrows = min(ROWS, params.rows - row0);
  // one branch for the whole row, outside the loops, so that the loads of the 16-byte path are not
  // each behind a branch of their own (that kept one load in flight at a time)
  var acc: array<f32, MAX_SLOTS>;
  if ((params.flags & FLAG_VEC4) != 0u) {
    acc = sums_vec4(row0, nrows, xbase, chunks, lid);
  } else {
    acc = sums_gathered(row0, nrows, xbase, chunks, lid);
  }
  for (var s = 0u; s < MAX_SLOTS; s++) {
    if (s < SLOTS) {
      partial[s * WG + lid] = acc[s];
    }
  }
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      for (var s = 0u; s < MAX_SLOTS; s++) {
        if (s < SLOTS) {
          partial[s * WG + lid] += partial[s * WG + lid + h];
        }
      }
    }
    workgroupBarrier();
  }
  if (lid < nrows) {
    var up = 0.0;
    if (PAIR) {
      up = partial[(ROWS + lid) * WG];
    }
    store(row0 + lid, t, partial[lid * WG], up);
  }
}

/** main for TOKENS tokens per workgroup (the prompt pipelines), dispatched with token groups in x. */
@compute @workgroup_size(WG)
fn main_batch(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = (wid.z * params.grid_x + wid.y) * ROWS;
  let t0 = wid.x * TOKENS;
  if (row0 >= params.rows || t0 >= step.n_tokens) {
    return;
  }
  let cols = params.cols;
  let chunks = (cols + CHUNK - 1u) / CHUNK;
  let nrows = min(ROWS, params.rows - row0);
  // one branch for the whole workgroup, outside the loops, so that the loads of the 16-byte path are
  // not each behind a branch of their own (that kept one load in flight at a time)
  var acc: array<f32, MAX_SUMS>;
  if ((params.flags & FLAG_VEC4) != 0u) {
    acc = sums_vec4_batch(row0, nrows, t0, chunks, lid);
  } else {
    acc = sums_gathered_batch(row0, nrows, t0, chunks, lid);
  }
  for (var s = 0u; s < MAX_SLOTS; s++) {
    for (var tt = 0u; tt < MAX_TOKENS; tt++) {
      if (s < SLOTS && tt < TOKENS) {
        partial[(s * TOKENS + tt) * WG + lid] = acc[s * MAX_TOKENS + tt];
      }
    }
  }
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      for (var i = 0u; i < SLOTS * TOKENS; i++) {
        partial[i * WG + lid] += partial[i * WG + lid + h];
      }
    }
    workgroupBarrier();
  }
  for (var i = lid; i < ROWS * TOKENS; i += WG) {
    let r = i % ROWS;
    let tt = i / ROWS;
    if (r < nrows && t0 + tt < step.n_tokens) {
      var up = 0.0;
      if (PAIR) {
        up = partial[((ROWS + r) * TOKENS + tt) * WG];
      }
      store(row0 + r, t0 + tt, partial[(r * TOKENS + tt) * WG], up);
    }
  }
}
