/**
 * The architecture of a decoder-only transformer as the runtime needs it, read from a Hugging Face
 * `config.json`. Llama 2/3 are the base; the other families differ only by a few flags:
 * - Mistral: Llama layout (sliding windows are not used by the published checkpoints we target;
 *   `sliding_window` is rejected when it is smaller than the context, see below).
 * - Qwen2: bias on q/k/v projections.
 * - Qwen3: per-head RMSNorm on q and k (`q_norm`, `k_norm`) before RoPE, `head_dim` given explicitly.
 * Unknown families are refused rather than run wrongly.
 */
import { Df11Error } from '../errors.js';

/** Architecture families the runtime implements. */
export type ModelFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3';

/** Frequency scaling of rotary embeddings (HF `rope_scaling`, or the scaling fields of `rope_parameters`). */
export type RopeScaling =
  | { type: 'none' }
  /** inv_freq / factor for every frequency. */
  | { type: 'linear'; factor: number }
  /** Llama 3.1 piecewise scaling. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  family: ModelFamily;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2, or Llama with attention_bias). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama with attention_bias). */
  oBias: boolean;
  /** q_norm and k_norm per-head RMSNorm weights (Qwen3). */
  qkNorm: boolean;
  bosTokenId: number | undefined;
  /** Tokens that end generation. */
  eosTokenIds: number[];
}

/** Defaults of transformers' LlamaConfig for fields a config.json may omit. */
const DEFAULT_RMS_NORM_EPS = 1e-6;
const DEFAULT_ROPE_THETA = 10000;
const DEFAULT_MAX_POSITIONS = 2048;

const FAMILY_BY_MODEL_TYPE: Readonly<Record<string, ModelFamily>> = {
  llama: 'llama',
  mistral: 'mistral',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
};

function fail(file: string | undefined, message: string): never {
  throw new Df11Error('config-invalid', message, file === undefined ? {} : { file });
}

function int(c: Record<string, unknown>, key: string, file: string | undefined, fallback?: number): number {
  const v = c[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    fail(file, `config.json lacks ${key}`);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) fail(file, `config field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function num(c: Record<string, unknown>, key: string, file: string | undefined, fallback: number): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, `config field ${key} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(c: Record<string, unknown>, key: string, file: string | undefined, fallback: boolean): boolean {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(file, `config field ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function tokenIds(v: unknown, key: string, file: string | undefined): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) fail(file, `config field ${key} must be a token id or a list of them, got ${JSON.stringify(v)}`);
  }
  return list as number[];
}

/** The family from `model_type`, else from `architectures[0]`. */
function familyOf(c: Record<string, unknown>, file: string | undefined): ModelFamily {
  const type = c['model_type'];
  if (typeof type === 'string') {
    const f = FAMILY_BY_MODEL_TYPE[type];
    if (f === undefined) fail(file, `model_type "${type}" is not supported (supported: ${Object.keys(FAMILY_BY_MODEL_TYPE).join(', ')})`);
    return f;
  }
  const arch = Array.isArray(c['architectures']) ? c['architectures'][0] : undefined;
  if (typeof arch === 'string') {
    for (const [prefix, f] of [['Llama', 'llama'], ['Mistral', 'mistral'], ['Qwen2', 'qwen2'], ['Qwen3', 'qwen3']] as const) {
      if (arch.startsWith(prefix) && arch.endsWith('ForCausalLM')) return f;
    }
  }
  return fail(file, 'config.json names no supported model_type or architecture (llama, mistral, qwen2, qwen3)');
}

/**
 * The rotary settings in either key style of transformers:
 * - up to 4.x: top-level `rope_theta` and `rope_scaling` ({rope_type | type, factor, ...} or null);
 * - 5.x: one `rope_parameters` object holding `rope_theta`, `rope_type` and the scaling fields
 *   (the top-level keys are no longer written; a top-level `rope_theta` still fills a missing one).
 * Per-layer-type `rope_parameters` (an object of objects) belong to other families and are refused.
 */
function ropeOf(c: Record<string, unknown>, file: string | undefined, maxPositions: number): { theta: number; scaling: RopeScaling } {
  const rp = c['rope_parameters'];
  if (rp === undefined || rp === null) {
    const theta = num(c, 'rope_theta', file, DEFAULT_ROPE_THETA);
    const rs = c['rope_scaling'];
    if (rs === undefined || rs === null) return { theta, scaling: { type: 'none' } };
    if (typeof rs !== 'object' || Array.isArray(rs)) fail(file, 'rope_scaling must be an object or null');
    const r = rs as Record<string, unknown>;
    return { theta, scaling: ropeScalingOf(r, r['rope_type'] ?? r['type'], 'rope_scaling', file, maxPositions) };
  }
  if (typeof rp !== 'object' || Array.isArray(rp)) fail(file, 'rope_parameters must be an object or null');
  const r = rp as Record<string, unknown>;
  if (Object.values(r).some((v) => typeof v === 'object' && v !== null)) fail(file, 'per-layer rope_parameters are not supported');
  const partial = r['partial_rotary_factor'];
  if (partial !== undefined && partial !== null && partial !== 1) fail(file, `rope_parameters.partial_rotary_factor ${JSON.stringify(partial)} is not supported`);
  const theta = num(r, 'rope_theta', file, num(c, 'rope_theta', file, DEFAULT_ROPE_THETA));
  return { theta, scaling: ropeScalingOf(r, r['rope_type'] ?? r['type'] ?? 'default', 'rope_parameters', file, maxPositions) };
}

/** The scaling of rope type `type` with its fields in `r`; `key` names the object in errors. */
function ropeScalingOf(r: Record<string, unknown>, type: unknown, key: string, file: string | undefined, maxPositions: number): RopeScaling {
  if (type === 'default') return { type: 'none' };
  if (type === 'linear') return { type: 'linear', factor: num(r, 'factor', file, Number.NaN) };
  if (type === 'llama3') {
    const scaling = {
      type: 'llama3' as const,
      factor: num(r, 'factor', file, Number.NaN),
      lowFreqFactor: num(r, 'low_freq_factor', file, Number.NaN),
      highFreqFactor: num(r, 'high_freq_factor', file, Number.NaN),
      originalMaxPositions: int(r, 'original_max_position_embeddings', file, maxPositions),
    };
    if ([scaling.factor, scaling.lowFreqFactor, scaling.highFreqFactor].some(Number.isNaN)) fail(file, `llama3 ${key} needs factor, low_freq_factor and high_freq_factor`);
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) fail(file, `llama3 ${key} needs high_freq_factor > low_freq_factor`);
    return scaling;
  }
  return fail(file, `${key} type ${JSON.stringify(type)} is not supported (default, linear, llama3)`);
}

/**
 * Reads the architecture from a parsed `config.json`. `file` names it in errors.
 * @throws Df11Error 'config-invalid' for a missing or malformed field, an unsupported family or
 *   rope scaling, or inconsistent head counts.
 */
export function parseModelConfig(config: Readonly<Record<string, unknown>>, file?: string): ModelConfig {
  const c = config as Record<string, unknown>;
  const family = familyOf(c, file);
  const hiddenSize = int(c, 'hidden_size', file);
  const heads = int(c, 'num_attention_heads', file);
  const kvHeads = int(c, 'num_key_value_heads', file, heads);
  if (heads % kvHeads !== 0) fail(file, `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (c['head_dim'] === undefined && hiddenSize % heads !== 0) fail(file, `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads} and head_dim is missing`);
  const headDim = int(c, 'head_dim', file, hiddenSize / heads);
  if (headDim % 2 !== 0) fail(file, `head_dim ${headDim} must be even for rotary embeddings`);
  const maxPositions = int(c, 'max_position_embeddings', file, DEFAULT_MAX_POSITIONS);
  const rope = ropeOf(c, file, maxPositions);
  const partial = c['partial_rotary_factor'];
  if (partial !== undefined && partial !== null && partial !== 1) fail(file, `partial_rotary_factor ${JSON.stringify(partial)} is not supported`);
  const act = c['hidden_act'] ?? 'silu';
  if (act !== 'silu') fail(file, `hidden_act ${JSON.stringify(act)} is not supported (silu)`);
  const window = c['sliding_window'];
  const useWindow = c['use_sliding_window'];
  if (typeof window === 'number' && window < maxPositions && useWindow !== false && family === 'mistral') {
    fail(file, `sliding_window ${window} below max_position_embeddings ${maxPositions} is not supported`);
  }
  const attentionBias = bool(c, 'attention_bias', file, false);
  return {
    family,
    hiddenSize,
    intermediateSize: int(c, 'intermediate_size', file),
    layers: int(c, 'num_hidden_layers', file),
    heads,
    kvHeads,
    headDim,
    vocabSize: int(c, 'vocab_size', file),
    maxPositions,
    rmsNormEps: num(c, 'rms_norm_eps', file, DEFAULT_RMS_NORM_EPS),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    tieWordEmbeddings: bool(c, 'tie_word_embeddings', file, false),
    qkvBias: family === 'qwen2' || attentionBias,
    oBias: family !== 'qwen2' && attentionBias,
    qkNorm: family === 'qwen3',
    bosTokenId: tokenIds(c['bos_token_id'], 'bos_token_id', file)[0],
    eosTokenIds: tokenIds(c['eos_token_id'], 'eos_token_id', file),
  };
}
