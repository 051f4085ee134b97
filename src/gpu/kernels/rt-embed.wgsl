// rt-embed: token embedding lookup. Row tokens[t] of a BF16 [vocab, hidden] table becomes the f32
// activations x[t, :] (BF16 widens to f32 exactly).
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity
//   2 table   storage read   BF16 pairs (u32); element e of the table is at element w_offset + e
//   3 tokens  storage read   u32 [n_tokens] token ids (checked < vocab on the host)
//   4 x       storage rw     f32 [n_tokens, hidden]
//   5 sm      storage read   with PLANES: sign_mantissa bytes (u32 words); then `table` is the
//                            exponent plane, one byte per element, and element e has its
//                            sign_mantissa byte at element e + sm_delta of `sm` (as rt-matvec's planes)
//
// Workgroup: WG invocations along x. Dispatch (ceil(hidden / WG), n_tokens); one element per
// invocation. Invariant: writes only x[t, c] for t < n_tokens, c < hidden.

struct Params {
  hidden: u32,
  vocab: u32,
  w_offset: u32,
  sm_delta: u32,
}

struct Step {
  n_tokens: u32,
  pos0: u32,
  kv_capacity: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read> sm: array<u32>;

override WG: u32 = 64u;
/** The table is an exponent plane beside sign_mantissa (pipeline constant). */
override PLANES: bool = false;

fn byte_at(word: u32, e: u32) -> u32 {
  return (word >> ((e & 3u) * 8u)) & 0xffu;
}

/** BF16 element e (little-endian: even elements are the low half of their word) widened to f32. */
fn bf16_at(e: u32) -> f32 {
  if (PLANES) {
    let m = e + params.sm_delta;
    let s = byte_at(sm[m >> 2u], m);
    let bits = ((s & 0x80u) << 8u) | (byte_at(table[e >> 2u], e) << 7u) | (s & 0x7fu);
    return bitcast<f32>(bits << 16u);
  }
  let word = table[e >> 1u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (e & 1u) == 1u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let t = gid.y;
  if (c >= params.hidden || t >= step.n_tokens) {
    return;
  }
  let token = min(tokens[t], params.vocab - 1u);
  x[t * params.hidden + c] = bf16_at(params.w_offset + token * params.hidden + c);
}
