// A plain copy (vec4<u32> per invocation, grid-stride): the memory-bandwidth baseline of the decode
// benchmarks. Copying X bytes reads X and writes X.
//
// Bindings (group 0): 0 src storage read array<vec4<u32>>; 1 dst storage rw array<vec4<u32>>.
// Workgroup: 256 invocations; any number of workgroups.
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = arrayLength(&dst);
  let stride = groups.x * 256u;
  for (var i = gid.x; i < n; i += stride) {
    dst[i] = src[i];
  }
}
