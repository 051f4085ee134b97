// rt-attention: causal multi-head attention with grouped-query heads over one layer's KV cache, in
// f32, first pass. Query token t (position p = step.pos0 + t) of head h attends to cache rows 0..p of
// kv head h / (heads / kv_heads). The rows are cut into segments of SEGMENT positions, and one
// workgroup handles one segment of one head and token, so a long context spreads over many
// workgroups. For its rows j it computes
//   score[j] = dot(q, k[j]) / score_div,  m = max score,  e[j] = exp(score[j] - m),
//   l = sum e[j],  o = sum e[j] * v[j]  (j in order)
// and writes (m, l, o) to `part`; rt-attention-combine merges the segments into
// softmax(score) . v = (sum_s exp(m_s - M) o_s) / (sum_s exp(m_s - M) l_s), M = max_s m_s.
//
// Bindings (group 0):
//   0 params   uniform        Params below
//   1 step     uniform        Step: n_tokens, pos0, kv_capacity
//   2 q        storage read   f32 [n_tokens, heads * head_dim]
//   3 k_cache  storage read   f32 [capacity, kv_heads * head_dim]
//   4 v_cache  storage read   f32 [capacity, kv_heads * head_dim]
//   5 part     storage rw     f32 [n_tokens * heads, segments, head_dim + 2]: (m, l, o[head_dim])
//
// Workgroup: WG invocations per (head, segment, token); dispatch (heads, ceil((pos0 + n_tokens) /
// SEGMENT), n_tokens). Invocation i scores rows i, i + WG, ... of the segment (each dot product summed
// over head_dim in order); max and sum are reduced by a fixed binary tree; output element d
// (invocation d mod WG) sums over the segment's rows in order. Deterministic, and a token's result
// depends only on its position, so a prompt gives the same bits as its tokens one at a time.
// A segment past the token's position writes m = LOWEST_F32, l = 0.
// Invariant: the host checks pos0 + n_tokens <= kv_capacity and sizes `part` for the capacity.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  score_div: f32,
  /** Segments per (token, head) in `part`: ceil(kv_capacity / SEGMENT). */
  segments: u32,
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
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

override WG: u32 = 64u;

/** Positions per segment (the host's ATTENTION_SEGMENT). */
const SEGMENT: u32 = 256u;

/**
 * Elements loaded together in the dot products and the weighted sum of values (the loads of a loop
 * step are independent, so they overlap their memory latency; the sums keep their order).
 */
const UNROLL: u32 = 16u;

/** The lowest finite f32 (WGSL has no infinite values in constant expressions). */
const LOWEST_F32: f32 = -0x1.fffffep+127f;

var<workgroup> red: array<f32, WG>;
/** The segment's scores, then their exponentials. */
var<workgroup> e: array<f32, SEGMENT>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let seg = wid.y;
  let t = wid.z;
  let hd = params.head_dim;
  let n = step.pos0 + t + 1u;
  let j0 = seg * SEGMENT;
  let pbase = ((t * params.heads + h) * params.segments + seg) * (hd + 2u);
  if (j0 >= n) {
    if (lid == 0u) {
      part[pbase] = LOWEST_F32;
      part[pbase + 1u] = 0.0;
    }
    return;
  }
  let count = min(SEGMENT, n - j0);
  let kv_dim = params.kv_heads * hd;
  let koff = (h / (params.heads / params.kv_heads)) * hd;
  let qbase = (t * params.heads + h) * hd;

  var m = LOWEST_F32;
  for (var jj = lid; jj < count; jj += WG) {
    let kbase = (j0 + jj) * kv_dim + koff;
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
    e[jj] = s;
    m = max(m, s);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var r = WG / 2u; r > 0u; r >>= 1u) {
    if (lid < r) {
      red[lid] = max(red[lid], red[lid + r]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();

  var sum = 0.0;
  for (var jj = lid; jj < count; jj += WG) {
    let x = exp(e[jj] - mx);
    e[jj] = x;
    sum += x;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var r = WG / 2u; r > 0u; r >>= 1u) {
    if (lid < r) {
      red[lid] += red[lid + r];
    }
    workgroupBarrier();
  }
  // (the last barrier also made every e[] visible)

  for (var d = lid; d < hd; d += WG) {
    var acc = 0.0;
    var jj = 0u;
    for (; jj + UNROLL <= count; jj += UNROLL) {
      var vv: array<f32, UNROLL>;
      for (var u = 0u; u < UNROLL; u++) {
        vv[u] = v_cache[(j0 + jj + u) * kv_dim + koff + d];
      }
      for (var u = 0u; u < UNROLL; u++) {
        acc += e[jj + u] * vv[u];
      }
    }
    for (; jj < count; jj++) {
      acc += e[jj] * v_cache[(j0 + jj) * kv_dim + koff + d];
    }
    part[pbase + 2u + d] = acc;
  }
  if (lid == 0u) {
    part[pbase] = mx;
    part[pbase + 1u] = red[0];
  }
}
