// Subgroup layout check: decode.wgsl's scan assumes that each subgroup of a 256-invocation workgroup is
// a run of consecutive local_invocation_index values in lane order (lid = base + lane). Each invocation
// writes 1 if that holds for it, else 0; the host requires all ones.
//
// Bindings (group 0): 0 result storage rw array<u32>, 256 entries.
// Workgroup: 256 invocations, one workgroup.
enable subgroups;

@group(0) @binding(0) var<storage, read_write> result: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32) {
  let base = subgroupBroadcastFirst(lid - lane);
  let linear = lid - lane == base && lane < size && (lid % size) == lane;
  result[lid] = select(0u, 1u, linear);
}
