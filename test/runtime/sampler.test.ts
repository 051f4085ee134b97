// Host sampling: seeded repeatability, top-k / top-p restriction, argument checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { Sampler } from '../../src/runtime/sampler.js';

const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * 3);
const ranked = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);

function draws(s: Sampler, n: number): number[] {
  return Array.from({ length: n }, () => s.sample(logits));
}

describe('Sampler', () => {
  it('repeats with a seed and differs between seeds', () => {
    const a = draws(new Sampler({ temperature: 1, seed: 7 }), 200);
    assert.deepEqual(draws(new Sampler({ temperature: 1, seed: 7 }), 200), a);
    assert.notDeepEqual(draws(new Sampler({ temperature: 1, seed: 8 }), 200), a);
    assert.ok(new Set(a).size > 5, 'temperature 1 spreads over many tokens');
  });

  it('keeps to the top k and the top-p nucleus', () => {
    const k3 = new Set(draws(new Sampler({ temperature: 2, topK: 3, seed: 1 }), 300));
    assert.deepEqual([...k3].sort(), ranked.slice(0, 3).sort());
    const p = new Set(draws(new Sampler({ temperature: 0.5, topP: 0.5, seed: 2 }), 300));
    assert.ok(p.size >= 1 && p.size < 10);
    for (const id of p) assert.ok(ranked.indexOf(id) < 10);
    assert.ok(new Sampler({ temperature: 0 }).greedy);
  });

  it('rejects bad settings', () => {
    const usage = (e: unknown) => e instanceof Df11Error && e.code === 'usage';
    assert.throws(() => new Sampler({ temperature: -1 }), usage);
    assert.throws(() => new Sampler({ topK: 1.5 }), usage);
    assert.throws(() => new Sampler({ topP: 0 }), usage);
    assert.throws(() => new Sampler({ topP: 1.1 }), usage);
  });
});
