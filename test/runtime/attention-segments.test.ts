// rt-attention over several segments of positions (one workgroup per segment, merged by
// rt-attention-combine) matches attention computed on the host in f64, for a context that ends
// inside the third segment and for one that ends on a segment boundary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvCache } from '../../src/runtime/kv-cache.js';
import { BUFFER_USAGE, GpuMemory } from '../../src/runtime/gpu-memory.js';
import { Binder } from '../../src/runtime/ops/binder.js';
import { ATTENTION_SEGMENT, compileKernels } from '../../src/runtime/ops/kernel-set.js';
import { Ops } from '../../src/runtime/ops/ops.js';
import { readF32, testGpu } from './runtime-helpers.js';

describe('rt-attention segments', () => {
  for (const pos0 of [2 * ATTENTION_SEGMENT + 40, 2 * ATTENTION_SEGMENT - 2]) {
    it(`two query tokens at positions ${pos0} and ${pos0 + 1} over ${KvCache.segments(pos0 + 2)} segments`, async () => {
      const gpu = await testGpu();
      const device = gpu.device;
      const memory = new GpuMemory(device, undefined);
      try {
        const heads = 4;
        const kvHeads = 2;
        const hd = 20;
        const n = 2;
        const capacity = pos0 + n + 7;
        const kvDim = kvHeads * hd;
        const segments = KvCache.segments(capacity);
        const kernels = await compileKernels(device, { rowWorkgroup: 8 });
        const ops = new Ops(device, kernels, new Binder(device, memory), memory.createWith('step', new Uint32Array([n, pos0, capacity, 0]), BUFFER_USAGE.UNIFORM), memory.create('dummy', 16, BUFFER_USAGE.STORAGE));
        const rand = (len: number, seed: number) => new Float32Array(len).map((_, i) => Math.sin(i * 0.731 + seed) * 1.5);
        const q = rand(n * heads * hd, 1);
        const k = rand(capacity * kvDim, 2);
        const v = rand(capacity * kvDim, 3);
        const out = memory.create('out', n * heads * hd * 4, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        ops.attention(
          pass,
          {
            q: memory.createWith('q', q, BUFFER_USAGE.STORAGE),
            kCache: memory.createWith('k', k, BUFFER_USAGE.STORAGE),
            vCache: memory.createWith('v', v, BUFFER_USAGE.STORAGE),
            part: memory.create('part', n * heads * segments * (hd + 2) * 4, BUFFER_USAGE.STORAGE),
            out,
          },
          { heads, kvHeads, headDim: hd, segments },
          n,
          pos0 + n,
        );
        pass.end();
        device.queue.submit([enc.finish()]);
        const got = await readF32(device, memory, out);
        for (let t = 0; t < n; t++) {
          const len = pos0 + t + 1;
          for (let h = 0; h < heads; h++) {
            const koff = Math.floor(h / (heads / kvHeads)) * hd;
            const scores = new Float64Array(len);
            for (let j = 0; j < len; j++) {
              let s = 0;
              for (let i = 0; i < hd; i++) s += q[(t * heads + h) * hd + i]! * k[j * kvDim + koff + i]!;
              scores[j] = s / Math.sqrt(hd);
            }
            const mx = Math.max(...scores);
            let total = 0;
            for (let j = 0; j < len; j++) total += Math.exp(scores[j]! - mx);
            for (let d = 0; d < hd; d++) {
              let o = 0;
              for (let j = 0; j < len; j++) o += (Math.exp(scores[j]! - mx) / total) * v[j * kvDim + koff + d]!;
              const g = got[(t * heads + h) * hd + d]!;
              assert.ok(Math.abs(g - o) <= 1e-5 * (1 + Math.abs(o)), `token ${t} head ${h} element ${d}: ${g} vs ${o}`);
            }
          }
        }
      } finally {
        memory.destroyAll();
      }
    });
  }
});
