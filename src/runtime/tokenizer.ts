// The tokenizer interface the generation loop uses, so that llama2.c vocabularies and (later)
// Hugging Face tokenizer.json files plug in the same way.

/** Turns generated ids into text as they arrive (a piece may end inside a UTF-8 character). */
export interface StreamDecoder {
  /** The text that token `id` completes (may be empty). */
  next(id: number): string;
  /** Whatever is left at the end of the stream. */
  flush(): string;
}

export interface TextTokenizer {
  readonly vocabSize: number;
  /** Begin-of-sequence id, if the vocabulary has one. */
  readonly bosId: number | undefined;
  /** Ids that end generation. */
  readonly eosIds: readonly number[];
  /** Token ids of `text`; with `bos`, the BOS id first. */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** A decoder for a stream that follows `previous` (the last prompt token). */
  streamDecoder(previous?: number): StreamDecoder;
  /** All of `ids` as text, as if streamed after `previous`. */
  decode(ids: readonly number[], previous?: number): string;
}
