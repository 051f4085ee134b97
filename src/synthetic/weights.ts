// Seeded synthetic weights with the statistics of trained models: normal(0, std) rounded to BF16.
// Used by benchmarks (`df11 bench`) and tests where real weights of the needed size are not at hand.
// Deterministic across platforms: mulberry32 for uniform 32-bit numbers, Box-Muller for normals.

import { f32BitsToBf16 } from '../format/float.js';
import { mulberry32 } from '../util/random.js';

export { mulberry32 };

/** The standard deviation of linear weights in trained LLMs of the Llama family (about 10.9 DF11 bits/weight). */
export const REALISTIC_WEIGHT_STD = 0.02;

const TWO_POW_32 = 4294967296;

/**
 * `n` BF16 bit patterns of normal(0, std) values, deterministic for a given seed. Writes into `out`
 * when given (it must hold `n` elements).
 */
export function syntheticBf16Weights(n: number, options: { seed?: number; std?: number; out?: Uint16Array } = {}): Uint16Array {
  const { seed = 1, std = REALISTIC_WEIGHT_STD } = options;
  const out = options.out ?? new Uint16Array(n);
  if (out.length < n) throw new RangeError('syntheticBf16Weights: output shorter than n');
  const next = mulberry32(seed);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  for (let i = 0; i < n; i += 2) {
    // Box-Muller: two uniforms in (0, 1] give two independent standard normals.
    const u1 = (next() + 1) / TWO_POW_32;
    const u2 = next() / TWO_POW_32;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    f32[0] = r * Math.cos(2 * Math.PI * u2);
    out[i] = f32BitsToBf16(bits[0]!);
    if (i + 1 < n) {
      f32[0] = r * Math.sin(2 * Math.PI * u2);
      out[i + 1] = f32BitsToBf16(bits[0]!);
    }
  }
  return out;
}
