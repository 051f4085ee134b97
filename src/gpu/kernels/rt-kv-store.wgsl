// rt-kv-store: appends the keys and values of n_tokens tokens to one layer's KV cache, at cache rows
// step.pos0 .. step.pos0 + n_tokens - 1 (f32, [capacity, kv_dim] each).
//
// Bindings (group 0):
//   0 params   uniform        Params below
//   1 step     uniform        Step: n_tokens, pos0, kv_capacity
//   2 k        storage read   f32 [n_tokens, kv_dim]
//   3 v        storage read   f32 [n_tokens, kv_dim]
//   4 k_cache  storage rw     f32 [capacity, kv_dim]
//   5 v_cache  storage rw     f32 [capacity, kv_dim]
//
// Workgroup: WG invocations; dispatch (ceil(kv_dim / WG), n_tokens); one element of k and of v per
// invocation. Invariant: the host checks pos0 + n_tokens <= capacity.

struct Params {
  kv_dim: u32,
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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_cache: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let t = gid.y;
  if (c >= params.kv_dim || t >= step.n_tokens) {
    return;
  }
  let src = t * params.kv_dim + c;
  let dst = (step.pos0 + t) * params.kv_dim + c;
  k_cache[dst] = k[src];
  v_cache[dst] = v[src];
}
