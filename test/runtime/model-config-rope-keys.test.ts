// config.json rotary keys in both styles of transformers: rope_theta + rope_scaling (up to 4.x) and
// rope_parameters (5.x, which no longer writes the top-level keys), and the configs transformers 5
// wrote for the tiny fixture models.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { parseModelConfig } from '../../src/runtime/model-config.js';
import { fixturePath } from '../helpers/paths.js';

const BASE = {
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 256,
  max_position_embeddings: 256,
};
const LLAMA3_FIELDS = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
const LLAMA3_SCALING = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };

function isConfigError(e: unknown): boolean {
  return e instanceof Df11Error && e.code === 'config-invalid';
}

describe('rotary config keys', () => {
  it('reads llama3 scaling and theta from rope_parameters as from rope_scaling and rope_theta', () => {
    const old = parseModelConfig({ ...BASE, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', ...LLAMA3_FIELDS } });
    const v5 = parseModelConfig({ ...BASE, rope_parameters: { rope_type: 'llama3', rope_theta: 500000, ...LLAMA3_FIELDS } });
    assert.deepEqual(v5, old);
    assert.equal(v5.ropeTheta, 500000);
    assert.deepEqual(v5.ropeScaling, LLAMA3_SCALING);
  });

  it('reads default and linear rope_parameters', () => {
    const d = parseModelConfig({ ...BASE, rope_parameters: { rope_type: 'default', rope_theta: 1000000 } });
    assert.equal(d.ropeTheta, 1000000);
    assert.deepEqual(d.ropeScaling, { type: 'none' });
    const lin = parseModelConfig({ ...BASE, rope_parameters: { rope_type: 'linear', rope_theta: 10000, factor: 4 } });
    assert.deepEqual(lin.ropeScaling, { type: 'linear', factor: 4 });
    const legacyType = parseModelConfig({ ...BASE, rope_parameters: { type: 'llama3', ...LLAMA3_FIELDS } });
    assert.deepEqual(legacyType.ropeScaling, LLAMA3_SCALING);
  });

  it('fills a theta missing from rope_parameters from rope_theta, then the default', () => {
    assert.equal(parseModelConfig({ ...BASE, rope_theta: 250000, rope_parameters: { rope_type: 'default' } }).ropeTheta, 250000);
    assert.equal(parseModelConfig({ ...BASE, rope_parameters: {} }).ropeTheta, 10000);
    assert.equal(parseModelConfig({ ...BASE, rope_parameters: null, rope_theta: 20000 }).ropeTheta, 20000);
  });

  it('refuses malformed or unsupported rope_parameters', () => {
    const bad: Record<string, unknown>[] = [
      { rope_parameters: 'llama3' },
      { rope_parameters: [] },
      { rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4 } },
      { rope_parameters: { rope_type: 'llama3', rope_theta: 10000, factor: 8 } },
      { rope_parameters: { rope_type: 'default', rope_theta: -1 } },
      { rope_parameters: { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.5 } },
      { rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 10000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } },
    ];
    for (const fields of bad) assert.throws(() => parseModelConfig({ ...BASE, ...fields }), isConfigError, JSON.stringify(fields));
  });

  it('reads the configs transformers 5 wrote for the fixture models', () => {
    const expected: Record<string, { theta: number; scaling: unknown; family: string; headDim: number; tied: boolean }> = {
      llama2: { theta: 10000, scaling: { type: 'none' }, family: 'llama', headDim: 16, tied: true },
      llama3: { theta: 500000, scaling: LLAMA3_SCALING, family: 'llama', headDim: 16, tied: false },
      mistral: { theta: 1000000, scaling: { type: 'none' }, family: 'mistral', headDim: 16, tied: false },
      qwen2: { theta: 1000000, scaling: { type: 'none' }, family: 'qwen2', headDim: 16, tied: true },
      qwen3: { theta: 1000000, scaling: { type: 'none' }, family: 'qwen3', headDim: 32, tied: true },
    };
    for (const [name, want] of Object.entries(expected)) {
      const raw = JSON.parse(readFileSync(fixturePath('transformers', name, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.ok('rope_parameters' in raw && !('rope_theta' in raw), `${name} is in the transformers 5 key style`);
      const c = parseModelConfig(raw, name);
      assert.deepEqual(
        { theta: c.ropeTheta, scaling: c.ropeScaling, family: c.family, headDim: c.headDim, tied: c.tieWordEmbeddings },
        want,
        name,
      );
    }
  });
});
