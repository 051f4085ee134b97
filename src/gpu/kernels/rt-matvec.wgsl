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
//
// Workgroup: WG invocations per output element; dispatch (grid_x, ceil(rows / grid_x), n_tokens),
// row = wid.y * grid_x + wid.x (rows may exceed the 65535 workgroups of one dimension). Invocation i
// accumulates the column pairs (2i, 2i+1), (2i + 2WG, 2i + 2WG + 1), ... in that order; the WG
// partial sums are added by a fixed binary tree. No atomics: results repeat bit for bit and do not
// depend on w_offset's alignment.

struct Params {
  rows: u32,
  cols: u32,
  w_offset: u32,
  flags: u32,
  grid_x: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

fn lo(word: u32) -> f32 {
  return bitcast<f32>(word << 16u);
}

fn hi(word: u32) -> f32 {
  return bitcast<f32>(word & 0xffff0000u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * params.grid_x + wid.x;
  let t = wid.z;
  if (row >= params.rows) {
    return;
  }
  let cols = params.cols;
  let base = params.w_offset + row * cols;
  let xbase = t * cols;
  var acc = 0.0;
  for (var c = 2u * lid; c < cols; c += 2u * WG) {
    let e = base + c;
    let w0 = w[e >> 1u];
    var a: f32;
    var b = 0.0;
    let has_b = c + 1u < cols;
    if ((e & 1u) == 0u) {
      a = lo(w0);
      b = hi(w0);
    } else {
      a = hi(w0);
      if (has_b) {
        b = lo(w[(e >> 1u) + 1u]);
      }
    }
    acc += a * x[xbase + c];
    if (has_b) {
      acc += b * x[xbase + c + 1u];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var v = partial[0];
    if ((params.flags & FLAG_BIAS) != 0u) {
      v = v + bias[row];
    }
    let at = t * params.rows + row;
    if ((params.flags & FLAG_ACCUMULATE) != 0u) {
      y[at] = y[at] + v;
    } else {
      y[at] = v;
    }
  }
}
