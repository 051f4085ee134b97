// rt-attention: causal multi-head attention with grouped-query heads over one layer's KV cache, in
// f32. Query token t (position p = step.pos0 + t) of head h attends to cache rows 0..p of kv head
// h / (heads / kv_heads):
//   score[j] = dot(q, k[j]) / score_div;  a = softmax(score);  out = sum_j a[j] * v[j]
// computed as llama2.c does: scores, max, exp and sum, normalise, then the weighted sum of values.
//
// Bindings (group 0):
//   0 params   uniform        Params below
//   1 step     uniform        Step: n_tokens, pos0, kv_capacity
//   2 q        storage read   f32 [n_tokens, heads * head_dim]
//   3 k_cache  storage read   f32 [capacity, kv_heads * head_dim]
//   4 v_cache  storage read   f32 [capacity, kv_heads * head_dim]
//   5 att      storage rw     f32 [n_tokens * heads, kv_capacity] scratch for the scores
//   6 out      storage rw     f32 [n_tokens, heads * head_dim]
//
// Workgroup: WG invocations per (head, token); dispatch (heads, n_tokens). Invocation i scores keys
// i, i + WG, ... (each dot product summed over head_dim in order); max and sum are reduced by a fixed
// binary tree; output element d (invocation d mod WG) sums over j = 0..p in order. Deterministic.
// Invariant: the host checks pos0 + n_tokens <= kv_capacity.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  score_div: f32,
}

struct Step {
  n_tokens: u32,
  pos0: u32,
  kv_capacity: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> att: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

/**
 * Elements loaded together in the dot products and the weighted sum of values (the loads of a loop
 * step are independent, so they overlap their memory latency; the sums keep their order). The
 * weighted sum runs over every cached position one step at a time, so this sets how attention's
 * cost grows with the context: at 4, a Llama-3.1-8B token at position ~520 spent ~120 us per layer
 * here on an H100.
 */
const UNROLL: u32 = 16u;

/** The lowest finite f32 (WGSL has no infinite values in constant expressions). */
const LOWEST_F32: f32 = -0x1.fffffep+127f;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let hd = params.head_dim;
  let n = step.pos0 + t + 1u;
  let kv_dim = params.kv_heads * hd;
  let koff = (h / (params.heads / params.kv_heads)) * hd;
  let qbase = (t * params.heads + h) * hd;
  let abase = (t * params.heads + h) * step.kv_capacity;

  var m = LOWEST_F32;
  for (var j = lid; j < n; j += WG) {
    let kbase = j * kv_dim + koff;
    var s = 0.0;
    // UNROLL loads issued together, then added in order (the same sums as one element at a time)
    var i = 0u;
    for (; i + UNROLL <= hd; i += UNROLL) {
      var kv: array<f32, UNROLL>;
      var qv: array<f32, UNROLL>;
      for (var u = 0u; u < UNROLL; u++) {
        kv[u] = k_cache[kbase + i + u];
        qv[u] = q[qbase + i + u];
      }
      for (var u = 0u; u < UNROLL; u++) {
        s += qv[u] * kv[u];
      }
    }
    for (; i < hd; i++) {
      s += q[qbase + i] * k_cache[kbase + i];
    }
    s = s / params.score_div;
    att[abase + j] = s;
    m = max(m, s);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();

  var sum = 0.0;
  for (var j = lid; j < n; j += WG) {
    let e = exp(att[abase + j] - mx);
    att[abase + j] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let total = red[0];
  for (var j = lid; j < n; j += WG) {
    att[abase + j] = att[abase + j] / total;
  }
  // Every invocation reads every score below: make the writes of the others visible.
  storageBarrier();
  workgroupBarrier();

  let vbase = koff;
  for (var d = lid; d < hd; d += WG) {
    var acc = 0.0;
    var j = 0u;
    for (; j + UNROLL <= n; j += UNROLL) {
      var vv: array<f32, UNROLL>;
      var av: array<f32, UNROLL>;
      for (var u = 0u; u < UNROLL; u++) {
        vv[u] = v_cache[(j + u) * kv_dim + vbase + d];
        av[u] = att[abase + j + u];
      }
      for (var u = 0u; u < UNROLL; u++) {
        acc += av[u] * vv[u];
      }
    }
    for (; j < n; j++) {
      acc += att[abase + j] * v_cache[j * kv_dim + vbase + d];
    }
    out[qbase + d] = acc;
  }
}
