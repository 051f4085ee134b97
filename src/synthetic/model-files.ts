/**
 * A synthetic Llama-family model of a real shape, served from memory as engine ModelFiles without
 * ever holding the whole model: ONE decoder layer's seven matrices live in one buffer that every
 * layer's tensors are views of, and one [vocab, hidden] matrix serves as both embedding and output
 * head. In DF11 form, one layer unit (encoded from that buffer) is served for every layer and one
 * unit for the embedding and the head. Fine for timing (the bytes each mode moves per token are
 * those of the real model); the generated text means nothing.
 *
 * Weights are normal(0, std) rounded to BF16 (syntheticBf16Weights): a block of
 * SYNTHETIC_BLOCK_WEIGHTS seeded weights, tiled (generating a 7.5 G-weight 8B model's 1.3 G distinct
 * weights one by one would take minutes; the tiling leaves the exponent statistics, hence the DF11
 * size, unchanged). The block length is prime so tiles do not line up with rows. Norm weights are 1.
 */
import type { Df11Unit } from '../codec/unit.js';
import type { Dtype } from '../format/dtype.js';
import type { ModelConfig } from '../runtime/model-config.js';
import type { Bf16ModelFiles, Df11ModelFiles, Df11UnitInfo, TensorSource } from '../runtime/model-files.js';
import { EMBEDDING_WEIGHT, FINAL_NORM_WEIGHT, LAYER_MATRICES, layerNormWeight, LM_HEAD_WEIGHT, MATRIX_MODULES, matrixWeight } from '../runtime/weight-names.js';
import { matrixShape } from '../runtime/weights/matrix-shapes.js';
import { REALISTIC_WEIGHT_STD, syntheticBf16Weights } from './weights.js';

/** Distinct weights generated per matrix buffer (a prime, ~4.2 M). */
export const SYNTHETIC_BLOCK_WEIGHTS = 4_194_301;
/** BF16 1.0: the RMSNorm weights. */
const BF16_ONE = 0x3f80;
export const EMBEDDING_UNIT_PATH = 'model.embed_tokens';
export const HEAD_UNIT_PATH = 'lm_head';

/** Fills `out` with the seeded block of weights, repeated. */
export function fillSyntheticWeights(out: Uint16Array, seed: number, std: number): void {
  const block = syntheticBf16Weights(Math.min(out.length, SYNTHETIC_BLOCK_WEIGHTS), { seed, std });
  for (let at = 0; at < out.length; at += block.length) out.set(block.subarray(0, Math.min(block.length, out.length - at)), at);
}

interface Piece {
  shape: [number, number];
  offset: number;
  size: number;
}

function bytesOf(a: Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class SyntheticModel {
  /** One layer's matrices, concatenated in LAYER_MATRICES order. */
  readonly layerWeights: Uint16Array;
  /** [vocab, hidden]: the embedding and the output head. */
  readonly vocabWeights: Uint16Array;
  private readonly pieces = new Map<string, Piece>();
  private readonly ones: Uint16Array;

  /**
   * @param config the HF config (its num_hidden_layers is the layer count served)
   * @param parsed parseModelConfig(config)
   */
  constructor(
    readonly config: Readonly<Record<string, unknown>>,
    readonly parsed: ModelConfig,
    readonly seed = 1,
    readonly std = REALISTIC_WEIGHT_STD,
  ) {
    let offset = 0;
    for (const m of LAYER_MATRICES) {
      const shape = matrixShape(parsed, m);
      const size = shape[0] * shape[1];
      this.pieces.set(m, { shape, offset, size });
      offset += size;
    }
    this.layerWeights = new Uint16Array(offset);
    fillSyntheticWeights(this.layerWeights, seed, std);
    this.vocabWeights = new Uint16Array(parsed.vocabSize * parsed.hiddenSize);
    fillSyntheticWeights(this.vocabWeights, seed + 1, std);
    this.ones = new Uint16Array(Math.max(parsed.hiddenSize, parsed.headDim)).fill(BF16_ONE);
  }

  /** Weights of the whole model (every layer, embedding and head). */
  get weightCount(): number {
    return this.parsed.layers * this.layerWeights.length + 2 * this.vocabWeights.length;
  }

  /** Element counts of the layer unit's pieces (q, k, v, o, gate, up, down). */
  get layerPieceSizes(): number[] {
    return LAYER_MATRICES.map((m) => this.pieces.get(m)!.size);
  }

  /** The layer matrix or norm `name` refers to, if it is one: [layer, matrix] or [layer, norm]. */
  private layerTensor(name: string): { kind: 'matrix'; piece: Piece } | { kind: 'norm'; size: number } | undefined {
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
    if (!m || Number(m[1]) >= this.parsed.layers) return undefined;
    const layer = Number(m[1]);
    for (const x of LAYER_MATRICES) if (name === matrixWeight(layer, x)) return { kind: 'matrix', piece: this.pieces.get(x)! };
    if (name === layerNormWeight(layer, 'input') || name === layerNormWeight(layer, 'post')) return { kind: 'norm', size: this.parsed.hiddenSize };
    return undefined;
  }

  private source(withMatrices: boolean): TensorSource {
    const hidden = this.parsed.hiddenSize;
    const find = (name: string): { shape: number[]; data: () => Uint16Array } | undefined => {
      if (name === FINAL_NORM_WEIGHT) return { shape: [hidden], data: () => this.ones.subarray(0, hidden) };
      if (withMatrices && (name === EMBEDDING_WEIGHT || name === LM_HEAD_WEIGHT)) return { shape: [this.parsed.vocabSize, hidden], data: () => this.vocabWeights };
      const t = this.layerTensor(name);
      if (t?.kind === 'norm') return { shape: [t.size], data: () => this.ones.subarray(0, t.size) };
      if (t?.kind === 'matrix' && withMatrices) {
        const p = t.piece;
        return { shape: [...p.shape], data: () => this.layerWeights.subarray(p.offset, p.offset + p.size) };
      }
      return undefined;
    };
    return {
      has: (name) => find(name) !== undefined,
      entry: (name) => {
        const t = find(name);
        if (t === undefined) throw new RangeError(`synthetic model has no tensor ${name}`);
        return { dtype: 'BF16' as Dtype, shape: t.shape };
      },
      read: async (name) => {
        const t = find(name);
        if (t === undefined) throw new RangeError(`synthetic model has no tensor ${name}`);
        return bytesOf(t.data());
      },
    };
  }

  /** The model as BF16 files; every layer reads views of the same buffer (no copies). */
  bf16Files(): Bf16ModelFiles {
    return { kind: 'bf16', name: `synthetic ${this.describeShape()}`, config: this.config, tensors: this.source(true) };
  }

  /**
   * The model as DF11 files: `layerUnit` (encoded from layerWeights with pieces layerPieceSizes) for
   * every layer, `vocabUnit` (encoded from vocabWeights) for the embedding and the head.
   */
  df11Files(layerUnit: Df11Unit, vocabUnit: Df11Unit): Df11ModelFiles {
    const units: Df11UnitInfo[] = [];
    const splits = Array.from(layerUnit.splitPositions, Number);
    for (let l = 0; l < this.parsed.layers; l++) {
      units.push({ path: `model.layers.${l}`, attrs: LAYER_MATRICES.map((m) => MATRIX_MODULES[m]), geometry: { n: this.layerWeights.length }, splitPositions: splits });
    }
    units.push({ path: EMBEDDING_UNIT_PATH, attrs: [], geometry: { n: this.vocabWeights.length }, splitPositions: [] });
    units.push({ path: HEAD_UNIT_PATH, attrs: [], geometry: { n: this.vocabWeights.length }, splitPositions: [] });
    return {
      kind: 'df11',
      name: `synthetic ${this.describeShape()} (DF11)`,
      config: this.config,
      tensors: this.source(false),
      units,
      readUnit: async (path) => (path === EMBEDDING_UNIT_PATH || path === HEAD_UNIT_PATH ? vocabUnit : layerUnit),
    };
  }

  /** "32 layers, hidden 4096, intermediate 14336, 32/8 heads, vocab 128256". */
  describeShape(): string {
    const c = this.parsed;
    return `${c.layers} layers, hidden ${c.hiddenSize}, intermediate ${c.intermediateSize}, ${c.heads}/${c.kvHeads} heads, vocab ${c.vocabSize}`;
  }
}
