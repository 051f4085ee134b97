/**
 * A multi-turn conversation on one InferenceEngine. Each turn renders the whole conversation with
 * the chat template and tokenizes it; when the engine's KV cache already holds a prefix of those ids
 * (the previous turn's prompt and reply, re-tokenized the same way), only the new ids are run,
 * otherwise the cache is dropped and the whole conversation is prefilled again. Generation stops at
 * a stop token, the token budget, the end of the KV cache or an abort.
 */
import { Df11Error } from '../errors.js';
import type { ChatMessage, ChatTemplate } from './chat-template.js';
import type { InferenceEngine } from './engine.js';
import type { StopReason } from './generate.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import type { TextTokenizer } from './tokenizer.js';

export interface ChatSessionOptions {
  tokenizer: TextTokenizer;
  template: ChatTemplate;
  /**
   * Prepend the tokenizer's BOS (encode with `bos: true`): for templates that do not write
   * `bos_token` into the text, and tokenizers that cannot read special tokens from text (llama2.c).
   */
  addBos: boolean;
  /** Values of the template's bos_token and eos_token. */
  bosToken?: string | undefined;
  eosToken?: string | undefined;
  /** Ids that end a reply. */
  stopTokens: readonly number[];
  sampling?: SamplingOptions;
  /** A system message that starts every conversation. */
  system?: string | undefined;
}

export interface TurnOptions {
  /** Tokens to generate at most (>= 1). */
  maxTokens: number;
  signal?: AbortSignal;
  /** Called with each piece of reply text as it is decoded. */
  onText?: (text: string) => void;
}

export interface TurnSummary {
  /** The reply as it is kept in the conversation (stop token excluded). */
  text: string;
  /** Generated ids (a final stop token included). */
  tokens: number[];
  stopReason: StopReason;
  /** Ids of the rendered conversation. */
  promptTokens: number;
  /** Of those, ids whose K/V were already in the cache. */
  reusedTokens: number;
  capacity: number;
  timeToFirstTokenMs: number;
  /** Tokens after the first one per second of decoding (NaN with fewer than two tokens). */
  decodeTokensPerSecond: number;
  totalMs: number;
}

const MS_PER_S = 1000;

export class ChatSession {
  private messages: ChatMessage[] = [];
  /** The ids whose K/V fill positions 0..cached.length of the engine. */
  private cached: number[] = [];
  private readonly sampler: Sampler;
  private readonly stops: Set<number>;

  constructor(
    private readonly engine: InferenceEngine,
    private readonly options: ChatSessionOptions,
  ) {
    this.sampler = new Sampler(options.sampling);
    this.stops = new Set(options.stopTokens);
    this.reset();
  }

  /** The conversation so far (the system message included). */
  get history(): readonly ChatMessage[] {
    return this.messages;
  }

  /** Forgets the conversation (keeping the system message) and the cache. */
  reset(): void {
    this.messages = this.options.system === undefined ? [] : [{ role: 'system', content: this.options.system }];
    this.dropCache();
  }

  /** Ids of `messages` rendered with an open assistant turn. */
  promptIds(messages: readonly ChatMessage[]): number[] {
    const o = this.options;
    const text = o.template.render(messages, { addGenerationPrompt: true, bosToken: o.bosToken, eosToken: o.eosToken });
    return o.tokenizer.encode(text, { bos: o.addBos });
  }

  /**
   * Adds a user message, generates the reply and adds it to the conversation (an aborted reply is
   * kept as far as it got).
   * @throws Df11Error 'usage' for maxTokens < 1, 'generation' when the conversation does not fit
   *   the KV cache (the message is not added then), 'chat-template-invalid', and engine errors.
   */
  async send(content: string, turn: TurnOptions): Promise<TurnSummary> {
    if (!Number.isSafeInteger(turn.maxTokens) || turn.maxTokens < 1) throw new Df11Error('usage', `max tokens must be a positive whole number, got ${turn.maxTokens}`);
    const user: ChatMessage = { role: 'user', content };
    const ids = this.promptIds([...this.messages, user]);
    if (ids.length === 0) throw new Df11Error('generation', 'the rendered conversation has no tokens');
    const reused = this.cachedPrefixOf(ids);
    if (reused === 0) this.dropCache();
    const capacity = this.engine.reserve(ids.length + turn.maxTokens - 1);
    if (capacity < ids.length) {
      throw new Df11Error('generation', `the conversation has ${ids.length} tokens but the KV cache holds only ${capacity} positions (context or GPU memory limit); start over with /reset`);
    }
    const tokens: number[] = [];
    const decoder = this.options.tokenizer.streamDecoder(ids[ids.length - 1]);
    let text = '';
    const emit = (piece: string): void => {
      if (piece === '') return;
      text += piece;
      turn.onText?.(piece);
    };
    const started = performance.now();
    let firstAt = started;
    let stopReason: StopReason = 'max-tokens';
    let input = ids.slice(reused);
    try {
      for (;;) {
        if (turn.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        const r = await this.engine.forward(input, { logits: !this.sampler.greedy });
        this.cached.push(...input);
        const next = this.sampler.greedy ? r.argmax : this.sampler.sample(r.logits!);
        if (tokens.length === 0) firstAt = performance.now();
        tokens.push(next);
        if (this.stops.has(next)) {
          stopReason = 'stop-token';
          break;
        }
        emit(decoder.next(next));
        if (tokens.length >= turn.maxTokens) break;
        if (this.engine.position >= capacity) {
          stopReason = 'context-full';
          break;
        }
        input = [next];
      }
      emit(decoder.flush());
    } catch (e) {
      this.dropCache();
      throw e;
    }
    const ended = performance.now();
    this.messages.push(user, { role: 'assistant', content: text });
    return {
      text,
      tokens,
      stopReason,
      promptTokens: ids.length,
      reusedTokens: reused,
      capacity,
      timeToFirstTokenMs: firstAt - started,
      decodeTokensPerSecond: tokens.length > 1 ? ((tokens.length - 1) * MS_PER_S) / (ended - firstAt) : Number.NaN,
      totalMs: ended - started,
    };
  }

  /** How many leading ids of `ids` the cache holds (0 unless all of the cache is a proper prefix). */
  private cachedPrefixOf(ids: readonly number[]): number {
    const n = this.cached.length;
    if (n === 0 || n >= ids.length || this.engine.position !== n) return 0;
    for (let i = 0; i < n; i++) if (this.cached[i] !== ids[i]) return 0;
    return n;
  }

  private dropCache(): void {
    this.cached = [];
    this.engine.reset();
  }
}
