// config.json parsing: the demo model, the family flags, rope scaling and malformed fields.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { parseModelConfig } from '../../src/runtime/model-config.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const demo = JSON.parse(readFileSync(join(sharedDemoModelDir(), 'config.json'), 'utf8')) as Record<string, unknown>;

const llama31 = {
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  tie_word_embeddings: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
};

function isConfigError(e: unknown): boolean {
  return e instanceof Df11Error && e.code === 'config-invalid';
}

describe('parseModelConfig', () => {
  it('reads the demo model', () => {
    const c = parseModelConfig(demo);
    assert.deepEqual(
      { ...c },
      {
        family: 'llama',
        hiddenSize: 64,
        intermediateSize: 172,
        layers: 5,
        heads: 8,
        kvHeads: 4,
        headDim: 8,
        vocabSize: 512,
        maxPositions: 512,
        rmsNormEps: 1e-5,
        ropeTheta: 10000,
        ropeScaling: { type: 'none' },
        tieWordEmbeddings: true,
        qkvBias: false,
        oBias: false,
        qkNorm: false,
        bosTokenId: 1,
        eosTokenIds: [2],
      },
    );
  });

  it('reads Llama 3.1 rope scaling and lists of eos ids', () => {
    const c = parseModelConfig(llama31);
    assert.deepEqual(c.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    assert.deepEqual(c.eosTokenIds, [128001, 128008, 128009]);
    assert.equal(c.headDim, 128);
  });

  it('sets the family flags of Qwen2 (qkv bias) and Qwen3 (q/k norm, explicit head_dim)', () => {
    const q2 = parseModelConfig({ ...llama31, rope_scaling: null, model_type: 'qwen2', sliding_window: 4096, use_sliding_window: false });
    assert.equal(q2.family, 'qwen2');
    assert.equal(q2.qkvBias, true);
    assert.equal(q2.oBias, false);
    const q3 = parseModelConfig({ ...llama31, rope_scaling: null, model_type: 'qwen3', head_dim: 128, num_attention_heads: 16 });
    assert.equal(q3.qkNorm, true);
    assert.equal(q3.headDim, 128);
    const biased = parseModelConfig({ ...llama31, attention_bias: true });
    assert.equal(biased.qkvBias && biased.oBias, true);
  });

  it('falls back to architectures when model_type is absent', () => {
    const { model_type: _, ...rest } = llama31;
    assert.equal(parseModelConfig({ ...rest, architectures: ['MistralForCausalLM'] }).family, 'mistral');
  });

  it('rejects malformed and unsupported configs', () => {
    const bad: Record<string, unknown>[] = [
      { ...llama31, model_type: 'gpt2' },
      { ...llama31, hidden_size: 0 },
      { ...llama31, hidden_size: '4096' },
      { ...llama31, num_key_value_heads: 7 },
      { ...llama31, hidden_size: 4095 },
      { ...llama31, rope_scaling: { rope_type: 'yarn', factor: 4 } },
      { ...llama31, rope_scaling: { rope_type: 'llama3', factor: 8 } },
      { ...llama31, hidden_act: 'gelu' },
      { ...llama31, tie_word_embeddings: 'yes' },
      { ...llama31, eos_token_id: [-1] },
      { ...llama31, model_type: 'mistral', sliding_window: 4096 },
      { ...llama31, vocab_size: undefined },
    ];
    for (const c of bad) assert.throws(() => parseModelConfig(c, 'config.json'), isConfigError, JSON.stringify(c).slice(0, 80));
  });
});
