// Hugging Face configs of the model shapes `df11 bench generate` synthesizes: the published
// Llama 3.1 8B and Llama 3.3 70B architectures (sizes, heads, rotary settings), and a tiny one for
// quick runs and tests.

export type SyntheticShapeName = 'llama-3.1-8b' | 'llama-3.3-70b' | 'tiny';

const LLAMA3_ROPE_SCALING = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };

function llama3(hidden: number, intermediate: number, heads: number, layers: number): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_attention_heads: heads,
    num_key_value_heads: 8,
    head_dim: 128,
    num_hidden_layers: layers,
    vocab_size: 128256,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    rope_scaling: LLAMA3_ROPE_SCALING,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    torch_dtype: 'bfloat16',
  };
}

/** config.json of each shape. */
export const SYNTHETIC_SHAPES: Readonly<Record<SyntheticShapeName, Readonly<Record<string, unknown>>>> = {
  'llama-3.1-8b': llama3(4096, 14336, 32, 32),
  'llama-3.3-70b': llama3(8192, 28672, 64, 80),
  tiny: {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 256,
    intermediate_size: 688,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    num_hidden_layers: 4,
    vocab_size: 1024,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
  },
};

export const SYNTHETIC_SHAPE_NAMES = Object.keys(SYNTHETIC_SHAPES) as SyntheticShapeName[];
