/**
 * The generation loop: prefill the prompt, then decode one token at a time until the token budget,
 * a stop token, the end of the KV cache (which cannot grow past the model's context or the memory
 * cap) or an abort. Reports time to first token and decode speed.
 */
import { Df11Error } from '../errors.js';
import { GREEDY_WINDOW_TOKENS, type InferenceEngine } from './engine.js';
import { Sampler, type SamplingOptions } from './sampler.js';

export type StopReason = 'max-tokens' | 'stop-token' | 'context-full' | 'aborted';

export interface GenerateOptions {
  /** Tokens to generate at most (>= 1). */
  maxTokens: number;
  sampling?: SamplingOptions;
  /** Ids that end generation (they are reported but not counted as text). */
  stopTokens?: readonly number[];
  signal?: AbortSignal;
  /** Called with each generated id, in order. */
  onToken?: (id: number) => void;
}

export interface GenerationSummary {
  /** Generated ids (a final stop token included). */
  tokens: number[];
  promptTokens: number;
  stopReason: StopReason;
  /** KV cache positions that were available. */
  capacity: number;
  /** From the start of prefill to the first generated token, in ms. */
  timeToFirstTokenMs: number;
  /** Tokens after the first one per second of decoding (NaN with fewer than two tokens). */
  decodeTokensPerSecond: number;
  totalMs: number;
}

const MS_PER_S = 1000;

/**
 * Generates from `prompt` (ids, at least one, e.g. BOS) at position 0 of `engine`.
 * @throws Df11Error 'usage' for maxTokens < 1, 'generation' when the prompt alone exceeds the KV
 *   cache, plus engine errors.
 */
export async function generate(engine: InferenceEngine, prompt: readonly number[], options: GenerateOptions): Promise<GenerationSummary> {
  if (!Number.isSafeInteger(options.maxTokens) || options.maxTokens < 1) throw new Df11Error('usage', `max tokens must be a positive whole number, got ${options.maxTokens}`);
  if (prompt.length === 0) throw new Df11Error('generation', 'the prompt has no tokens');
  const sampler = new Sampler(options.sampling);
  const stops = new Set(options.stopTokens ?? []);
  engine.reset();
  // the last generated token is never fed back, so prompt + maxTokens - 1 positions suffice
  const capacity = engine.reserve(prompt.length + options.maxTokens - 1);
  if (capacity < prompt.length) {
    throw new Df11Error('generation', `the prompt has ${prompt.length} tokens but the KV cache holds only ${capacity} positions (context or GPU memory limit)`);
  }
  const tokens: number[] = [];
  const started = performance.now();
  let firstAt = started;
  let stopReason: StopReason = 'max-tokens';
  // Takes a generated id, after which the KV cache holds `position` positions; true when generation ends with it.
  const accept = (next: number, position: number): boolean => {
    if (tokens.length === 0) firstAt = performance.now();
    tokens.push(next);
    options.onToken?.(next);
    if (stops.has(next)) {
      stopReason = 'stop-token';
      return true;
    }
    if (tokens.length >= options.maxTokens) return true;
    if (position >= capacity) {
      stopReason = 'context-full';
      return true;
    }
    return false;
  };
  if (options.signal?.aborted) {
    stopReason = 'aborted';
  } else {
    const first = await engine.forward(prompt, { logits: !sampler.greedy });
    let done = accept(sampler.greedy ? first.argmax : sampler.sample(first.logits!), engine.position);
    // Greedy: windows of tokens decoded on the GPU without a readback per token (1, 2, 4, ... up to
    // GREEDY_WINDOW_TOKENS, so that the first ones show soon); the ids equal a step-by-step loop's.
    let window = 1;
    while (!done) {
      if (options.signal?.aborted) {
        stopReason = 'aborted';
        break;
      }
      const last = tokens[tokens.length - 1]!;
      if (!sampler.greedy) {
        const r = await engine.forward([last], { logits: true });
        done = accept(sampler.sample(r.logits!), engine.position);
        continue;
      }
      const count = Math.min(window, GREEDY_WINDOW_TOKENS, options.maxTokens - tokens.length, capacity - engine.position);
      window *= 2;
      const from = engine.position;
      const ids = await engine.forwardGreedy(last, count);
      for (let i = 0; i < ids.length && !done; i++) {
        done = accept(ids[i]!, from + i + 1);
        // ran past a stop token: the ids after it were never fed back
        if (done && i < ids.length - 1) engine.rewind(from + i + 1);
      }
    }
  }
  const ended = performance.now();
  return {
    tokens,
    promptTokens: prompt.length,
    stopReason,
    capacity,
    timeToFirstTokenMs: firstAt - started,
    decodeTokensPerSecond: tokens.length > 1 ? ((tokens.length - 1) * MS_PER_S) / (ended - firstAt) : Number.NaN,
    totalMs: ended - started,
  };
}
