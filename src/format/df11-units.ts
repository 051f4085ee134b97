/**
 * Unit planning: which tensors of a BF16 model a `pattern_dict` compresses, as which units, in which
 * order (df11-format.md §2.3, §4, §9). Works on tensor names, dtypes and shapes only.
 *
 * Rules (the reference compressor walks `model.named_modules()`; we only have tensor names):
 * - **Modules** are the dotted prefixes of tensor names: a module `p` exists iff some tensor is
 *   named `p.…`, or an alias (`options.aliases`) is.
 * - **Tied weights.** With `tie_word_embeddings: true` a checkpoint has no `lm_head.weight`, but the
 *   reference compressor walks modules, finds `lm_head` (sharing the embedding's parameter) and
 *   compresses it as its own unit: run on the tied demo model with the Llama dict it writes
 *   `lm_head.safetensors` AND `model_embed_tokens.safetensors`, byte-identical units. Its loader
 *   needs that: it deletes the embedding's weight when it loads the `model.embed_tokens` unit, so an
 *   `lm_head` without its own unit would keep uninitialised memory. `tiedWeightAliases(config, …)`
 *   gives the alias `lm_head.weight` → `model.embed_tokens.weight`; passed as `options.aliases`, the
 *   alias is planned like a real tensor (`PlannedAttr.source` names the tensor holding the data).
 *   Without aliases there is no `lm_head` module and no `lm_head` unit.
 * - **Order**: pattern by pattern in key order; within a pattern, matched module paths in natural
 *   order (dot-separated segments; all-digit segments compare as numbers, so `layers.2` comes before
 *   `layers.10`; other segments by UTF-16 code units; a numeric segment sorts before a non-numeric
 *   one; a path sorts before its extensions). For module lists built by `nn.ModuleList`, which every
 *   published pattern enumerates, this is the model-definition order.
 * - **Attrs**: `[]` → the unit is the module itself and its one weight `<path>.weight`; else each
 *   attr's `<path>.<attr>.weight`, in list order. A missing weight → `pattern-mismatch`; a weight that
 *   is not BF16 → `not-bf16` (DF11 is BF16 only; converting F32/F16 weights is the caller's explicit
 *   choice, never done silently here); an empty weight → `pattern-mismatch`.
 * - **Extra tensors**: the module's other tensors (norms, biases), written uncompressed into the
 *   unit's shard (§2.1). **Remainder**: every tensor outside all units, in input order.
 * - A module matching two patterns, or a unit nested inside another unit, is `pattern-mismatch`
 *   (the reference would compress a weight twice and crash).
 */
import { Df11Error } from '../errors.js';
import type { Dtype } from './dtype.js';
import { compilePatternDict, type PatternDict } from './df11-config.js';
import { DF11_MAX_INDEX_EXCLUSIVE } from './df11-unit-tensors.js';

/** What planning needs to know about a tensor (a safetensors header entry has all of it). */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

/** The suffix of the parameter a unit compresses. */
export const WEIGHT_SUFFIX = '.weight';
/** The only dtype DF11 can compress. */
export const DF11_SOURCE_DTYPE: Dtype = 'BF16';

export interface PlannedAttr {
  /** The attr as listed in the pattern dict; `''` for a `[]` unit (the module itself). */
  attr: string;
  /** Full tensor name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  tensor: string;
  /** The tensor holding the data: `tensor` itself, or the alias target for a tied weight. */
  source: string;
  shape: number[];
  numel: number;
}

export interface PlannedUnit {
  /** Module path, e.g. `model.layers.0`. */
  path: string;
  /** The pattern_dict key that matched it. */
  pattern: string;
  /** Pieces in concatenation order. */
  attrs: PlannedAttr[];
  /** Weights in the unit (N). */
  numel: number;
  /** The module's other tensors (stored uncompressed beside the unit), in input order. */
  extraTensors: string[];
}

export interface UnitPlan {
  units: PlannedUnit[];
  /** Tensors outside all units, in input order. */
  remainder: string[];
}

const DIGITS = /^[0-9]+$/;

/** Natural order of dotted module paths (see the file header). */
export function compareModulePaths(a: string, b: string): number {
  const as = a.split('.');
  const bs = b.split('.');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    const xn = DIGITS.test(x);
    const yn = DIGITS.test(y);
    if (xn && yn) {
      const xs = x.replace(/^0+(?=.)/, '');
      const ys = y.replace(/^0+(?=.)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      return x < y ? -1 : 1; // same value, different leading zeros
    }
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return as.length - bs.length;
}

/** Every module path implied by the tensor names (proper dotted prefixes), in natural order. */
export function modulePaths(names: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const n of names) {
    for (let i = n.indexOf('.'); i >= 0; i = n.indexOf('.', i + 1)) set.add(n.slice(0, i));
  }
  return [...set].sort(compareModulePaths);
}

/** Product of a shape's dimensions, exact (throws `pattern-mismatch` beyond 2^53). */
export function shapeNumel(shape: readonly number[], tensor: string, file?: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new Df11Error('pattern-mismatch', `shape [${shape.join(', ')}] has too many elements`, { file, tensor });
  }
  return n;
}

export interface PlanOptions {
  /** Named in errors (the model file or directory). */
  file?: string;
  /** Weights that exist in the model definition but not in the file: alias name → tensor holding the data. */
  aliases?: Readonly<Record<string, string>>;
}

/** The embedding / output-head pair that `tie_word_embeddings` ties in transformers causal LMs. */
export const TIED_HEAD_WEIGHT = 'lm_head.weight';
export const TIED_EMBEDDING_WEIGHT = 'model.embed_tokens.weight';

/**
 * Aliases for tied weights as the reference sees them: `{ 'lm_head.weight': 'model.embed_tokens.weight' }`
 * when the config says `tie_word_embeddings: true` (explicitly), the checkpoint has the embedding and
 * no `lm_head.weight`; else `{}`.
 */
export function tiedWeightAliases(config: unknown, tensorNames: Iterable<string>): Record<string, string> {
  if (typeof config !== 'object' || config === null || (config as Record<string, unknown>)['tie_word_embeddings'] !== true) return {};
  const names = new Set(tensorNames);
  return names.has(TIED_EMBEDDING_WEIGHT) && !names.has(TIED_HEAD_WEIGHT) ? { [TIED_HEAD_WEIGHT]: TIED_EMBEDDING_WEIGHT } : {};
}

/**
 * Plans the units of a BF16 model (rules in the file header). Throws `config-invalid` for a pattern
 * that does not compile, `pattern-mismatch` when the dict does not fit the model, `not-bf16` for a
 * non-BF16 unit weight and `unit-invalid` for a unit of 2^31 or more weights.
 */
export function planUnits(tensors: readonly TensorInfo[], dict: PatternDict, options: PlanOptions = {}): UnitPlan {
  const { file } = options;
  const byName = new Map<string, TensorInfo>();
  for (const t of tensors) {
    if (byName.has(t.name)) throw new Df11Error('duplicate-tensor', 'tensor listed twice', { file, tensor: t.name });
    byName.set(t.name, t);
  }
  const aliasOf = new Map<string, string>();
  for (const [alias, target] of Object.entries(options.aliases ?? {})) {
    const t = byName.get(target);
    if (byName.has(alias)) throw new Df11Error('duplicate-tensor', `alias ${alias} is also a real tensor`, { file, tensor: alias });
    if (t === undefined) throw new Df11Error('tensor-not-found', `alias ${alias} points at a missing tensor`, { file, tensor: target });
    aliasOf.set(alias, target);
    byName.set(alias, { ...t, name: alias });
  }
  const compiled = compilePatternDict(dict, file);
  const paths = modulePaths(byName.keys());
  const owner = new Map<string, string>();
  const matched: string[][] = compiled.map(() => []);
  for (const p of paths) {
    compiled.forEach((c, i) => {
      if (!c.regex.test(p)) return;
      const prev = owner.get(p);
      if (prev !== undefined) {
        throw new Df11Error('pattern-mismatch', `module ${p} matches both pattern_dict keys ${JSON.stringify(prev)} and ${JSON.stringify(c.pattern)}`, { file });
      }
      owner.set(p, c.pattern);
      matched[i]!.push(p);
    });
  }
  for (const p of owner.keys()) {
    for (let i = p.indexOf('.'); i >= 0; i = p.indexOf('.', i + 1)) {
      const outer = p.slice(0, i);
      if (owner.has(outer)) throw new Df11Error('pattern-mismatch', `unit ${p} lies inside unit ${outer}`, { file });
    }
  }

  const inUnit = new Set<string>();
  const units: PlannedUnit[] = [];
  compiled.forEach((c, i) => {
    for (const path of matched[i]!) {
      const attrNames = c.attrs.length === 0 ? [''] : c.attrs;
      const attrs: PlannedAttr[] = attrNames.map((attr) => {
        const tensor = attr === '' ? `${path}${WEIGHT_SUFFIX}` : `${path}.${attr}${WEIGHT_SUFFIX}`;
        const t = byName.get(tensor);
        if (t === undefined) {
          throw new Df11Error('pattern-mismatch', `module ${path} matches pattern_dict key ${JSON.stringify(c.pattern)} but the model has no ${tensor}`, { file, tensor });
        }
        if (t.dtype !== DF11_SOURCE_DTYPE) {
          throw new Df11Error('not-bf16', `unit ${path} needs BF16 weights but this one is ${t.dtype}; DF11 compresses BF16 only (convert the model to BF16 explicitly first)`, { file, tensor });
        }
        const numel = shapeNumel(t.shape, tensor, file);
        if (numel === 0) throw new Df11Error('pattern-mismatch', `weight of unit ${path} is empty (shape [${t.shape.join(', ')}])`, { file, tensor });
        if (!aliasOf.has(tensor)) inUnit.add(tensor);
        return { attr, tensor, source: aliasOf.get(tensor) ?? tensor, shape: [...t.shape], numel };
      });
      const numel = attrs.reduce((s, a) => s + a.numel, 0);
      if (numel >= DF11_MAX_INDEX_EXCLUSIVE) {
        throw new Df11Error('unit-invalid', `unit ${path} would hold ${numel} weights; DF11 units must stay below 2^31`, { file });
      }
      units.push({ path, pattern: c.pattern, attrs, numel, extraTensors: [] });
    }
  });

  const byPath = new Map(units.map((u) => [u.path, u]));
  const remainder: string[] = [];
  for (const t of tensors) {
    if (inUnit.has(t.name)) continue;
    let unit: PlannedUnit | undefined;
    for (let i = t.name.indexOf('.'); i >= 0 && unit === undefined; i = t.name.indexOf('.', i + 1)) unit = byPath.get(t.name.slice(0, i));
    if (unit) unit.extraTensors.push(t.name);
    else remainder.push(t.name);
  }
  return { units, remainder };
}
