// The llama2.c tokenizer against llama2.c run.c's own encodings (test/fixtures/stories260K-prompts.json)
// and the greedy reference text, plus malformed files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { Llama2cTokenizer } from '../../src/runtime/tokenizer-llama2c.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { greedyFixture, promptFixture } from './runtime-helpers.js';

const VOCAB = 512;
const bytes = readFileSync(join(sharedDemoModelDir(), 'tok512.bin'));
const tok = Llama2cTokenizer.parse(bytes, VOCAB, 'tok512.bin');

function isTokenizerError(e: unknown): boolean {
  return e instanceof Df11Error && e.code === 'tokenizer-invalid';
}

describe('Llama2cTokenizer', () => {
  it('encodes prompts exactly as llama2.c run.c (merges, UTF-8 characters, byte fallback)', () => {
    for (const c of promptFixture()) assert.deepEqual(tok.encode(c.text, { bos: true }), c.promptTokens, c.text);
  });

  it('decodes the greedy reference ids to the reference text, and back', () => {
    const fx = greedyFixture();
    assert.equal(tok.decode(fx.tokens, fx.bos), fx.text);
    assert.ok(fx.text.startsWith('Once upon a time, there was a little girl named Lily.'));
  });

  it('round-trips text through encode and decode (the leading space is dropped after BOS)', () => {
    for (const text of ['Hello world', 'a\nb\tc', 'Zoë 🙂 ünïcödé', '']) {
      const ids = tok.encode(text, { bos: true });
      assert.equal(tok.decode(ids.slice(1), ids[0]), text);
    }
  });

  it('streams a multi-byte character split over byte tokens', () => {
    const ids = tok.encode('🙂');
    const d = tok.streamDecoder(1);
    const parts = ids.map((id) => d.next(id));
    assert.equal(parts.join('') + d.flush(), '🙂');
    assert.ok(parts.slice(0, -1).every((p) => p === '' || p === ' '), 'nothing but the space before the last byte');
  });

  it('rejects truncated files, trailing bytes, bad lengths and a wrong vocabulary size', () => {
    assert.throws(() => Llama2cTokenizer.parse(bytes.subarray(0, 3), VOCAB), isTokenizerError);
    assert.throws(() => Llama2cTokenizer.parse(bytes.subarray(0, bytes.length - 1), VOCAB), isTokenizerError);
    assert.throws(() => Llama2cTokenizer.parse(Buffer.concat([bytes, Buffer.of(0)]), VOCAB), isTokenizerError);
    assert.throws(() => Llama2cTokenizer.parse(bytes, VOCAB - 1), isTokenizerError);
    assert.throws(() => Llama2cTokenizer.parse(bytes, 100), isTokenizerError);
    const bad = Buffer.from(bytes);
    bad.writeInt32LE(-5, 4 + 4); // length of token 0
    assert.throws(() => Llama2cTokenizer.parse(bad, VOCAB), isTokenizerError);
    const nan = Buffer.from(bytes);
    nan.writeFloatLE(Number.NaN, 4); // score of token 0
    assert.throws(() => Llama2cTokenizer.parse(nan, VOCAB), isTokenizerError);
  });
});
