// Small Hugging Face tokenizer.json files built by the tests themselves: a byte-level BPE (the
// Llama 3 / Qwen layout: a regex split, GPT-2's byte-to-character map, merges learnt here from a
// tiny corpus) and a SentencePiece-style BPE with byte fallback (the Llama 2 / Mistral layout).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The split regex of Llama 3's tokenizer.json (Oniguruma syntax, as tokenizer.json stores it). */
export const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** The same split in JavaScript syntax, for learning merges. */
const TRAIN_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export const TRAIN_CORPUS = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
  'The little dog wanted to play with the ball. Lily and the dog played all day in the sun.',
  'Hello there! How are you today? I am fine, thank you. The café sells crème brûlée for 5 €.',
  'Ümlaut, naïve, façade, 日本語のテキスト, 😀 smile 😀 and € again: €€.',
].join('\n');

/** GPT-2's map from bytes to printable characters (byte-level BPE pieces are written with it). */
export function byteToUnicode(): string[] {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(direct.includes(b) ? b : next++);
  return out;
}

/** Merges learnt from `corpus`: the most frequent adjacent pair (first seen on ties), `count` times. */
export function learnMerges(corpus: string, count: number): [string, string][] {
  const chars = byteToUnicode();
  const utf8 = new TextEncoder();
  const words = [...corpus.matchAll(TRAIN_SPLIT)].map((m) => Array.from(utf8.encode(m[0]), (b) => chars[b]!));
  const merges: [string, string][] = [];
  while (merges.length < count) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(w[i]! + '\u0000' + w[i + 1]!, (counts.get(w[i]! + '\u0000' + w[i + 1]!) ?? 0) + 1);
    let best: string | undefined;
    for (const [k, n] of counts) if (best === undefined || n > counts.get(best)!) best = k;
    if (best === undefined) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === a && w[i + 1] === b) w.splice(i, 2, a + b);
      }
    }
  }
  return merges;
}

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export interface ByteLevelFixture {
  /** tokenizer.json contents. */
  json: Record<string, unknown>;
  /** Special tokens by text, with their ids (after the byte and merge ids). */
  special: Record<string, number>;
  vocabSize: number;
}

/**
 * A Llama-3-style byte-level BPE: ids 0-255 are the single bytes, then `merges` learnt merges, then
 * `<pad_N>` pieces (no merge makes them) up to `vocabSize` minus the specials, then the `specials`
 * as added tokens; the post-processor puts `bos` (one of the specials) first.
 */
export function byteLevelTokenizer(options: { merges?: number; specials?: readonly string[]; bos?: string; vocabSize?: number } = {}): ByteLevelFixture {
  const chars = byteToUnicode();
  const vocab: Record<string, number> = {};
  chars.forEach((c, b) => (vocab[c] = b));
  const merges = learnMerges(TRAIN_CORPUS, options.merges ?? 120);
  for (const [a, b] of merges) if (vocab[a + b] === undefined) vocab[a + b] = Object.keys(vocab).length;
  const specials = options.specials ?? [];
  for (let n = 0; Object.keys(vocab).length + specials.length < (options.vocabSize ?? 0); n++) vocab[`<pad_${n}>`] = Object.keys(vocab).length;
  const special: Record<string, number> = {};
  let id = Object.keys(vocab).length;
  for (const s of specials) special[s] = id++;
  const bos = options.bos;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.entries(special).map(([s, i]) => addedToken(i, s)),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor:
      bos === undefined
        ? { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true }
        : {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { [bos]: { id: bos, ids: [special[bos]], tokens: [bos] } },
          },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: merges.map(([a, b]) => [a, b]),
    },
  };
  return { json, special, vocabSize: id };
}

/** A Llama-2-style SentencePiece BPE: `<unk>`, `<s>`, `</s>`, 256 `<0xNN>` byte tokens, then pieces. */
export function byteFallbackTokenizer(): { json: Record<string, unknown>; vocabSize: number } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const merges: [string, string][] = [
    ['▁', 'h'],
    ['l', 'l'],
    ['▁h', 'e'],
    ['▁he', 'll'],
    ['▁hell', 'o'],
    ['▁', 'w'],
    ['o', 'r'],
    ['▁w', 'or'],
    ['▁wor', 'l'],
    ['▁worl', 'd'],
  ];
  for (const p of ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', 'x', 'y']) vocab[p] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    added_tokens: [addedToken(0, '<unk>'), addedToken(1, '<s>'), addedToken(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  return { json, vocabSize: Object.keys(vocab).length };
}

/** Llama 3's special tokens used by the fixtures and its chat template. */
export const LLAMA3_SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] as const;
/** ChatML (Qwen) special tokens. */
export const CHATML_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** A Llama-3-style chat template (written for these tests after Llama 3's published format). */
export const LLAMA3_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

/** A ChatML template as Qwen uses (a default system message when none is given). */
export const CHATML_TEMPLATE =
  "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * Writes a ChatML (Qwen-style) tokenizer folder: tokenizer.json (padded to `vocabSize` ids),
 * tokenizer_config.json with the template and special tokens, generation_config.json with `eosIds`
 * (default: <|im_end|> and <|endoftext|>).
 */
export async function writeChatMlTokenizerDir(dir: string, options: { eosIds?: readonly number[]; vocabSize?: number } = {}): Promise<ByteLevelFixture> {
  await mkdir(dir, { recursive: true });
  const fx = byteLevelTokenizer({ specials: CHATML_SPECIALS, ...(options.vocabSize === undefined ? {} : { vocabSize: options.vocabSize }) });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(fx.json));
  const config = { bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: CHATML_TEMPLATE, clean_up_tokenization_spaces: false };
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: options.eosIds ?? [fx.special['<|im_end|>'], fx.special['<|endoftext|>']] }));
  return fx;
}
