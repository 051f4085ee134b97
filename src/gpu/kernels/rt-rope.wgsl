// rt-rope: rotary position embedding, rotate-half layout (transformers' apply_rotary_pos_emb), of
// q [n_tokens, heads, head_dim] (in place) and k [n_tokens, kv_heads, head_dim] (into the KV cache),
// and the append of v to the cache: one dispatch for what follows the q/k/v products. Token t sits at
// position step.pos0 + t. For i < head_dim / 2 and pair (x0, x1) = (v[i], v[i + half]):
//   v[i] = x0 * cos - x1 * sin,  v[i + half] = x1 * cos + x0 * sin
// with cos/sin of angle pos * inv_freq[i] taken from a host-computed table. The rotated keys and the
// values are written to cache rows step.pos0 + t (f32, [capacity, kv_heads * head_dim] each); k
// itself is left as it was.
//
// Bindings (group 0):
//   0 params   uniform        Params below
//   1 step     uniform        Step: n_tokens, pos0, kv_capacity
//   2 table    storage read   f32 [positions, half, 2]: (cos, sin) pairs
//   3 q        storage rw     f32 [n_tokens, heads * head_dim]
//   4 k        storage read   f32 [n_tokens, kv_heads * head_dim]
//   5 v        storage read   f32 [n_tokens, kv_heads * head_dim]
//   6 k_cache  storage rw     f32 [capacity, kv_heads * head_dim]
//   7 v_cache  storage rw     f32 [capacity, kv_heads * head_dim]
//
// Workgroup: WG invocations; dispatch (ceil((heads + kv_heads) * half / WG), n_tokens). Invocation
// (g, t) handles one pair of one head of token t: heads [0, heads) are q, the rest k (and the same
// pair of v).
// Invariant: the host checks pos0 + n_tokens <= positions and <= the cache's capacity.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
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
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
@group(0) @binding(4) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let half = params.head_dim / 2u;
  let t = gid.y;
  let head = gid.x / half;
  let i = gid.x % half;
  if (head >= params.heads + params.kv_heads || t >= step.n_tokens) {
    return;
  }
  let pos = step.pos0 + t;
  let at = 2u * (pos * half + i);
  let c = table[at];
  let s = table[at + 1u];
  if (head < params.heads) {
    let base = (t * params.heads + head) * params.head_dim + i;
    let x0 = q[base];
    let x1 = q[base + half];
    q[base] = x0 * c - x1 * s;
    q[base + half] = x1 * c + x0 * s;
  } else {
    let kv_dim = params.kv_heads * params.head_dim;
    let col = (head - params.heads) * params.head_dim + i;
    let src = t * kv_dim + col;
    let dst = pos * kv_dim + col;
    let x0 = k[src];
    let x1 = k[src + half];
    k_cache[dst] = x0 * c - x1 * s;
    k_cache[dst + half] = x1 * c + x0 * s;
    v_cache[dst] = v[src];
    v_cache[dst + half] = v[src + half];
  }
}
