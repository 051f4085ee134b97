// rt-swiglu: the gated MLP activation, in place: gate[i] = silu(gate[i]) * up[i], with
// silu(g) = g * (1 / (1 + exp(-g))), in llama2.c's operation order.
//
// Bindings (group 0):
//   0 params  uniform        Params below
//   1 step    uniform        Step: n_tokens, pos0, kv_capacity
//   2 gate    storage rw     f32 [n_tokens, n]
//   3 up      storage read   f32 [n_tokens, n]
//
// Workgroup: WG invocations; dispatch (ceil(n / WG), n_tokens); one element per invocation.

struct Params {
  n: u32,
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
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let t = gid.y;
  if (i >= params.n || t >= step.n_tokens) {
    return;
  }
  let at = t * params.n + i;
  var g = gate[at];
  g = g * (1.0 / (1.0 + exp(-g)));
  gate[at] = g * up[at];
}
