// rt-argmax: greedy decoding on the GPU. result[0] = the index of the largest logit (the lowest
// such index on ties, as llama2.c's first-max scan); result[1] = its f32 bits. NaNs never win; if
// every logit is NaN (or n = 0), result[0] = 0xffffffff (the host reports it).
//
// Bindings (group 0):
//   0 params  uniform        Params: n (logits)
//   1 logits  storage read   f32 [n]
//   2 result  storage rw     u32 [2]
//
// Workgroup: one workgroup of WG invocations; dispatch (1). Invocation i scans i, i + WG, ... in
// increasing order keeping the first strict maximum; the WG candidates are merged by a fixed binary
// tree preferring the larger value, then the lower index. Deterministic.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32, 2>;

override WG: u32 = 256u;

const NO_INDEX: u32 = 0xffffffffu;
/** Logits each invocation loads at once (one round trip each instead of per value). */
const UNROLL: u32 = 8u;

var<workgroup> best_value: array<f32, WG>;
var<workgroup> best_index: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var bv = 0.0;
  var bi = NO_INDEX;
  let n = params.n;
  // UNROLL values loaded before they are compared (in index order, as a plain loop would)
  for (var i0 = lid; i0 < n; i0 += UNROLL * WG) {
    var vs: array<f32, UNROLL>;
    for (var u = 0u; u < UNROLL; u++) {
      vs[u] = logits[min(i0 + u * WG, n - 1u)];
    }
    for (var u = 0u; u < UNROLL; u++) {
      let i = i0 + u * WG;
      let v = vs[u];
      // v == v is false only for NaN
      if (i < n && ((bi == NO_INDEX && v == v) || v > bv)) {
        bv = v;
        bi = i;
      }
    }
  }
  best_value[lid] = bv;
  best_index[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_value[lid + s];
      let oi = best_index[lid + s];
      let cv = best_value[lid];
      let ci = best_index[lid];
      let better = ov > cv || (ov == cv && oi < ci);
      if (oi != NO_INDEX && (ci == NO_INDEX || better)) {
        best_value[lid] = ov;
        best_index[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    result[0] = best_index[0];
    result[1] = bitcast<u32>(best_value[0]);
  }
}
