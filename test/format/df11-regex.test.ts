import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFullmatch, translatePythonRegex } from '../../src/format/df11-regex.js';
import { Df11Error } from '../../src/errors.js';

const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;

test('published patterns fully match module paths like re.fullmatch', () => {
  const layer = compileFullmatch('model\\.layers\\.\\d+');
  assert.equal(layer.test('model.layers.0'), true);
  assert.equal(layer.test('model.layers.31'), true);
  assert.equal(layer.test('model.layers.0.mlp'), false);
  assert.equal(layer.test('xmodel.layers.0'), false);
  assert.equal(layer.test('model.layers.'), false);
  // unescaped dots match any character, harmlessly
  const embed = compileFullmatch('model.embed_tokens');
  assert.equal(embed.test('model.embed_tokens'), true);
  assert.equal(embed.test('model_embed_tokens'), true);
  assert.equal(embed.test('model.embed_tokens.x'), false);
  // alternation is grouped before anchoring: ^(?:a|b)$, not ^a|b$
  const alt = compileFullmatch('lm_head|model\\.norm');
  assert.equal(alt.test('lm_head'), true);
  assert.equal(alt.test('model.norm'), true);
  assert.equal(alt.test('lm_head.x'), false);
  assert.equal(alt.test('x.model.norm'), false);
  assert.equal(compileFullmatch('transformer_blocks\\.\\d+').test('single_transformer_blocks.0'), false);
});

test('possessive quantifiers and atomic groups keep Python semantics', () => {
  const poss = compileFullmatch('encoder\\.lyric_encoder\\.layers\\.\\d++');
  assert.equal(poss.test('encoder.lyric_encoder.layers.12'), true);
  assert.equal(poss.test('encoder.lyric_encoder.layers.'), false);
  // a possessive \d++ never gives a digit back, so \d++\d can never match
  assert.equal(compileFullmatch('a\\d++\\d').test('a12'), false);
  assert.equal(compileFullmatch('a\\d+\\d').test('a12'), true);
  assert.equal(compileFullmatch('(?>a+)a').test('aaa'), false);
  assert.equal(compileFullmatch('(?>a+)b').test('aaab'), true);
  assert.equal(compileFullmatch('x*+y').test('xxy'), true);
  assert.equal(compileFullmatch('(?:ab)?+c').test('abc'), true);
  assert.equal(compileFullmatch('a{1,2}+b').test('aab'), true);
});

test('Python-only syntax is translated', () => {
  assert.equal(compileFullmatch('(?P<blk>blocks)\\.\\d+\\.(?P=blk)').test('blocks.3.blocks'), true);
  assert.equal(compileFullmatch('(?P<blk>blocks)\\.\\d+\\.(?P=blk)').test('blocks.3.other'), false);
  assert.equal(compileFullmatch('\\Alayers\\.\\d+\\Z').test('layers.4'), true);
  assert.equal(compileFullmatch('a{,2}').test('aa'), true);
  assert.equal(compileFullmatch('a{,2}').test('aaa'), false);
  assert.equal(compileFullmatch('a{,2}').test('a{,2}'), false);
  assert.equal(compileFullmatch('(?i)LM_HEAD').test('lm_head'), true);
  assert.equal(compileFullmatch('lm(?#the head)_head').test('lm_head'), true);
  assert.equal(compileFullmatch('[]x]+').test(']x]'), true);
  assert.equal(compileFullmatch('(?:a|b)(?=c)c').test('ac'), true);
  assert.equal(compileFullmatch('x(?<!y)z').test('xz'), true);
  assert.equal(compileFullmatch('a{2').test('a{2'), true); // not a quantifier: literal, as in Python
  assert.deepEqual(translatePythonRegex('a\\d+'), { source: 'a\\d+', flags: '' });
});

test('unsupported or broken patterns are rejected with config-invalid naming the pattern', () => {
  for (const bad of ['(?(1)a|b)', '(?i:a)', '(?x)a b', 'a\\q', '(a', 'a)', '*a', 'a**', '[ab', '\\', 'a(?i)', '(a)\\1(?>b)', '(?Z)', '\\U0001F600']) {
    assert.throws(() => compileFullmatch(bad), (e: unknown) => isCode('config-invalid')(e) && (e as Error).message.includes(JSON.stringify(bad)), bad);
  }
});
