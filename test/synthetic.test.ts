import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, syntheticBf16Weights } from '../src/synthetic/weights.js';
import { bf16BitsToF32 } from '../src/format/float.js';

test('mulberry32 is deterministic per seed', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = [a(), a(), a()];
  assert.deepEqual(xs, [b(), b(), b()]);
  assert.notEqual(mulberry32(43)(), xs[0]);
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
});

test('synthetic weights are normal(0, std) rounded to BF16', () => {
  const n = 200_001;
  const w = syntheticBf16Weights(n, { seed: 7, std: 0.02 });
  assert.deepEqual(w, syntheticBf16Weights(n, { seed: 7, std: 0.02 }));
  let sum = 0, sq = 0;
  for (const x of w) { const v = bf16BitsToF32(x); sum += v; sq += v * v; }
  const mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.0005, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.02) < 0.0005, `std ${std}`);
});
