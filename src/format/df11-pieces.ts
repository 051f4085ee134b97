/**
 * Mapping a decoded unit back to weights (df11-format.md §9): `split_positions` cut the unit's N
 * elements into one piece per attr; each piece is the attr's `.weight`, whose 2-D shape is not
 * stored in the DF11 files and must come from the model definition: a BF16 checkpoint's header, or
 * the HF `config.json` fields of a Llama-like model. Each piece's rows × cols must equal its size.
 */
import { Df11Error } from '../errors.js';
import { WEIGHT_SUFFIX, type TensorInfo } from './df11-units.js';

/** One attr's slice of a unit. */
export interface UnitPiece {
  /** The attr (`''` for a `[]` unit: the module's own weight). */
  attr: string;
  /** The weight it restores, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  tensor: string;
  /** First element of the piece in the unit. */
  offset: number;
  numel: number;
  shape: number[];
}

/** What unitPieces needs of a unit (a Df11UnitRef has it). */
export interface UnitPieceSource {
  path: string;
  attrs: readonly string[];
  geometry: { n: number };
  splitPositions: readonly number[];
}

/** Looks up the shape of a weight by full tensor name; undefined when unknown. */
export type ShapeLookup = (tensor: string) => readonly number[] | undefined;

/** Shapes from a BF16 checkpoint's tensor list (e.g. SafetensorsModel entries). */
export function shapesFromTensors(tensors: Iterable<TensorInfo>): ShapeLookup {
  const m = new Map<string, readonly number[]>();
  for (const t of tensors) m.set(t.name, t.shape);
  return (name) => m.get(name);
}

function positiveInt(config: Record<string, unknown>, key: string): number | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new Df11Error('config-invalid', `config field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/**
 * Shapes of a Llama-like model's linear and embedding weights from HF config fields (`hidden_size`,
 * `intermediate_size`, `num_attention_heads`, `num_key_value_heads` (default: attention heads),
 * `head_dim` (default: hidden / heads), `vocab_size`). Covers `self_attn.{q,k,v,o}_proj`,
 * `mlp.{gate,up,down}_proj`, `lm_head` and `embed_tokens`; other names are unknown. Throws
 * `config-invalid` for a malformed field.
 */
export function shapesFromConfig(config: Readonly<Record<string, unknown>>): ShapeLookup {
  const c = config as Record<string, unknown>;
  const hidden = positiveInt(c, 'hidden_size');
  const inter = positiveInt(c, 'intermediate_size');
  const heads = positiveInt(c, 'num_attention_heads');
  const kvHeads = positiveInt(c, 'num_key_value_heads') ?? heads;
  const vocab = positiveInt(c, 'vocab_size');
  let headDim = positiveInt(c, 'head_dim');
  if (headDim === undefined && hidden !== undefined && heads !== undefined) {
    if (hidden % heads !== 0) throw new Df11Error('config-invalid', `hidden_size ${hidden} is not a multiple of num_attention_heads ${heads} and head_dim is missing`);
    headDim = hidden / heads;
  }
  const q = heads !== undefined && headDim !== undefined ? heads * headDim : undefined;
  const kv = kvHeads !== undefined && headDim !== undefined ? kvHeads * headDim : undefined;
  const shape = (rows: number | undefined, cols: number | undefined) => (rows !== undefined && cols !== undefined ? [rows, cols] : undefined);
  const table: Record<string, number[] | undefined> = {
    'self_attn.q_proj': shape(q, hidden),
    'self_attn.k_proj': shape(kv, hidden),
    'self_attn.v_proj': shape(kv, hidden),
    'self_attn.o_proj': shape(hidden, q),
    'mlp.gate_proj': shape(inter, hidden),
    'mlp.up_proj': shape(inter, hidden),
    'mlp.down_proj': shape(hidden, inter),
    lm_head: shape(vocab, hidden),
    embed_tokens: shape(vocab, hidden),
  };
  return (name) => {
    if (!name.endsWith(WEIGHT_SUFFIX)) return undefined;
    const mod = name.slice(0, -WEIGHT_SUFFIX.length);
    for (const [suffix, s] of Object.entries(table)) {
      if (mod === suffix || mod.endsWith('.' + suffix)) return s;
    }
    return undefined;
  };
}

/**
 * The pieces of a unit with their shapes (§9): sizes from split positions, shapes from `shapes`
 * (a lookup, a name → shape map, a tensor list, or an HF config object). Throws `unit-invalid` when a shape is unknown
 * or its element count differs from the piece size, naming the unit and the weight.
 */
export function unitPieces(
  unit: UnitPieceSource,
  shapes: ShapeLookup | ReadonlyMap<string, readonly number[]> | Iterable<TensorInfo> | Readonly<Record<string, unknown>>,
  file?: string,
): UnitPiece[] {
  const lookup: ShapeLookup =
    typeof shapes === 'function'
      ? (shapes as ShapeLookup)
      : shapes instanceof Map
        ? (name) => (shapes as ReadonlyMap<string, readonly number[]>).get(name)
        : Symbol.iterator in shapes
        ? shapesFromTensors(shapes as Iterable<TensorInfo>)
        : shapesFromConfig(shapes as Readonly<Record<string, unknown>>);
  const attrs = unit.attrs.length === 0 ? [''] : unit.attrs;
  if (unit.splitPositions.length !== attrs.length - 1) {
    throw new Df11Error('unit-invalid', `unit ${unit.path} has ${unit.splitPositions.length + 1} pieces but ${attrs.length} attrs`, { file, tensor: `${unit.path}.split_positions` });
  }
  const bounds = [0, ...unit.splitPositions, unit.geometry.n];
  return attrs.map((attr, i) => {
    const tensor = attr === '' ? `${unit.path}${WEIGHT_SUFFIX}` : `${unit.path}.${attr}${WEIGHT_SUFFIX}`;
    const offset = bounds[i]!;
    const numel = bounds[i + 1]! - offset;
    const shape = lookup(tensor);
    if (shape === undefined) throw new Df11Error('unit-invalid', `shape of piece ${i} of unit ${unit.path} is unknown`, { file, tensor });
    let prod = 1;
    for (const d of shape) prod *= d;
    if (shape.length === 0 || prod !== numel) {
      throw new Df11Error('unit-invalid', `piece ${i} of unit ${unit.path} holds ${numel} weights but the shape [${shape.join(', ')}] needs ${prod}`, { file, tensor });
    }
    return { attr, tensor, offset, numel, shape: [...shape] };
  });
}
