// rt-attention-combine: the second pass of rt-attention. For query token t of head h (position
// p = step.pos0 + t) it merges the (m, l, o) of segments 0 .. ceil((p + 1) / SEGMENT) - 1, in order:
//   M = max m_s,  L = sum_s l_s exp(m_s - M),  out[d] = (sum_s o_s[d] exp(m_s - M)) / L
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity
//   2 part    storage read   f32 [n_tokens * heads, segments, head_dim + 2] (rt-attention)
//   3 out     storage rw     f32 [n_tokens, heads * head_dim]
//
// Workgroup: WG invocations per (head, token); dispatch (heads, n_tokens); invocation i writes
// elements i, i + WG, ... Every invocation computes M and L itself, in the same order.

struct Params {
  heads: u32,
  head_dim: u32,
  segments: u32,
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
@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

/** Positions per segment (as rt-attention). */
const SEGMENT: u32 = 256u;

/** The lowest finite f32 (WGSL has no infinite values in constant expressions). */
const LOWEST_F32: f32 = -0x1.fffffep+127f;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let hd = params.head_dim;
  let stride = hd + 2u;
  let used = (step.pos0 + t + SEGMENT) / SEGMENT;
  let base = (t * params.heads + h) * params.segments * stride;
  var mx = LOWEST_F32;
  for (var s = 0u; s < used; s++) {
    mx = max(mx, part[base + s * stride]);
  }
  var total = 0.0;
  for (var s = 0u; s < used; s++) {
    total += part[base + s * stride + 1u] * exp(part[base + s * stride] - mx);
  }
  for (var d = lid; d < hd; d += WG) {
    var acc = 0.0;
    for (var s = 0u; s < used; s++) {
      acc += part[base + s * stride + 2u + d] * exp(part[base + s * stride] - mx);
    }
    out[(t * params.heads + h) * hd + d] = acc / total;
  }
}
