// The family-specific paths (Llama 3 rope scaling and an untied head, Qwen2 q/k/v biases, Qwen3
// per-head q/k norms with head_dim != hidden / heads, Llama attention_bias, Mistral) on tiny
// synthetic models: GPU logits against a direct CPU forward pass (different summation order, so
// compared with a tolerance), and the df11 and offload modes against bf16 byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceEngine, type EngineOptions } from '../../src/runtime/engine.js';
import type { ModelFiles } from '../../src/runtime/model-files.js';
import { parseModelConfig } from '../../src/runtime/model-config.js';
import { f32Bytes, testGpu } from './runtime-helpers.js';
import { bf16Files, df11Files, referenceLogits, syntheticModel, TINY_CONFIG } from './synthetic-model.js';

const BASE = { ...TINY_CONFIG, tie_word_embeddings: true };

const FAMILIES: Record<string, Record<string, unknown>> = {
  'llama 3 (rope scaling, untied head)': {
    ...BASE,
    model_type: 'llama',
    tie_word_embeddings: false,
    rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  'llama with attention_bias': { ...BASE, model_type: 'llama', attention_bias: true },
  'qwen2 (q/k/v bias)': { ...BASE, model_type: 'qwen2', num_key_value_heads: 1 },
  'qwen3 (q/k norm, head_dim 16)': { ...BASE, model_type: 'qwen3', head_dim: 16 },
  mistral: { ...BASE, model_type: 'mistral', sliding_window: null },
};

const PROMPT = [3, 17, 42, 5, 88, 1, 60];
/** Largest |gpu - cpu| allowed, relative to the largest |logit| (f32 vs f64 arithmetic). */
const RELATIVE_TOLERANCE = 1e-4;

async function run(files: ModelFiles, options: EngineOptions = {}): Promise<Float32Array> {
  const engine = await InferenceEngine.create(await testGpu(), files, { contextTokens: 16, ...options });
  try {
    return (await engine.forward(PROMPT, { logits: true })).logits!;
  } finally {
    engine.destroy();
  }
}

describe('model families on synthetic weights', () => {
  for (const [name, config] of Object.entries(FAMILIES)) {
    it(name, async () => {
      const parsed = parseModelConfig(config);
      const model = syntheticModel(config, parsed);
      const gpu = await run(bf16Files(model));
      const cpu = referenceLogits(model, parsed, PROMPT);
      const scale = Math.max(...Array.from(cpu, Math.abs));
      let worst = 0;
      cpu.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - gpu[i]!))));
      assert.ok(scale > 1, `logits should not vanish (max ${scale})`);
      assert.ok(worst <= RELATIVE_TOLERANCE * scale, `max difference ${worst} for logits up to ${scale}`);
      assert.ok(f32Bytes(await run(df11Files(model, parsed))).equals(f32Bytes(gpu)), 'df11 = bf16');
      assert.ok(f32Bytes(await run(bf16Files(model), { mode: 'offload' })).equals(f32Bytes(gpu)), 'offload = bf16');
    });
  }
});
