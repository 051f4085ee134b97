/**
 * Rotary position embedding tables, computed on the host so that every GPU rotates with the same
 * cos/sin values (WGSL's cos/sin precision varies between implementations).
 *
 * Follows transformers' `_compute_default_rope_parameters` / `_compute_llama3_parameters` in
 * float32: inv_freq[i] = 1 / theta^(2i / head_dim), then angle = position * inv_freq[i] (float32
 * product), then cos and sin rounded to float32. Rotate-half layout: element i pairs with
 * element i + head_dim/2 and both use frequency i.
 */
import type { RopeScaling } from './model-config.js';

const f32 = Math.fround;

/** head_dim / 2 inverse frequencies (float32 values) after frequency scaling. */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = f32(f32(2 * i) / f32(headDim));
    inv[i] = f32(1 / f32(Math.pow(f32(theta), exponent)));
  }
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f32(inv[i]! / scaling.factor);
  } else if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
    const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
    const highFreqWavelen = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const freq = inv[i]!;
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen > lowFreqWavelen) {
        inv[i] = f32(freq / factor);
      } else if (wavelen >= highFreqWavelen) {
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[i] = f32(((1 - smooth) * freq) / factor + smooth * freq);
      }
    }
  }
  return inv;
}

/**
 * cos/sin for positions [0, positions): entry (p, i) at index 2 * (p * half + i) holds cos, the
 * next index sin, of angle p * inv_freq[i].
 */
export function ropeTable(invFreq: Float32Array, positions: number): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(positions * half * 2);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(f32(p) * invFreq[i]!);
      const at = 2 * (p * half + i);
      table[at] = Math.cos(angle);
      table[at + 1] = Math.sin(angle);
    }
  }
  return table;
}
