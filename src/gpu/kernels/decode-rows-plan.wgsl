// decode-rows-plan: plans the decode of only the chunks that hold one row of a unit's matrix, the
// row being chosen on the GPU (the token id of an embedding lookup, which greedy decoding feeds back
// without reading it). Writes the decode kernel's Params for chunks [s, c1] and the indirect dispatch
// (c1 - s + 1 workgroups), where c0 and c1 are the chunks holding the row's first and last element
// and s = c0 - 1 (c0 when 0): the chunk before c0 writes c0's first element when they share an output
// word. Every other Params field is that of the unit's whole decode in one dispatch.
//
// Bindings (group 0):
//   0 base      uniform        the whole decode's Params (decode.wgsl), 12 words
//   1 req       uniform        [row_elements (cols), first_element of row 0, -, -]
//   2 ids       storage read   u32 [..]: the row is ids[0] (clamped to the last row)
//   3 op        storage read   output_positions (K or K+1 entries)
//   4 plan      storage rw     u32 [64]: the row decode's Params (a 256-byte uniform slot)
//   5 indirect  storage rw     u32 [3]: workgroup counts for dispatchWorkgroupsIndirect
//
// One invocation; a binary search over output_positions (op[c] is chunk c's first element).

@group(0) @binding(0) var<uniform> base: array<vec4<u32>, 3>;
@group(0) @binding(1) var<uniform> req: vec4<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> op: array<u32>;
@group(0) @binding(4) var<storage, read_write> plan: array<u32, 64>;
@group(0) @binding(5) var<storage, read_write> indirect: array<u32, 3>;

fn base_word(i: u32) -> u32 {
  return base[i / 4u][i % 4u];
}

/** The last chunk whose first element is <= e (chunks 0 .. k - 1). */
fn chunk_of(e: u32, k: u32) -> u32 {
  var lo = 0u;
  var hi = k - 1u;
  // at most 32 steps: the range halves each time
  for (var step = 0u; step < 32u && lo < hi; step++) {
    let mid = (lo + hi + 1u) / 2u;
    if (op[mid] <= e) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return lo;
}

@compute @workgroup_size(1)
fn main() {
  let k = base_word(2u);       // total_chunks
  let n = base_word(3u);       // elements
  let cols = req.x;
  for (var i = 0u; i < 12u; i++) {
    plan[i] = base_word(i);
  }
  if (k == 0u || cols == 0u || req.y + cols > n) {
    indirect[0] = 0u;
    indirect[1] = 1u;
    indirect[2] = 1u;
    return;
  }
  let rows = (n - req.y) / cols;
  let row = min(ids[0], rows - 1u);
  let e0 = req.y + row * cols;
  let c0 = chunk_of(e0, k);
  let c1 = chunk_of(e0 + cols - 1u, k);
  let s = select(c0 - 1u, 0u, c0 == 0u);
  plan[0] = s;                                          // chunk_base
  plan[1] = c1 - s + 1u;                                // chunk_count
  plan[6] = op[s];                                      // first_element
  plan[10] = base_word(10u) + op[s] - base_word(6u);    // out_half_first
  indirect[0] = c1 - s + 1u;
  indirect[1] = 1u;
  indirect[2] = 1u;
}
