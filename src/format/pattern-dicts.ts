/**
 * Pattern dicts: the published ones (df11-format.md §2.4), choosing one for a BF16 model, and a
 * generic dict built from tensor names so any safetensors model (diffusion, unknown architectures)
 * can be compressed.
 *
 * A pattern dict belongs to a published model, not to an architecture: the ones below are applied
 * only where the model's config names the family or its tensor names show it, and only if the dict
 * fits the model exactly (every matched module has every listed weight, in BF16).
 */
import { Df11Error } from '../errors.js';
import type { PatternDict } from './df11-config.js';
import { compareModulePaths, planUnits, shapeNumel, tiedWeightAliases, WEIGHT_SUFFIX, DF11_SOURCE_DTYPE, type TensorInfo } from './df11-units.js';

const LLAMA_LAYER_ATTRS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
];
const LLAMA_LAYER_PATTERN = 'model\\.layers\\.\\d+';

/** Qwen3-8B/14B/32B and Llama-3.1-8B-Instruct (published config.json). */
export const LLAMA_PATTERN_DICT: PatternDict = [
  { pattern: LLAMA_LAYER_PATTERN, attrs: LLAMA_LAYER_ATTRS },
  { pattern: 'lm_head', attrs: [] },
  { pattern: 'model.embed_tokens', attrs: [] },
];

/** Qwen3-4B (published): the layers only; embedding and head stay BF16. */
export const QWEN3_4B_PATTERN_DICT: PatternDict = [{ pattern: LLAMA_LAYER_PATTERN, attrs: LLAMA_LAYER_ATTRS }];

/**
 * Mistral-architecture LLMs: the same module names as Llama, so the Llama dict. The published dict
 * was not inspected (§2.4); the paper's Mistral Nemo ratio (67.74 %) is only reachable with the
 * embedding and head compressed too (~71 % without them), so they are included.
 */
export const MISTRAL_PATTERN_DICT: PatternDict = LLAMA_PATTERN_DICT;

const FLUX_DOUBLE_ATTRS_NO_MOD = [
  'attn.to_q',
  'attn.to_k',
  'attn.to_v',
  'attn.add_k_proj',
  'attn.add_v_proj',
  'attn.add_q_proj',
  'attn.to_out.0',
  'attn.to_add_out',
  'ff.net.0.proj',
  'ff.net.2',
  'ff_context.net.0.proj',
  'ff_context.net.2',
];
const FLUX_SINGLE_ATTRS_NO_MOD = ['proj_mlp', 'proj_out', 'attn.to_q', 'attn.to_k', 'attn.to_v'];

/** FLUX.1 diffusers (the reference FLUX example; note the k, v, q order of the `add_*` projections). */
export const FLUX_DIFFUSERS_PATTERN_DICT: PatternDict = [
  { pattern: 'transformer_blocks\\.\\d+', attrs: ['norm1.linear', 'norm1_context.linear', ...FLUX_DOUBLE_ATTRS_NO_MOD] },
  { pattern: 'single_transformer_blocks\\.\\d+', attrs: ['norm.linear', ...FLUX_SINGLE_ATTRS_NO_MOD] },
];

/** Chroma diffusers (DFloat11/Chroma-DF11 key order): FLUX without the modulation linears, plus the guidance approximator. */
export const CHROMA_DIFFUSERS_PATTERN_DICT: PatternDict = [
  {
    pattern: 'distilled_guidance_layer',
    attrs: ['in_proj', ...[0, 1, 2, 3, 4].flatMap((i) => [`layers.${i}.linear_1`, `layers.${i}.linear_2`]), 'out_proj'],
  },
  { pattern: 'transformer_blocks\\.\\d+', attrs: FLUX_DOUBLE_ATTRS_NO_MOD },
  { pattern: 'single_transformer_blocks\\.\\d+', attrs: FLUX_SINGLE_ATTRS_NO_MOD },
];

/** FLUX in ComfyUI-native tensor names (LeanModels/ComfyUI-DFloat11). */
export const FLUX_COMFYUI_PATTERN_DICT: PatternDict = [
  {
    pattern: 'double_blocks\\.\\d+',
    attrs: ['img_mod.lin', 'img_attn.qkv', 'img_attn.proj', 'img_mlp.0', 'img_mlp.2', 'txt_mod.lin', 'txt_attn.qkv', 'txt_attn.proj', 'txt_mlp.0', 'txt_mlp.2'],
  },
  { pattern: 'single_blocks\\.\\d+', attrs: ['linear1', 'linear2', 'modulation.lin'] },
];

export type PublishedDictName = 'llama' | 'qwen3-4b' | 'mistral' | 'flux-diffusers' | 'chroma-diffusers' | 'flux-comfyui';

interface PublishedDict {
  name: PublishedDictName;
  dict: PatternDict;
  /** config `architectures` entries / `model_type` / diffusers `_class_name` that name the family. */
  configNames: readonly string[];
  /** Tensors whose presence shows the family when the config does not name it. */
  sniff: readonly string[];
}

/** In the order they are tried (Chroma before FLUX: Chroma is FLUX minus the modulation linears). */
const PUBLISHED: readonly PublishedDict[] = [
  {
    name: 'llama',
    dict: LLAMA_PATTERN_DICT,
    configNames: ['LlamaForCausalLM', 'Qwen3ForCausalLM', 'Qwen2ForCausalLM', 'llama', 'qwen3', 'qwen2'],
    sniff: ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.mlp.gate_proj.weight'],
  },
  { name: 'mistral', dict: MISTRAL_PATTERN_DICT, configNames: ['MistralForCausalLM', 'mistral'], sniff: [] },
  { name: 'qwen3-4b', dict: QWEN3_4B_PATTERN_DICT, configNames: [], sniff: [] },
  {
    name: 'chroma-diffusers',
    dict: CHROMA_DIFFUSERS_PATTERN_DICT,
    configNames: ['ChromaTransformer2DModel'],
    sniff: ['distilled_guidance_layer.in_proj.weight', 'transformer_blocks.0.attn.to_q.weight'],
  },
  {
    name: 'flux-diffusers',
    dict: FLUX_DIFFUSERS_PATTERN_DICT,
    configNames: ['FluxTransformer2DModel'],
    sniff: ['transformer_blocks.0.norm1.linear.weight', 'single_transformer_blocks.0.norm.linear.weight'],
  },
  { name: 'flux-comfyui', dict: FLUX_COMFYUI_PATTERN_DICT, configNames: [], sniff: ['double_blocks.0.img_mod.lin.weight', 'single_blocks.0.linear1.weight'] },
];

/** A published dict by name (a copy the caller may modify). */
export function publishedPatternDict(name: PublishedDictName): PatternDict {
  const d = PUBLISHED.find((p) => p.name === name);
  if (d === undefined) throw new Df11Error('usage', `unknown pattern dict ${JSON.stringify(name)}`);
  return d.dict.map((e) => ({ pattern: e.pattern, attrs: [...e.attrs] }));
}

export const PUBLISHED_DICT_NAMES: readonly PublishedDictName[] = PUBLISHED.map((p) => p.name);

/** Weights outside repeated blocks become their own `[]` unit only from this many elements (1 Mi = 2 MiB of BF16). */
export const GENERIC_MIN_STANDALONE_NUMEL = 1 << 20;
/** A numbered module list is a block family (one pattern) only with at least this many blocks. */
export const GENERIC_MIN_BLOCKS = 2;

export interface GenericDictOptions {
  /** Default GENERIC_MIN_STANDALONE_NUMEL. */
  minStandaloneNumel?: number;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;
/** A literal for a Python (and JS) regex. */
export function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIAL, '\\$&');
}

const DIGITS = /^[0-9]+$/;

/**
 * A pattern dict for any model, from tensor names alone. Candidates are 2-D BF16 `*.weight`
 * tensors. A candidate whose module path has a numeric segment followed by more segments
 * (`x.blocks.N.attr…`, the first numeric segment) belongs to block `x.blocks.N` of the family
 * `x.blocks`, with attr `attr…`. A family with at least GENERIC_MIN_BLOCKS blocks becomes units:
 * blocks with the same attr set share a pattern, `x\.blocks\.\d+` when that set covers every block of
 * the family, else `x\.blocks\.(?:0|3|…)`. Attrs are in natural path order (see compareModulePaths),
 * so the result does not depend on header order. Every other candidate of at least
 * `minStandaloneNumel` elements becomes a `[]` unit named by its escaped module path (unless another
 * unit lies inside it). Order: families in natural order of their prefix (each family's groups by
 * their first block), then standalone units in natural order.
 */
export function genericPatternDict(tensors: readonly TensorInfo[], options: GenericDictOptions = {}): PatternDict {
  const minStandalone = options.minStandaloneNumel ?? GENERIC_MIN_STANDALONE_NUMEL;
  const families = new Map<string, Map<string, { attr: string; tensor: TensorInfo }[]>>(); // family -> index -> weights
  const familyIndices = new Map<string, Set<string>>(); // family -> every index present in any tensor name
  const loose: TensorInfo[] = [];
  for (const t of tensors) {
    const segs = t.name.split('.');
    const j = segs.findIndex((s) => DIGITS.test(s));
    if (j >= 0 && j < segs.length - 1) {
      const fam = segs.slice(0, j).join('.');
      let idx = familyIndices.get(fam);
      if (idx === undefined) familyIndices.set(fam, (idx = new Set()));
      idx.add(segs[j]!);
    }
    const isCandidate = t.dtype === DF11_SOURCE_DTYPE && t.shape.length === 2 && t.name.endsWith(WEIGHT_SUFFIX) && shapeNumel(t.shape, t.name) > 0;
    if (!isCandidate) continue;
    const mod = segs.slice(0, -1);
    const k = mod.findIndex((s) => DIGITS.test(s));
    if (k >= 0 && k < mod.length - 1) {
      const fam = mod.slice(0, k).join('.');
      let blocks = families.get(fam);
      if (blocks === undefined) families.set(fam, (blocks = new Map()));
      const weights = blocks.get(mod[k]!) ?? [];
      weights.push({ attr: mod.slice(k + 1).join('.'), tensor: t });
      blocks.set(mod[k]!, weights);
    } else loose.push(t);
  }

  const dict: PatternDict = [];
  const unitFamilies: string[] = [];
  for (const fam of [...families.keys()].sort(compareModulePaths)) {
    const blocks = families.get(fam)!;
    if (blocks.size < GENERIC_MIN_BLOCKS) {
      for (const weights of blocks.values()) for (const w of weights) loose.push(w.tensor);
      continue;
    }
    const groups = new Map<string, { attrs: string[]; indices: string[] }>();
    const indices = [...blocks.keys()].sort(compareModulePaths);
    for (const idx of indices) {
      const attrs = blocks
        .get(idx)!
        .map((w) => w.attr)
        .sort(compareModulePaths);
      const key = attrs.join('\n');
      const g = groups.get(key);
      if (g) g.indices.push(idx);
      else groups.set(key, { attrs, indices: [idx] });
    }
    const famRe = fam === '' ? '' : `${escapeRegex(fam)}\\.`;
    const everyBlock = familyIndices.get(fam)!.size === indices.length;
    for (const g of groups.values()) {
      const pattern = groups.size === 1 && everyBlock ? `${famRe}\\d+` : `${famRe}(?:${g.indices.join('|')})`;
      dict.push({ pattern, attrs: g.attrs });
    }
    unitFamilies.push(fam);
  }

  const standalone = loose
    .filter((t) => shapeNumel(t.shape, t.name) >= minStandalone)
    .map((t) => t.name.slice(0, -WEIGHT_SUFFIX.length))
    .sort(compareModulePaths);
  for (const path of standalone) {
    const inner = standalone.some((p) => p.startsWith(path + '.')) || unitFamilies.some((f) => f === path || f.startsWith(path + '.'));
    if (!inner) dict.push({ pattern: escapeRegex(path), attrs: [] });
  }
  return dict;
}

/** Top-level strings of a model config that can name a published family. */
function configNames(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  const c = config as Record<string, unknown>;
  const names: string[] = [];
  if (Array.isArray(c['architectures'])) for (const a of c['architectures']) if (typeof a === 'string') names.push(a);
  for (const k of ['model_type', '_class_name']) if (typeof c[k] === 'string') names.push(c[k] as string);
  return names;
}

/** True when the dict plans at least one unit on these tensors (with these tied-weight aliases) without error. */
export function dictFits(tensors: readonly TensorInfo[], dict: PatternDict, aliases: Readonly<Record<string, string>> = {}): boolean {
  try {
    return planUnits(tensors, dict, { aliases }).units.length > 0;
  } catch (e) {
    if (e instanceof Df11Error) return false;
    throw e;
  }
}

export interface PatternDictChoice {
  /** A published dict name, or 'generic'. */
  name: PublishedDictName | 'generic';
  dict: PatternDict;
  /** Why it was chosen, for logs. */
  reason: string;
}

/**
 * Chooses a pattern dict for a BF16 model: a published dict whose family the config names
 * (`architectures`, `model_type`, `_class_name`), else one whose marker tensors are present, in
 * either case only if it fits the model (dictFits, with the config's tied-weight aliases, see
 * tiedWeightAliases); otherwise the generic dict. The generic dict may be empty (nothing
 * compressible): the caller decides what to do then.
 */
export function selectPatternDict(tensors: readonly TensorInfo[], config?: unknown, options: GenericDictOptions = {}): PatternDictChoice {
  const names = new Set(configNames(config));
  const present = new Set(tensors.map((t) => t.name));
  const aliases = tiedWeightAliases(config, present);
  const misfits: string[] = [];
  for (const byConfig of [true, false]) {
    for (const p of PUBLISHED) {
      const hit = byConfig ? p.configNames.some((n) => names.has(n)) : p.sniff.length > 0 && p.sniff.every((s) => present.has(s));
      if (!hit) continue;
      if (dictFits(tensors, p.dict, aliases)) {
        const why = byConfig ? `config names ${p.configNames.filter((n) => names.has(n)).join(', ')}` : `tensors ${p.sniff.join(', ')} present`;
        return { name: p.name, dict: publishedPatternDict(p.name), reason: `published ${p.name} dict: ${why}` };
      }
      misfits.push(p.name);
    }
  }
  const dict = genericPatternDict(tensors, options);
  const tail = misfits.length > 0 ? ` (published ${[...new Set(misfits)].join(', ')} did not fit)` : '';
  return { name: 'generic', dict, reason: `generic dict built from tensor names${tail}` };
}
