// Tiny synthetic models of each supported family, held in memory as engine ModelFiles (BF16, and
// DF11 units encoded with the codec), and a plain CPU forward pass to check the GPU against.
import { encodeUnit } from '../../src/codec/encode.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import type { Dtype } from '../../src/format/dtype.js';
import type { ModelConfig } from '../../src/runtime/model-config.js';
import type { Bf16ModelFiles, Df11ModelFiles, TensorSource } from '../../src/runtime/model-files.js';
import { ropeInverseFrequencies } from '../../src/runtime/rope.js';
import { EMBEDDING_WEIGHT, FINAL_NORM_WEIGHT, LAYER_MATRICES, layerNormWeight, LM_HEAD_WEIGHT, matrixBias, matrixWeight, MATRIX_MODULES } from '../../src/runtime/weight-names.js';
import { matrixShape } from '../../src/runtime/weights/matrix-shapes.js';
import { syntheticBf16Weights } from '../../src/synthetic/weights.js';

/** The shape the tests' tiny synthetic models share (add model_type and the family's keys). */
export const TINY_CONFIG = {
  hidden_size: 48,
  intermediate_size: 80,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 96,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
} as const;

interface Tensor {
  shape: number[];
  bf16: Uint16Array;
}

function bf16ToF32(bits: Uint16Array): Float32Array {
  return new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
}

/** BF16 values near `center` (norm weights) or around 0 (matrices, biases). */
function weights(n: number, seed: number, std: number, center = 0): Uint16Array {
  const w = syntheticBf16Weights(n, { seed, std });
  if (center === 0) return w;
  const f = bf16ToF32(w);
  const out = new Uint16Array(n);
  const bits = new Uint32Array(1);
  const fl = new Float32Array(bits.buffer);
  for (let i = 0; i < n; i++) {
    fl[0] = f[i]! + center;
    out[i] = (bits[0]! + 0x7fff + ((bits[0]! >>> 16) & 1)) >>> 16;
  }
  return out;
}

export interface SyntheticModel {
  config: Record<string, unknown>;
  tensors: Map<string, Tensor>;
}

/** A model of `config` (HF fields) with seeded weights for every tensor the engine reads. */
export function syntheticModel(config: Record<string, unknown>, parsed: ModelConfig, seed = 1): SyntheticModel {
  const tensors = new Map<string, Tensor>();
  let s = seed;
  const add = (name: string, shape: number[], std: number, center = 0) => tensors.set(name, { shape, bf16: weights(shape.reduce((a, b) => a * b, 1), s++, std, center) });
  const c = parsed;
  add(EMBEDDING_WEIGHT, [c.vocabSize, c.hiddenSize], 1);
  for (let l = 0; l < c.layers; l++) {
    add(layerNormWeight(l, 'input'), [c.hiddenSize], 0.1, 1);
    add(layerNormWeight(l, 'post'), [c.hiddenSize], 0.1, 1);
    for (const m of LAYER_MATRICES) add(matrixWeight(l, m), matrixShape(c, m), 0.15);
    if (c.qkvBias) for (const m of ['q', 'k', 'v'] as const) add(matrixBias(l, m), [matrixShape(c, m)[0]], 0.1);
    if (c.oBias) add(matrixBias(l, 'o'), [c.hiddenSize], 0.1);
    if (c.qkNorm) {
      add(layerNormWeight(l, 'q'), [c.headDim], 0.1, 1);
      add(layerNormWeight(l, 'k'), [c.headDim], 0.1, 1);
    }
  }
  add(FINAL_NORM_WEIGHT, [c.hiddenSize], 0.1, 1);
  if (!c.tieWordEmbeddings) add(LM_HEAD_WEIGHT, [c.vocabSize, c.hiddenSize], 0.15);
  return { config, tensors };
}

function source(tensors: Map<string, Tensor>): TensorSource {
  return {
    has: (name) => tensors.has(name),
    entry: (name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`no ${name}`);
      return { dtype: 'BF16' as Dtype, shape: t.shape };
    },
    read: async (name) => {
      const t = tensors.get(name)!;
      return new Uint8Array(t.bf16.buffer.slice(t.bf16.byteOffset, t.bf16.byteOffset + t.bf16.byteLength));
    },
  };
}

export function bf16Files(m: SyntheticModel): Bf16ModelFiles {
  return { kind: 'bf16', name: 'synthetic', config: m.config, tensors: source(m.tensors) };
}

/**
 * The model as DF11 files: each layer one unit with the published Llama attrs (q, k, v, o, gate, up,
 * down), the embedding (and head) as `[]` units; norms and biases stay BF16.
 */
export function df11Files(m: SyntheticModel, parsed: ModelConfig): Df11ModelFiles {
  const units = new Map<string, Df11Unit>();
  const infos: Df11ModelFiles['units'][number][] = [];
  const plain = new Map(m.tensors);
  const addUnit = (path: string, attrs: string[], names: string[]) => {
    const parts = names.map((n) => m.tensors.get(n)!.bf16);
    const all = new Uint16Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const unit = encodeUnit(all, parts.map((p) => p.length));
    units.set(path, unit);
    infos.push({ path, attrs, geometry: { n: all.length }, splitPositions: Array.from(unit.splitPositions, Number) });
    for (const n of names) plain.delete(n);
  };
  for (let l = 0; l < parsed.layers; l++) {
    addUnit(`model.layers.${l}`, LAYER_MATRICES.map((x) => MATRIX_MODULES[x]), LAYER_MATRICES.map((x) => matrixWeight(l, x)));
  }
  addUnit('model.embed_tokens', [], [EMBEDDING_WEIGHT]);
  if (!parsed.tieWordEmbeddings) addUnit('lm_head', [], [LM_HEAD_WEIGHT]);
  return { kind: 'df11', name: 'synthetic df11', config: m.config, tensors: source(plain), units: infos, readUnit: async (p) => units.get(p)! };
}

/** Logits of the last of `tokens` by a direct CPU forward pass (float64 arithmetic). */
export function referenceLogits(m: SyntheticModel, c: ModelConfig, tokens: readonly number[]): Float64Array {
  const f = (name: string) => bf16ToF32(m.tensors.get(name)!.bf16);
  const H = c.hiddenSize;
  const hd = c.headDim;
  const matvec = (w: Float32Array, rows: number, cols: number, x: ArrayLike<number>, bias?: Float32Array) => {
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += w[r * cols + k]! * x[k]!;
      y[r] = s + (bias ? bias[r]! : 0);
    }
    return y;
  };
  const rms = (x: ArrayLike<number>, w: Float32Array, off = 0, n = x.length) => {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[off + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / n + c.rmsNormEps);
    return Float64Array.from({ length: n }, (_, i) => w[i]! * inv * x[off + i]!);
  };
  const inv = ropeInverseFrequencies(hd, c.ropeTheta, c.ropeScaling);
  const rope = (v: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const a = pos * inv[i]!;
        const x0 = v[h * hd + i]!;
        const x1 = v[h * hd + i + hd / 2]!;
        v[h * hd + i] = x0 * Math.cos(a) - x1 * Math.sin(a);
        v[h * hd + i + hd / 2] = x1 * Math.cos(a) + x0 * Math.sin(a);
      }
    }
  };
  const emb = f(EMBEDDING_WEIGHT);
  const xs = tokens.map((t) => Float64Array.from(emb.subarray(t * H, (t + 1) * H)));
  const qDim = c.heads * hd;
  const kvDim = c.kvHeads * hd;
  for (let l = 0; l < c.layers; l++) {
    const W = (x: (typeof LAYER_MATRICES)[number]) => f(matrixWeight(l, x));
    const B = (x: 'q' | 'k' | 'v' | 'o') => (m.tensors.has(matrixBias(l, x)) ? f(matrixBias(l, x)) : undefined);
    const ks: Float64Array[] = [];
    const vs: Float64Array[] = [];
    xs.forEach((x, pos) => {
      const h = rms(x, f(layerNormWeight(l, 'input')));
      const q = matvec(W('q'), qDim, H, h, B('q'));
      const k = matvec(W('k'), kvDim, H, h, B('k'));
      const v = matvec(W('v'), kvDim, H, h, B('v'));
      if (c.qkNorm) {
        for (let i = 0; i < c.heads; i++) q.set(rms(q, f(layerNormWeight(l, 'q')), i * hd, hd), i * hd);
        for (let i = 0; i < c.kvHeads; i++) k.set(rms(k, f(layerNormWeight(l, 'k')), i * hd, hd), i * hd);
      }
      rope(q, c.heads, pos);
      rope(k, c.kvHeads, pos);
      ks.push(k);
      vs.push(v);
      const att = new Float64Array(qDim);
      for (let i = 0; i < c.heads; i++) {
        const g = Math.floor(i / (c.heads / c.kvHeads));
        const scores = ks.map((kk) => {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[i * hd + d]! * kk[g * hd + d]!;
          return s / Math.sqrt(hd);
        });
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) att[i * hd + d] = e.reduce((s, w, j) => s + (w / z) * vs[j]![g * hd + d]!, 0);
      }
      const o = matvec(W('o'), H, qDim, att, B('o'));
      for (let i = 0; i < H; i++) x[i] = x[i]! + o[i]!;
      const h2 = rms(x, f(layerNormWeight(l, 'post')));
      const gate = matvec(W('gate'), c.intermediateSize, H, h2);
      const up = matvec(W('up'), c.intermediateSize, H, h2);
      const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]!);
      const d = matvec(W('down'), H, c.intermediateSize, act);
      for (let i = 0; i < H; i++) x[i] = x[i]! + d[i]!;
    });
  }
  const last = rms(xs[xs.length - 1]!, f(FINAL_NORM_WEIGHT));
  const head = c.tieWordEmbeddings ? emb : f(LM_HEAD_WEIGHT);
  return matvec(head, c.vocabSize, H, last);
}
