// Hugging Face tensor names of a Llama-family checkpoint (Llama, Mistral, Qwen2, Qwen3 share them).

/** The BF16 matrices of one decoder layer, in the order the published DF11 pattern dict lists them. */
export const LAYER_MATRICES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LayerMatrix = (typeof LAYER_MATRICES)[number];

/** Module (attr) of each matrix below `model.layers.<i>`. */
export const MATRIX_MODULES: Readonly<Record<LayerMatrix, string>> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

export const EMBEDDING_WEIGHT = 'model.embed_tokens.weight';
export const FINAL_NORM_WEIGHT = 'model.norm.weight';
export const LM_HEAD_WEIGHT = 'lm_head.weight';

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}`;
}

export function matrixWeight(layer: number, m: LayerMatrix): string {
  return `${layerPrefix(layer)}.${MATRIX_MODULES[m]}.weight`;
}

export function matrixBias(layer: number, m: LayerMatrix): string {
  return `${layerPrefix(layer)}.${MATRIX_MODULES[m]}.bias`;
}

/** Per-layer vectors: the two RMSNorm weights and, for Qwen3, the per-head q/k norms. */
export function layerNormWeight(layer: number, which: 'input' | 'post' | 'q' | 'k'): string {
  const p = layerPrefix(layer);
  switch (which) {
    case 'input':
      return `${p}.input_layernorm.weight`;
    case 'post':
      return `${p}.post_attention_layernorm.weight`;
    case 'q':
      return `${p}.self_attn.q_norm.weight`;
    case 'k':
      return `${p}.self_attn.k_norm.weight`;
  }
}
