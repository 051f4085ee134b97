// rt-rmsnorm: out[r, :] = weight * (x[r, :] / sqrt(mean(x[r, :]^2) + eps)), in f32, in the order
// llama2.c and transformers use: the scale 1 / sqrt(ss) is applied to x first, then the weight.
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity
//   2 x       storage read   f32 [rows, dim]
//   3 weight  storage read   f32 [dim]
//   4 out     storage rw     f32 [rows, dim] (or [1, dim] with last_row_only)
//
// Workgroup: WG invocations per row; dispatch (rows) or (1) with last_row_only (the row is
// step.n_tokens - 1, written to out row 0). Invocation i sums x^2 over columns i, i + WG, ... in
// that order; the WG partial sums are added by a fixed binary tree, so results repeat bit for bit.

struct Params {
  dim: u32,
  eps: f32,
  last_row_only: u32,
  _pad: u32,
}

struct Step {
  n_tokens: u32,
  pos0: u32,
  kv_capacity: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
/**
 * Columns each invocation loads before using them: a loop of single loads ran one round trip to
 * memory per column (50 us for a 4096-wide row on an H100, 64 invocations).
 */
const UNROLL: u32 = 4u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let dim = params.dim;
  var row = wid.x;
  var out_row = wid.x;
  if (params.last_row_only != 0u) {
    row = step.n_tokens - 1u;
    out_row = 0u;
  }
  let base = row * dim;
  var ss = 0.0;
  for (var j0 = lid; j0 < dim; j0 += UNROLL * WG) {
    var v: array<f32, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      v[u] = x[base + min(j0 + u * WG, dim - 1u)];
    }
    for (var u = 0u; u < UNROLL; u++) {
      if (j0 + u * WG < dim) {
        ss += v[u] * v[u];
      }
    }
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(partial[0] / f32(dim) + params.eps);
  let obase = out_row * dim;
  for (var j0 = lid; j0 < dim; j0 += UNROLL * WG) {
    var v: array<f32, UNROLL>;
    var g: array<f32, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      let j = min(j0 + u * WG, dim - 1u);
      v[u] = x[base + j];
      g[u] = weight[j];
    }
    for (var u = 0u; u < UNROLL; u++) {
      if (j0 + u * WG < dim) {
        out[obase + j0 + u * WG] = g[u] * (inv * v[u]);
      }
    }
  }
}
