/**
 * Choosing the next token: greedy (temperature 0: the GPU's argmax), or sampling on the host from
 * the logits with temperature, top-k and top-p (applied in that order, as transformers does) and a
 * seeded generator, so a seed reproduces a run. Ties are broken by the lower token id everywhere.
 */
import { uniformRandom } from '../util/random.js';
import { Df11Error } from '../errors.js';

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
  /** Seed of the random generator (default 0). */
  seed?: number;
}

export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  private readonly random: () => number;

  /** @throws Df11Error 'usage' for a negative temperature, top-k or a top-p outside (0, 1]. */
  constructor(options: SamplingOptions = {}) {
    this.temperature = options.temperature ?? 0;
    this.topK = options.topK ?? 0;
    this.topP = options.topP ?? 1;
    if (!(this.temperature >= 0) || !Number.isFinite(this.temperature)) throw new Df11Error('usage', `temperature must be >= 0, got ${this.temperature}`);
    if (!Number.isSafeInteger(this.topK) || this.topK < 0) throw new Df11Error('usage', `top-k must be a whole number >= 0, got ${this.topK}`);
    if (!(this.topP > 0 && this.topP <= 1)) throw new Df11Error('usage', `top-p must be in (0, 1], got ${this.topP}`);
    this.random = uniformRandom(options.seed ?? 0);
  }

  /** True when the GPU's argmax is the choice (no logits needed). */
  get greedy(): boolean {
    return this.temperature === 0;
  }

  /** Draws a token from `logits` (not called when greedy). */
  sample(logits: Float32Array): number {
    const order = Array.from(logits.keys()).filter((i) => !Number.isNaN(logits[i]!));
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    const kept = this.topK > 0 ? order.slice(0, this.topK) : order;
    if (kept.length === 0) throw new Df11Error('generation', 'every logit is NaN');
    const max = logits[kept[0]!]!;
    const weights = kept.map((i) => Math.exp((logits[i]! - max) / this.temperature));
    const total = weights.reduce((s, w) => s + w, 0);
    let count = kept.length;
    if (this.topP < 1) {
      let cumulative = 0;
      for (let j = 0; j < kept.length; j++) {
        cumulative += weights[j]! / total;
        if (cumulative >= this.topP) {
          count = j + 1;
          break;
        }
      }
    }
    const mass = weights.slice(0, count).reduce((s, w) => s + w, 0);
    const coin = this.random() * mass;
    let acc = 0;
    for (let j = 0; j < count; j++) {
      acc += weights[j]!;
      if (coin < acc) return kept[j]!;
    }
    return kept[count - 1]!;
  }
}
