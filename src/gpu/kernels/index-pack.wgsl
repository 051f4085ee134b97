// Packs a unit's output index from the form decode.wgsl's INDEX_OUTPUT writes (one u32 per group of 64
// elements: the absolute bit where the group's first code starts) into the form the indexed decoder
// reads (decode-indexed.wgsl): a u32 base per 16 groups (the start of their first group), then a u16
// offset from that base per group, two per word. 16 groups hold 1024 codes of at most 32 bits, so the
// offsets (at most 960 codes in) fit 16 bits for any valid unit; a larger one is flagged as a corrupt
// index. 2.25 bytes per 64 weights (a u16 per 64, a u32 per 1024) instead of 4.
//
// One invocation per pair of groups (2p, 2p + 1); the invocation of an even 8th pair writes the base.
struct Params {
  groups: u32,       // groups of the unit
  delta_base: u32,   // word of `index` holding the offsets of groups 0 and 1
  row_stride: u32,   // invocations per row of the dispatch grid
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> full: array<u32>;
@group(0) @binding(2) var<storage, read_write> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> status: array<atomic<u32>, 4>;

const STATUS_INDEX_MISMATCH: u32 = 64u;
const SPAN: u32 = 16u;

@compute @workgroup_size(128)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.y * params.row_stride + gid.x;
  let g = 2u * p;
  if (g >= params.groups) { return; }
  let base = full[g & ~(SPAN - 1u)];
  let d0 = full[g] - base;
  let d1 = select(0u, full[min(g + 1u, params.groups - 1u)] - base, g + 1u < params.groups);
  if (max(d0, d1) > 0xffffu) {
    atomicOr(&status[0], STATUS_INDEX_MISMATCH);
    atomicMin(&status[2], g);
  }
  if (g % SPAN == 0u) { index[g / SPAN] = base; }
  index[params.delta_base + p] = (d0 & 0xffffu) | (d1 << 16u);
}
