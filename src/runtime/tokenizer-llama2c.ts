/**
 * The llama2.c tokenizer (`tokenizer.bin`, e.g. stories260K's `tok512.bin`): a SentencePiece-style
 * BPE vocabulary with byte fallback, in llama2.c's binary layout: int32 max_token_length, then per
 * token a float32 merge score, an int32 byte length and the bytes (the token count is the model's
 * vocab_size; the file does not store it).
 *
 * Encoding follows llama2.c run.c `encode`: a leading space ("dummy prefix") when the text is not
 * empty; each UTF-8 character becomes its own token if the vocabulary has it, else one byte token
 * `<0xNN>` (id byte + 3) per byte; then the adjacent pair whose merged piece has the highest score
 * is merged (first such pair on ties), repeatedly, until no pair merges. Decoding follows `decode`:
 * a piece right after BOS loses its leading space; `<0xNN>` pieces are raw bytes. Generation ends
 * at EOS and, as in llama2.c (its training data delimits stories with BOS), at BOS.
 */
import { Df11Error } from '../errors.js';
import type { StreamDecoder, TextTokenizer } from './tokenizer.js';

const HEADER_BYTES = 4;
const ENTRY_HEADER_BYTES = 8;
/** Ids of llama2.c's special tokens and the first byte-fallback token. */
export const LLAMA2C_BOS_ID = 1;
export const LLAMA2C_EOS_ID = 2;
const BYTE_TOKEN_OFFSET = 3;
const BYTES_IN_BYTE = 256;
/** A piece longer than this is refused (real vocabularies stay far below). */
const MAX_PIECE_BYTES = 1 << 16;
const MAX_UTF8_BYTES = 4;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Bytes as a JS string of char codes 0-255, the key type of the piece map. */
function byteString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export class Llama2cTokenizer implements TextTokenizer {
  readonly bosId = LLAMA2C_BOS_ID;
  readonly eosIds: readonly number[];
  private readonly byPiece = new Map<string, number>();

  private constructor(
    private readonly pieces: readonly string[],
    private readonly scores: Float32Array,
    eosIds: readonly number[],
  ) {
    // first id wins for duplicate pieces, as llama2.c's sorted lookup finds some id for the string
    pieces.forEach((p, id) => {
      if (!this.byPiece.has(p)) this.byPiece.set(p, id);
    });
    this.eosIds = eosIds;
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /**
   * Parses a llama2.c tokenizer file of `vocabSize` tokens.
   * @throws Df11Error 'tokenizer-invalid' for a truncated file, trailing bytes, a bad length or score,
   *   or a vocabulary too small for the byte-fallback tokens.
   */
  static parse(bytes: Uint8Array, vocabSize: number, file?: string, eosIds: readonly number[] = [LLAMA2C_EOS_ID, LLAMA2C_BOS_ID]): Llama2cTokenizer {
    const ctx = file === undefined ? {} : { file };
    const fail = (msg: string): never => {
      throw new Df11Error('tokenizer-invalid', msg, ctx);
    };
    if (!Number.isSafeInteger(vocabSize) || vocabSize < BYTE_TOKEN_OFFSET + BYTES_IN_BYTE) fail(`a vocabulary of ${vocabSize} tokens cannot hold the 259 special and byte tokens`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < HEADER_BYTES) fail('file shorter than its 4-byte header');
    const maxLen = view.getInt32(0, true);
    if (maxLen < 1 || maxLen > MAX_PIECE_BYTES) fail(`max_token_length ${maxLen} is not in 1..${MAX_PIECE_BYTES}`);
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    let at = HEADER_BYTES;
    for (let id = 0; id < vocabSize; id++) {
      if (at + ENTRY_HEADER_BYTES > bytes.length) fail(`file ends inside token ${id} of ${vocabSize}`);
      const score = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      if (!Number.isFinite(score)) fail(`token ${id} has a non-finite score`);
      if (len < 0 || len > maxLen) fail(`token ${id} has length ${len}, outside 0..${maxLen}`);
      at += ENTRY_HEADER_BYTES;
      if (at + len > bytes.length) fail(`file ends inside token ${id} of ${vocabSize}`);
      pieces.push(byteString(bytes.subarray(at, at + len)));
      scores[id] = score;
      at += len;
    }
    if (at !== bytes.length) fail(`${bytes.length - at} bytes follow the ${vocabSize} tokens (is vocab_size right?)`);
    return new Llama2cTokenizer(pieces, scores, eosIds);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids: number[] = options.bos ? [LLAMA2C_BOS_ID] : [];
    if (text.length === 0) return ids;
    const utf8 = new TextEncoder().encode(text);
    const tokens: number[] = [];
    const space = this.byPiece.get(' ');
    if (space !== undefined) tokens.push(space);
    let start = 0;
    while (start < utf8.length) {
      let end = start + 1;
      while (end < utf8.length && (utf8[end]! & 0xc0) === 0x80 && end - start < MAX_UTF8_BYTES) end++;
      const char = utf8.subarray(start, end);
      const id = this.byPiece.get(byteString(char));
      if (id !== undefined) tokens.push(id);
      else for (const b of char) tokens.push(b + BYTE_TOKEN_OFFSET);
      start = end;
    }
    for (;;) {
      let best = -Infinity;
      let bestId = -1;
      let bestAt = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = this.byPiece.get(this.pieces[tokens[i]!]! + this.pieces[tokens[i + 1]!]!);
        if (id !== undefined && this.scores[id]! > best) {
          best = this.scores[id]!;
          bestId = id;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      tokens.splice(bestAt, 2, bestId);
    }
    return ids.concat(tokens);
  }

  /** The bytes token `id` stands for after token `previous`. */
  pieceBytes(id: number, previous?: number): Uint8Array {
    let piece = this.pieces[id];
    if (piece === undefined) throw new Df11Error('generation', `token id ${id} is outside the vocabulary of ${this.pieces.length}`);
    if (previous === LLAMA2C_BOS_ID && piece.startsWith(' ')) piece = piece.slice(1);
    const byte = BYTE_PIECE.exec(piece);
    if (byte) return Uint8Array.of(parseInt(byte[1]!, 16));
    return Uint8Array.from(piece, (ch) => ch.charCodeAt(0));
  }

  streamDecoder(previous?: number): StreamDecoder {
    const utf8 = new TextDecoder('utf-8', { fatal: false });
    let prev = previous;
    return {
      next: (id: number) => {
        const bytes = this.pieceBytes(id, prev);
        prev = id;
        return utf8.decode(bytes, { stream: true });
      },
      flush: () => utf8.decode(),
    };
  }

  decode(ids: readonly number[], previous?: number): string {
    const d = this.streamDecoder(previous);
    return ids.map((id) => d.next(id)).join('') + d.flush();
  }
}
