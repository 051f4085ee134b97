// Host-side planning of the indexed decode: dispatches of whole groups that cover the unit once, every
// window aligned, inside its buffer and under the binding limit, and each encoded_exponent window
// holding the chunks where its groups' codes start (plus the look-ahead). Pure arithmetic, no GPU.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { outputEndBytes, paddedEncBytes, paddedSmBytes, type PlanGeometry } from '../../src/gpu/decode-plan.js';
import { INDEX_GROUP, indexBytes, indexDeltaBase, indexedDecodable, indexGroups, planIndexedDispatches } from '../../src/gpu/indexed-plan.js';

/** A unit of `chunks` chunks holding `perChunk` elements each (one chunk empty), as output_positions. */
function geometry(chunks: number, perChunk: number): PlanGeometry {
  const op = new Uint32Array(chunks + 1);
  for (let c = 1; c <= chunks; c++) op[c] = op[c - 1]! + (c === 7 ? 0 : perChunk + (c % 3));
  return { elements: op[chunks]!, streamBytes: 4096 * chunks - 100, chunks, decodeRows: 5, opEntries: chunks + 1, op };
}

const LIMITS = { maxStorageBufferBindingSize: 128 * 1024 * 1024, minStorageBufferOffsetAlignment: 256, maxComputeWorkgroupsPerDimension: 65535 };

it('covers every group once with aligned windows that hold their codes', () => {
  const g = geometry(300, 11_700);
  const groups = indexGroups(g.elements);
  for (const [limits, offset, output] of [
    [{ ...LIMITS }, 0, 'bf16'],
    [{ ...LIMITS, maxGroupsPerDispatch: 1000 }, 32, 'bf16'],
    [{ ...LIMITS, maxStorageBufferBindingSize: 1 << 20 }, 4096, 'exponents'],
    [{ ...LIMITS, maxComputeWorkgroupsPerDimension: 16, workgroupSize: 64 }, 16, 'exponents'],
  ] as const) {
    const bytes = output === 'bf16' ? 2 : 1;
    const plans = planIndexedDispatches(g, limits, offset, output);
    let next = 0;
    for (const p of plans) {
      assert.equal(p.firstGroup, next);
      next += p.groupCount;
      const wg = 'workgroupSize' in limits ? limits.workgroupSize : 64;
      assert.ok(p.grid[0] <= limits.maxComputeWorkgroupsPerDimension && p.grid[1] <= limits.maxComputeWorkgroupsPerDimension);
      assert.ok(p.grid[0] * p.grid[1] * wg >= p.groupCount);
      for (const w of [p.enc, p.sm, p.out]) {
        assert.equal(w.offset % 256, 0);
        assert.equal(w.size % 8, 0);
        assert.ok(w.size <= limits.maxStorageBufferBindingSize);
      }
      assert.ok(p.enc.offset + p.enc.size <= paddedEncBytes(g.chunks));
      assert.ok(p.sm.offset + p.sm.size <= paddedSmBytes(g.elements));
      assert.ok(p.out.offset + p.out.size <= outputEndBytes(g.elements, offset, output));
      // The code of each group's first element starts in a chunk inside the window, with 16 bytes after
      // the chunk of the last element.
      const first = p.firstGroup * INDEX_GROUP;
      const last = Math.min((p.firstGroup + p.groupCount) * INDEX_GROUP, g.elements) - 1;
      const chunkOf = (e: number): number => {
        let c = g.chunks - 1;
        while (g.op[c]! > e) c--;
        return c;
      };
      assert.ok(p.enc.offset <= 4096 * chunkOf(first));
      assert.ok(p.enc.offset + p.enc.size >= Math.min(4096 * (chunkOf(last) + 1) + 16, paddedEncBytes(g.chunks)));
      // Params: first group, enc word base, sm vector base, output vector of the first element, delta base.
      assert.deepEqual([p.params[0], p.params[1], p.params[4], p.params[5]], [p.firstGroup, p.groupCount, p.enc.offset / 4, p.sm.offset / 16]);
      assert.equal(p.params[6]! * 16 + p.out.offset, offset + bytes * first);
      assert.equal(p.params[7], groups);
      assert.equal(p.params[10], indexDeltaBase(g.elements));
    }
    assert.equal(next, groups);
  }
});

it('sizes the packed index and says where the indexed kernel applies', () => {
  // 16 groups share a u32 base; each group has a u16 offset; bases are padded to an even count.
  assert.equal(indexDeltaBase(64 * 16 * 3), 4);
  assert.equal(indexBytes(64 * 16 * 3), 4 * (4 + 24));
  assert.equal(indexBytes(1), 4 * (2 + 1));
  const g = geometry(4, 1000);
  assert.ok(indexedDecodable(g, 0) && indexedDecodable(g, 48));
  assert.ok(!indexedDecodable(g, 8), 'an output offset off the 16-byte grid takes the chunk kernel');
  assert.ok(!indexedDecodable({ ...g, streamBytes: 2 ** 29 }, 0), 'bit positions must fit u32');
  assert.throws(() => planIndexedDispatches(g, LIMITS, 8, 'bf16'), RangeError);
});
