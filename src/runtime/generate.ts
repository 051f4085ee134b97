/**
 * The generation loop: prefill the prompt, then decode one token at a time until the token budget,
 * a stop token, the end of the KV cache (which cannot grow past the model's context or the memory
 * cap) or an abort. Reports time to first token and decode speed.
 */
import { Df11Error } from '../errors.js';
import type { InferenceEngine } from './engine.js';
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
  let input: readonly number[] = prompt;
  for (;;) {
    if (options.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    const r = await engine.forward(input, { logits: !sampler.greedy });
    const next = sampler.greedy ? r.argmax : sampler.sample(r.logits!);
    if (tokens.length === 0) firstAt = performance.now();
    tokens.push(next);
    options.onToken?.(next);
    if (stops.has(next)) {
      stopReason = 'stop-token';
      break;
    }
    if (tokens.length >= options.maxTokens) break;
    if (engine.position >= capacity) {
      stopReason = 'context-full';
      break;
    }
    input = [next];
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
