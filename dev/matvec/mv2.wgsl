// mv2: rt-matvec's bindings and results layout, more loads in flight per invocation and a choice of
// reductions. Variant of src/gpu/kernels/rt-matvec.wgsl for dev/matvec/run.ts (16-byte path only:
// w_offset and cols multiples of 8).
//
// Invocation i of a workgroup adds chunks i, i + WG, i + 2 WG, ... of each of its ROWS rows, in that
// order; UNROLL chunks per row are loaded before any is added.

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

const FLAG_ACCUMULATE: u32 = 1u;
const FLAG_BIAS: u32 = 2u;
const CHUNK: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> w4: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;

override WG: u32 = 256u;
override ROWS: u32 = 2u;
override UNROLL: u32 = 2u;
const MAX_ROWS: u32 = 8u;
const MAX_U: u32 = 4u;

var<workgroup> partial: array<f32, WG * MAX_ROWS>;

fn lo(word: u32) -> f32 {
  return bitcast<f32>(word << 16u);
}

fn hi(word: u32) -> f32 {
  return bitcast<f32>(word & 0xffff0000u);
}

fn dot8(wv: vec4<u32>, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  let wa = vec4<f32>(lo(wv.x), hi(wv.x), lo(wv.y), hi(wv.y));
  let wb = vec4<f32>(lo(wv.z), hi(wv.z), lo(wv.w), hi(wv.w));
  return dot(wa, xa) + dot(wb, xb);
}

//REDUCE_DECL

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32 /*SG_ARGS*/) {
  let row0 = (wid.y * params.grid_x + wid.x) * ROWS;
  let t = wid.z;
  if (row0 >= params.rows) {
    return;
  }
  let cols = params.cols;
  let chunks = cols / CHUNK;
  let xbase4 = (t * cols) >> 2u;
  let nrows = min(ROWS, params.rows - row0);
  var acc = array<f32, MAX_ROWS>();
  for (var base = 0u; base < chunks; base += WG * UNROLL) {
    var xa: array<vec4<f32>, MAX_U>;
    var xb: array<vec4<f32>, MAX_U>;
    var ws: array<vec4<u32>, 32>;
    for (var u = 0u; u < MAX_U; u++) {
      if (u < UNROLL) {
        let j = min(base + u * WG + lid, chunks - 1u);
        xa[u] = x4[xbase4 + 2u * j];
        xb[u] = x4[xbase4 + 2u * j + 1u];
      }
    }
    for (var r = 0u; r < MAX_ROWS; r++) {
      if (r < ROWS) {
        let row4 = (params.w_offset + (row0 + min(r, nrows - 1u)) * cols) >> 3u;
        for (var u = 0u; u < MAX_U; u++) {
          if (u < UNROLL) {
            let j = min(base + u * WG + lid, chunks - 1u);
            ws[r * MAX_U + u] = w4[row4 + j];
          }
        }
      }
    }
    for (var r = 0u; r < MAX_ROWS; r++) {
      if (r < ROWS) {
        for (var u = 0u; u < MAX_U; u++) {
          if (u < UNROLL && base + u * WG + lid < chunks) {
            acc[r] += dot8(ws[r * MAX_U + u], xa[u], xb[u]);
          }
        }
      }
    }
  }
  //REDUCE_BODY
  if (lid < nrows) {
    let row = row0 + lid;
    var v = partial[lid * WG];
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
