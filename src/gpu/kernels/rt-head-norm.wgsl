// rt-head-norm: RMSNorm of each head vector, in place (Qwen3's q_norm / k_norm before RoPE):
// v[r, :] = weight * (v[r, :] / sqrt(mean(v[r, :]^2) + eps)) for rows r = (token, head).
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity (unused; bound for a uniform layout)
//   2 weight  storage read   f32 [dim]
//   3 v       storage rw     f32 [rows, dim]
//
// Workgroup: WG invocations per row; dispatch (rows). Each invocation reads and later rewrites only
// its own columns i, i + WG, ...; the partial sums are added by a fixed binary tree (deterministic).

struct Params {
  dim: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
}

struct Step {
  n_tokens: u32,
  pos0: u32,
  kv_capacity: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;

override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let dim = params.dim;
  let base = wid.x * dim;
  var ss = 0.0;
  for (var j = lid; j < dim; j += WG) {
    let x = v[base + j];
    ss += x * x;
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
  for (var j = lid; j < dim; j += WG) {
    v[base + j] = weight[j] * (inv * v[base + j]);
  }
}
