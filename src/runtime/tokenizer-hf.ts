/**
 * Hugging Face `tokenizer.json` tokenizers (byte-level BPE as in Llama 3 and Qwen, SentencePiece-style
 * BPE with byte fallback as in Llama 2 and Mistral, and the other models @huggingface/tokenizers
 * implements), behind the TextTokenizer interface. Pure JavaScript: the caller reads the files.
 *
 * Special tokens come from the files beside the tokenizer, as transformers reads them:
 * - BOS: tokenizer_config.json `bos_token`, else generation_config.json then config.json
 *   `bos_token_id`, else the first EOS id (GPT-style vocabularies use one `<|endoftext|>` for both).
 * - EOS: the union of generation_config.json and config.json `eos_token_id` (a number or a list) and
 *   tokenizer_config.json `eos_token`.
 *
 * Streaming decode follows text-generation-inference: the text of a window of recent tokens is
 * decoded as a whole and only the part past the previous window's text is emitted, and only once it
 * does not end in U+FFFD (an unfinished UTF-8 sequence, whether byte-level or `<0xNN>` fallback).
 * Decoding the window as a whole keeps decoder rules that depend on neighbours (SentencePiece's
 * leading-space strip) right.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { Df11Error } from '../errors.js';
import type { StreamDecoder, TextTokenizer } from './tokenizer.js';

/** What the decoder emits for an unfinished UTF-8 sequence. */
const REPLACEMENT_CHAR = '\uFFFD';
/** Decode options of streamed text: no special tokens, bytes as they are (no space clean-up). */
const STREAM_DECODE = { skip_special_tokens: true, clean_up_tokenization_spaces: false } as const;

/** Parsed JSON files of a Hugging Face model folder; all but tokenizer.json are optional. */
export interface HfTokenizerFiles {
  /** tokenizer.json. */
  tokenizer: unknown;
  /** tokenizer_config.json. */
  tokenizerConfig?: Record<string, unknown> | undefined;
  /** generation_config.json. */
  generationConfig?: Record<string, unknown> | undefined;
  /** config.json. */
  modelConfig?: Record<string, unknown> | undefined;
}

/** The text of a special-token entry of tokenizer_config.json: "<s>" or { "content": "<s>", ... }. */
export function specialTokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

export class HfTokenizer implements TextTokenizer {
  /** One more than the largest id of the vocabulary and added tokens. */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosIds: readonly number[];
  /** The text of the BOS token (for chat templates), if the vocabulary names one. */
  readonly bosToken: string | undefined;
  /** The text of the EOS token (for chat templates). */
  readonly eosToken: string | undefined;

  private constructor(
    private readonly tok: Tokenizer,
    files: HfTokenizerFiles,
    modelVocabSize: number,
    private readonly file: string | undefined,
  ) {
    let maxId = -1;
    for (const id of tok.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    if (this.vocabSize === 0) this.fail('the vocabulary is empty');
    if (this.vocabSize > modelVocabSize) this.fail(`token id ${maxId} does not fit the model's vocab_size of ${modelVocabSize}`);
    const tc = files.tokenizerConfig ?? {};
    const eos = new Set<number>();
    for (const source of [files.generationConfig, files.modelConfig]) for (const id of this.idList(source?.['eos_token_id'], 'eos_token_id')) eos.add(id);
    const eosText = specialTokenText(tc['eos_token']);
    if (eosText !== undefined) eos.add(this.idOf(eosText, 'eos_token'));
    this.eosIds = [...eos];
    const bosText = specialTokenText(tc['bos_token']);
    const bosId =
      bosText !== undefined
        ? this.idOf(bosText, 'bos_token')
        : (this.idList(files.generationConfig?.['bos_token_id'], 'bos_token_id')[0] ?? this.idList(files.modelConfig?.['bos_token_id'], 'bos_token_id')[0] ?? this.eosIds[0]);
    if (bosId === undefined) this.fail('no BOS or EOS token in tokenizer_config.json, generation_config.json or config.json');
    this.bosId = bosId;
    this.bosToken = bosText;
    this.eosToken = eosText ?? (this.eosIds[0] === undefined ? undefined : tok.id_to_token(this.eosIds[0]));
  }

  /**
   * Builds the tokenizer of parsed `files`; `vocabSize` is the model's (config.json vocab_size).
   * @throws Df11Error 'tokenizer-invalid' when tokenizer.json is not a tokenizer the library can
   *   build, an id does not fit `vocabSize`, or a special token is missing from the vocabulary.
   */
  static fromFiles(files: HfTokenizerFiles, vocabSize: number, file?: string): HfTokenizer {
    const ctx = file === undefined ? {} : { file };
    const json = files.tokenizer;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Df11Error('tokenizer-invalid', 'tokenizer.json is not a JSON object', ctx);
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, files.tokenizerConfig ?? {});
    } catch (cause) {
      throw new Df11Error('tokenizer-invalid', `tokenizer.json cannot be loaded: ${(cause as Error).message}`, { ...ctx, cause });
    }
    return new HfTokenizer(tok, files, vocabSize, file);
  }

  /** Token ids of `text` (special-token strings in it become their ids); with `bos`, the tokenizer's
   *  own special tokens are added as its post-processor says (BOS for Llama 3, none for Qwen). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: options.bos === true }).ids;
  }

  /** The id of `token` (a piece or an added token), or undefined. */
  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  streamDecoder(previous?: number): StreamDecoder {
    const ids: number[] = [];
    if (previous !== undefined) ids.push(this.checkId(previous));
    // ids[0..emittedAt) decoded to text already emitted; only its tail after `windowAt` is kept
    let windowAt = 0;
    let emittedAt = ids.length;
    const step = (final: boolean): string => {
      const before = this.text(ids.slice(windowAt, emittedAt));
      const now = this.text(ids.slice(windowAt));
      if (now.length <= before.length || (!final && now.endsWith(REPLACEMENT_CHAR))) return '';
      windowAt = emittedAt;
      emittedAt = ids.length;
      return now.slice(before.length);
    };
    return {
      next: (id: number) => {
        ids.push(this.checkId(id));
        return step(false);
      },
      flush: () => step(true),
    };
  }

  decode(ids: readonly number[], previous?: number): string {
    const d = this.streamDecoder(previous);
    return ids.map((id) => d.next(id)).join('') + d.flush();
  }

  /** Streamed text of `ids` (the library refuses an empty list). */
  private text(ids: number[]): string {
    return ids.length === 0 ? '' : this.tok.decode(ids, STREAM_DECODE);
  }

  private checkId(id: number): number {
    if (!Number.isSafeInteger(id) || id < 0 || this.tok.id_to_token(id) === undefined) {
      throw new Df11Error('generation', `token id ${id} is not in tokenizer.json (${this.vocabSize} ids)`, this.file === undefined ? {} : { file: this.file });
    }
    return id;
  }

  private idOf(token: string, field: string): number {
    const id = this.tok.token_to_id(token);
    if (id === undefined) this.fail(`tokenizer_config.json ${field} ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** `value` as token ids (a number, a list of numbers, or absent). */
  private idList(value: unknown, field: string): number[] {
    if (value === undefined || value === null) return [];
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    return list.map((v) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= this.vocabSize) this.fail(`${field} ${JSON.stringify(v)} is not a token id below ${this.vocabSize}`);
      return v;
    });
  }

  private fail(message: string): never {
    throw new Df11Error('tokenizer-invalid', message, this.file === undefined ? {} : { file: this.file });
  }
}
