// Dispatch planning (no GPU): chunks covered exactly once, windows aligned, inside the padded buffers
// and under the binding limit, and Params consistent with the windows.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { outputEndBytes, paddedEncBytes, paddedGapsBytes, paddedSmBytes, planDispatches, type PlanGeometry } from '../../src/gpu/decode-plan.js';

/** A geometry with `chunks` chunks of about `perChunk` elements each. */
function geometry(chunks: number, perChunk: number): PlanGeometry {
  const op = new Uint32Array(chunks + 1);
  for (let b = 1; b <= chunks; b++) op[b] = op[b - 1]! + perChunk + (b % 3);
  return { elements: op[chunks]!, streamBytes: 4096 * chunks - 100, chunks, decodeRows: 5, opEntries: chunks + 1, op };
}

const LIMITS = { maxStorageBufferBindingSize: 128 * 1024 * 1024, minStorageBufferOffsetAlignment: 256, maxComputeWorkgroupsPerDimension: 65535 };

it('covers every chunk once within the limits', () => {
  const g = geometry(500, 12_300);
  for (const [limits, offset] of [
    [{ ...LIMITS, maxChunksPerDispatch: 7 }, 0],
    [{ ...LIMITS, maxStorageBufferBindingSize: 1 << 20 }, 6],
    [{ ...LIMITS, maxComputeWorkgroupsPerDimension: 64 }, 258],
  ] as const) {
    const plans = planDispatches(g, limits, offset);
    let next = 0;
    for (const p of plans) {
      assert.equal(p.firstChunk, next);
      next += p.chunkCount;
      assert.ok(p.chunkCount <= Math.min(limits.maxComputeWorkgroupsPerDimension, 'maxChunksPerDispatch' in limits ? limits.maxChunksPerDispatch : Infinity));
      for (const w of [p.enc, p.gaps, p.sm, p.out]) {
        assert.equal(w.offset % 256, 0);
        assert.equal(w.size % 4, 0);
        assert.ok(w.size <= limits.maxStorageBufferBindingSize);
      }
      assert.ok(p.enc.offset + p.enc.size <= paddedEncBytes(g.chunks));
      assert.ok(p.gaps.offset + p.gaps.size <= paddedGapsBytes(g.chunks));
      assert.ok(p.sm.offset + p.sm.size <= paddedSmBytes(g.elements));
      assert.ok(p.out.offset + p.out.size <= outputEndBytes(g.elements, offset));
      const first = g.op[p.firstChunk]!;
      assert.equal(p.params[6], first);
      // Params: the output half of the first element, relative to the out window.
      assert.equal(p.params[10], offset / 2 + first - p.out.offset / 2);
      assert.ok(p.sm.offset <= Math.max(first - 4, 0));
    }
    assert.equal(next, g.chunks);
  }
});

it('rejects odd output offsets', () => {
  assert.throws(() => planDispatches(geometry(2, 100), LIMITS, 3), RangeError);
});
