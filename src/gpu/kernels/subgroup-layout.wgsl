// Subgroup layout check: decode.wgsl's scan assumes that each subgroup of a WG-invocation workgroup is
// a run of consecutive local_invocation_index values in lane order (lid = base + lane). Each invocation
// writes 1 if that holds for it, else 0; the host requires all ones.
//
// Bindings (group 0): 0 result storage rw array<u32>, WG entries.
// Workgroup: WG invocations (override, 256 or 512), one workgroup.
enable subgroups;

@group(0) @binding(0) var<storage, read_write> result: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) size: u32) {
  let base = subgroupBroadcastFirst(lid - lane);
  let linear = lid - lane == base && lane < size && (lid % size) == lane;
  result[lid] = select(0u, 1u, linear);
}
