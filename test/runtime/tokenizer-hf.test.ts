// Hugging Face tokenizer.json support on fixtures built by the tests: byte-level BPE round trips,
// special tokens, BOS/EOS resolution, streaming decode of UTF-8 split across tokens, byte fallback,
// tokenizer loading from a model folder, and the errors for bad files.
import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { loadTokenizer } from '../../src/runtime/node/open-model.js';
import { HfTokenizer, type HfTokenizerFiles } from '../../src/runtime/tokenizer-hf.js';
import { Llama2cTokenizer } from '../../src/runtime/tokenizer-llama2c.js';
import { tempDir } from '../cli/cli-harness.js';
import { byteFallbackTokenizer, byteLevelTokenizer, LLAMA3_SPECIALS, writeChatMlTokenizerDir } from '../helpers/hf-tokenizer-fixture.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const MODEL_VOCAB = 512;
const TEXTS = [
  '',
  'hello',
  'Once upon a time, there was a little girl named Lily.',
  '  leading and trailing spaces  ',
  'line one\nline two\r\n\ttabbed',
  'The café sells crème brûlée for 5 €.',
  '日本語のテキスト 😀 and ZWJ 👩‍👩‍👧 and combining e\u0301',
  'numbers 1234567 and symbols <>{}[]|\\ "quotes"',
];

function llama3(files: Partial<HfTokenizerFiles> = {}): { tok: HfTokenizer; special: Record<string, number> } {
  const fx = byteLevelTokenizer({ specials: LLAMA3_SPECIALS, bos: '<|begin_of_text|>' });
  const tokenizerConfig = { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' };
  return { tok: HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig, ...files }, MODEL_VOCAB), special: fx.special };
}

function streamed(tok: HfTokenizer, ids: readonly number[], previous?: number): string[] {
  const d = tok.streamDecoder(previous);
  return [...ids.map((id) => d.next(id)), d.flush()];
}

function assertCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Df11Error, String(e));
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('HfTokenizer: byte-level BPE (Llama 3 layout)', () => {
  it('round-trips text through encode and decode, using the learnt merges', () => {
    const { tok } = llama3();
    for (const text of TEXTS) {
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text, JSON.stringify(text));
      assert.equal(streamed(tok, ids).join(''), text, JSON.stringify(text));
    }
    const ids = tok.encode('Once upon a time');
    assert.ok(ids.length < 'Once upon a time'.length / 2, `merges used: ${ids.length} tokens`);
    assert.ok(ids.every((id) => id < 256 + 120), 'no special token in plain text');
  });

  it('reads special tokens in text, adds BOS only when asked, and skips specials when decoding', () => {
    const { tok, special } = llama3();
    const bos = special['<|begin_of_text|>']!;
    const eot = special['<|eot_id|>']!;
    assert.equal(tok.vocabSize, 256 + 120 + LLAMA3_SPECIALS.length);
    assert.deepEqual(tok.encode('hi', { bos: true }), [bos, ...tok.encode('hi')]);
    const ids = tok.encode('<|begin_of_text|>hi<|eot_id|>');
    assert.deepEqual(ids, [bos, ...tok.encode('hi'), eot]);
    assert.equal(tok.decode(ids), 'hi');
    assert.equal(tok.tokenId('<|eot_id|>'), eot);
    assert.equal(tok.bosId, bos);
    assert.equal(tok.bosToken, '<|begin_of_text|>');
    assert.equal(tok.eosToken, '<|eot_id|>');
    assert.deepEqual(tok.eosIds, [eot]);
  });

  it('streams UTF-8 characters split across byte tokens only once they are complete', () => {
    const { tok } = llama3();
    // single-byte tokens: € is e2 82 ac, 😀 is f0 9f 98 80
    assert.deepEqual(streamed(tok, [0x61, 0xe2, 0x82, 0xac, 0x62]), ['a', '', '', '€', 'b', '']);
    assert.deepEqual(streamed(tok, [0xf0, 0x9f, 0x98, 0x80]), ['', '', '', '😀', '']);
    // an unfinished character at the end comes out of flush as U+FFFD, as a full decode gives it
    assert.deepEqual(streamed(tok, [0x41, 0xe2, 0x82]), ['A', '', '', '\uFFFD']);
    // real encodings: no piece carries a replacement character, and the pieces add up
    for (const text of TEXTS) {
      const pieces = streamed(tok, tok.encode(text));
      assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
      assert.equal(pieces.join(''), text);
    }
    // learnt tokens that hold part of a character: their text waits for the next token
    const text = 'ヘルプ 😎';
    const ids = tok.encode(text);
    const partial = ids.findIndex((id) => id >= 256 && tok.decode([id]).includes('\uFFFD'));
    assert.ok(partial >= 0, `a merged token cuts a character in ${JSON.stringify(ids)}`);
    const pieces = streamed(tok, ids);
    assert.equal(pieces[partial], '');
    assert.equal(pieces.join(''), text);
  });

  it('decodes after a previous token without repeating it', () => {
    const { tok, special } = llama3();
    const ids = tok.encode(' there was');
    assert.equal(tok.decode(ids, special['<|begin_of_text|>']), ' there was');
    assert.equal(tok.decode(ids, tok.encode('Once')[0]), ' there was');
  });

  it('takes EOS ids from generation_config.json and config.json (number or list) and BOS from config.json', () => {
    const fx = byteLevelTokenizer({ specials: LLAMA3_SPECIALS });
    const s = fx.special;
    const tok = HfTokenizer.fromFiles(
      {
        tokenizer: fx.json,
        tokenizerConfig: { eos_token: { content: '<|end_of_text|>', special: true } },
        generationConfig: { eos_token_id: [s['<|eot_id|>'], s['<|end_of_text|>']], bos_token_id: s['<|begin_of_text|>'] },
        modelConfig: { eos_token_id: s['<|start_header_id|>'], bos_token_id: 0 },
      },
      MODEL_VOCAB,
    );
    assert.deepEqual(tok.eosIds, [s['<|eot_id|>'], s['<|end_of_text|>'], s['<|start_header_id|>']]);
    assert.equal(tok.bosId, s['<|begin_of_text|>']);
    assert.equal(tok.bosToken, undefined);
    assert.equal(tok.eosToken, '<|end_of_text|>');
    const noBos = HfTokenizer.fromFiles({ tokenizer: fx.json, modelConfig: { eos_token_id: 7 } }, MODEL_VOCAB);
    assert.equal(noBos.bosId, 7, 'the first EOS stands in for a missing BOS');
    assert.deepEqual(noBos.encode('hi', { bos: true }), noBos.encode('hi'), 'no post-processor BOS here');
  });

  it('refuses bad files with tokenizer-invalid and unknown ids with generation', () => {
    const fx = byteLevelTokenizer({ specials: LLAMA3_SPECIALS });
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: [] }, MODEL_VOCAB), 'tokenizer-invalid', /not a JSON object/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: { model: { type: 'Nope' } } }, MODEL_VOCAB), 'tokenizer-invalid', /cannot be loaded/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: fx.json, modelConfig: { eos_token_id: 1 } }, 300), 'tokenizer-invalid', /does not fit the model's vocab_size of 300/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig: { eos_token: '<|nope|>' } }, MODEL_VOCAB), 'tokenizer-invalid', /eos_token "<\|nope\|>" is not in the vocabulary/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: fx.json, generationConfig: { eos_token_id: [1, 9999] } }, MODEL_VOCAB), 'tokenizer-invalid', /eos_token_id 9999/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: fx.json, generationConfig: { eos_token_id: '2' } }, MODEL_VOCAB), 'tokenizer-invalid', /eos_token_id "2"/);
    assertCode(() => HfTokenizer.fromFiles({ tokenizer: fx.json }, MODEL_VOCAB), 'tokenizer-invalid', /no BOS or EOS token/);
    const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, modelConfig: { eos_token_id: 1 } }, MODEL_VOCAB);
    assertCode(() => tok.decode([fx.vocabSize]), 'generation', /not in tokenizer.json/);
    assertCode(() => tok.streamDecoder(-1), 'generation');
  });
});

describe('HfTokenizer: SentencePiece BPE with byte fallback (Llama 2 layout)', () => {
  const fx = byteFallbackTokenizer();
  const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig: { bos_token: '<s>', eos_token: '</s>' } }, MODEL_VOCAB);

  it('encodes unknown characters as <0xNN> bytes and decodes them back', () => {
    const ids = tok.encode('hello wé€');
    assert.deepEqual(ids.slice(0, 2), [tok.tokenId('▁hello'), tok.tokenId('▁w')]);
    const bytes = [0xc3, 0xa9, 0xe2, 0x82, 0xac].map((b) => tok.tokenId(`<0x${b.toString(16).toUpperCase()}>`));
    assert.deepEqual(ids.slice(2), bytes);
    assert.equal(tok.decode(ids), 'hello wé€');
    assert.deepEqual(tok.encode('hello', { bos: true }), [1, tok.tokenId('▁hello')]);
  });

  it('streams byte-fallback pieces and the leading-space rule like a full decode', () => {
    const ids = tok.encode('hello world é€');
    const pieces = streamed(tok, ids, 1);
    assert.equal(pieces.join(''), 'hello world é€');
    assert.equal(pieces[0], 'hello', 'the leading space goes after BOS');
    assert.equal(pieces[1], ' world');
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
    assert.deepEqual(pieces.slice(-6), ['', 'é', '', '', '€', '']);
    // after an ordinary token the space stays
    assert.equal(tok.decode(tok.encode('world'), tok.tokenId('▁hello')), ' world');
  });
});

describe('loadTokenizer', () => {
  it('picks tokenizer.json over a llama2.c file, and a llama2.c file without it', async () => {
    const t = await tempDir('df11-tok-');
    try {
      await copyFile(join(sharedDemoModelDir(), 'tok512.bin'), join(t.dir, 'tok512.bin'));
      assert.ok((await loadTokenizer(t.dir, MODEL_VOCAB)) instanceof Llama2cTokenizer);
      const fx = await writeChatMlTokenizerDir(t.dir);
      const hf = await loadTokenizer(t.dir, MODEL_VOCAB);
      assert.ok(hf instanceof HfTokenizer);
      assert.deepEqual(hf.eosIds, [fx.special['<|im_end|>'], fx.special['<|endoftext|>']]);
      assert.equal(hf.bosToken, undefined);
      assert.equal(hf.eosToken, '<|im_end|>');
      assert.ok((await loadTokenizer(t.dir, MODEL_VOCAB, join(t.dir, 'tok512.bin'))) instanceof Llama2cTokenizer);
      await writeFile(join(t.dir, 'tokenizer_config.json'), '{"eos_token": ');
      await assert.rejects(loadTokenizer(t.dir, MODEL_VOCAB), (e: unknown) => e instanceof Df11Error && e.code === 'tokenizer-invalid' && /tokenizer_config\.json/.test(e.message));
    } finally {
      await t.cleanup();
    }
  });

  it('names both kinds when a folder has neither', async () => {
    const t = await tempDir('df11-tok-');
    try {
      await assert.rejects(loadTokenizer(t.dir, MODEL_VOCAB), (e: unknown) => e instanceof Df11Error && e.code === 'tokenizer-invalid' && /no llama2\.c tokenizer .* and no tokenizer\.json/.test(e.message));
    } finally {
      await t.cleanup();
    }
  });
});
