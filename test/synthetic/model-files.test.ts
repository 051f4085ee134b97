// The synthetic benchmark model: real shapes from the config, every layer's tensors views of one
// buffer, df11 files whose units decode to that buffer, the tiled weights, and the on-disk unit cache.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCachedUnit, unitCachePath, writeCachedUnit } from '../../src/cli/bench-unit-cache.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { parseModelConfig } from '../../src/runtime/model-config.js';
import { EMBEDDING_WEIGHT, FINAL_NORM_WEIGHT, LM_HEAD_WEIGHT, layerNormWeight, matrixWeight } from '../../src/runtime/weight-names.js';
import { fillSyntheticWeights, SyntheticModel, SYNTHETIC_BLOCK_WEIGHTS } from '../../src/synthetic/model-files.js';
import { SYNTHETIC_SHAPES } from '../../src/synthetic/model-shapes.js';
import { syntheticBf16Weights } from '../../src/synthetic/weights.js';

const config = { ...SYNTHETIC_SHAPES.tiny, num_hidden_layers: 3 };
const parsed = parseModelConfig(config);

describe('synthetic benchmark model', () => {
  it('has the published Llama 3.1 8B and 3.3 70B shapes', () => {
    const p8 = parseModelConfig(SYNTHETIC_SHAPES['llama-3.1-8b']);
    assert.deepEqual([p8.layers, p8.hiddenSize, p8.intermediateSize, p8.heads, p8.kvHeads, p8.headDim, p8.vocabSize], [32, 4096, 14336, 32, 8, 128, 128256]);
    assert.equal(p8.ropeScaling.type, 'llama3');
    const p70 = parseModelConfig(SYNTHETIC_SHAPES['llama-3.3-70b']);
    assert.deepEqual([p70.layers, p70.hiddenSize, p70.intermediateSize, p70.heads, p70.kvHeads], [80, 8192, 28672, 64, 8]);
  });

  it('serves every layer from one buffer, with config shapes', async () => {
    const m = new SyntheticModel(config, parsed, 5);
    const t = m.bf16Files().tensors;
    const q0 = await t.read(matrixWeight(0, 'q'));
    const q2 = await t.read(matrixWeight(2, 'q'));
    assert.equal(q0.buffer, q2.buffer);
    assert.equal(q0.byteOffset, q2.byteOffset);
    assert.deepEqual(t.entry(matrixWeight(1, 'down')).shape, [parsed.hiddenSize, parsed.intermediateSize]);
    assert.deepEqual(t.entry(matrixWeight(1, 'k')).shape, [parsed.kvHeads * parsed.headDim, parsed.hiddenSize]);
    assert.equal((await t.read(matrixWeight(1, 'down'))).byteLength, parsed.hiddenSize * parsed.intermediateSize * 2);
    assert.deepEqual(t.entry(LM_HEAD_WEIGHT).shape, [parsed.vocabSize, parsed.hiddenSize]);
    assert.equal(t.has(matrixWeight(3, 'q')), false, 'only num_hidden_layers layers');
    assert.deepEqual([...new Uint16Array((await t.read(layerNormWeight(2, 'post'))).slice().buffer)].slice(0, 3), [0x3f80, 0x3f80, 0x3f80]);
    assert.equal(m.weightCount, 3 * m.layerWeights.length + 2 * parsed.vocabSize * parsed.hiddenSize);
  });

  it('df11 files: one layer unit for every layer, one unit for embedding and head', async () => {
    const m = new SyntheticModel(config, parsed, 5);
    const layer = encodeUnit(m.layerWeights, m.layerPieceSizes);
    const vocab = encodeUnit(m.vocabWeights);
    const f = m.df11Files(layer, vocab);
    assert.deepEqual(f.units.map((u) => u.path), ['model.layers.0', 'model.layers.1', 'model.layers.2', 'model.embed_tokens', 'lm_head']);
    assert.ok(Buffer.from(decodeUnit(await f.readUnit('model.layers.1')).buffer).equals(Buffer.from(m.layerWeights.buffer)));
    assert.equal(await f.readUnit('lm_head'), vocab);
    assert.equal(f.tensors.has(EMBEDDING_WEIGHT), false);
    assert.equal(f.tensors.has(FINAL_NORM_WEIGHT), true);
  });

  it('tiles one seeded block of normal weights', () => {
    const n = SYNTHETIC_BLOCK_WEIGHTS + 1000;
    const out = new Uint16Array(n);
    fillSyntheticWeights(out, 9, 0.02);
    const block = syntheticBf16Weights(SYNTHETIC_BLOCK_WEIGHTS, { seed: 9, std: 0.02 });
    assert.deepEqual(out.subarray(0, 1000), block.subarray(0, 1000));
    assert.deepEqual(out.subarray(SYNTHETIC_BLOCK_WEIGHTS), block.subarray(0, 1000));
  });
});

describe('bench unit cache', () => {
  it('round-trips a unit and ignores damaged files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'df11-bench-cache-'));
    try {
      const unit = encodeUnit(syntheticBf16Weights(5000, { seed: 3 }), [1000, 4000]);
      const path = unitCachePath(dir, 'tiny-seed3-layer');
      assert.equal(await readCachedUnit(path), undefined);
      await writeCachedUnit(path, unit);
      const back = await readCachedUnit(path);
      assert.ok(back);
      for (const f of ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps'] as const) assert.ok(Buffer.from(back[f]).equals(Buffer.from(unit[f])), f);
      assert.deepEqual([...back.splitPositions], [...unit.splitPositions]);
      await writeFile(path, 'df11-bench-unit 1\n[1,2,3]\n');
      assert.equal(await readCachedUnit(path), undefined);
      assert.throws(() => unitCachePath(dir, '../x'), RangeError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
