import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Df11Error } from '../../src/errors.js';
import {
  df11ConfigFromModelConfig,
  df11ConfigToJson,
  makeDf11Config,
  parseDf11Config,
  withDf11Config,
} from '../../src/format/df11-config.js';

const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;

const PUBLISHED_TEXT = `{"version":"0.5.0","threads_per_block":[512],"bytes_per_thread":8,"pattern_dict":{"model\\\\.layers\\\\.\\\\d+":["self_attn.q_proj","self_attn.k_proj","self_attn.v_proj","self_attn.o_proj","mlp.gate_proj","mlp.up_proj","mlp.down_proj"],"lm_head":[],"model.embed_tokens":[]}}`;

test('parses the published config and keeps key and attr order', () => {
  const cfg = parseDf11Config(JSON.parse(PUBLISHED_TEXT));
  assert.equal(cfg.version, '0.5.0');
  assert.deepEqual(cfg.threadsPerBlock, [512]);
  assert.equal(cfg.bytesPerThread, 8);
  assert.deepEqual(
    cfg.patternDict.map((e) => e.pattern),
    ['model\\.layers\\.\\d+', 'lm_head', 'model.embed_tokens'],
  );
  assert.deepEqual(cfg.patternDict[0]!.attrs, ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']);
  assert.equal(JSON.stringify(df11ConfigToJson(cfg)), PUBLISHED_TEXT);
});

test('re-serialisation is byte-compatible for other key orders, extra keys and missing version', () => {
  // published diffusers repos use sorted keys (bytes_per_thread first) and version 0.2.0
  const sorted = `{"bytes_per_thread":8,"pattern_dict":{"distilled_guidance_layer":["in_proj","out_proj"],"transformer_blocks\\\\.\\\\d+":["attn.to_q","attn.to_k"],"a":[]},"threads_per_block":[512],"version":"0.2.0","extra":{"x":1}}`;
  assert.equal(JSON.stringify(df11ConfigToJson(parseDf11Config(JSON.parse(sorted)))), sorted);
  const noVersion = `{"threads_per_block":[512,1],"bytes_per_thread":8,"pattern_dict":{"z":[],"a":["b"]}}`;
  const cfg = parseDf11Config(JSON.parse(noVersion));
  assert.equal(cfg.version, undefined);
  assert.equal(JSON.stringify(df11ConfigToJson(cfg)), noVersion);
});

test('a fresh config uses the reference key order', () => {
  const cfg = makeDf11Config([{ pattern: 'b', attrs: ['y', 'x'] }, { pattern: 'a', attrs: [] }]);
  assert.equal(
    JSON.stringify(df11ConfigToJson(cfg)),
    '{"version":"0.5.0","threads_per_block":[512],"bytes_per_thread":8,"pattern_dict":{"b":["y","x"],"a":[]}}',
  );
});

test('withDf11Config appends to the model config or replaces in place', () => {
  const cfg = makeDf11Config([{ pattern: 'lm_head', attrs: [] }]);
  const merged = withDf11Config({ model_type: 'llama', hidden_size: 64 }, cfg);
  assert.deepEqual(Object.keys(merged), ['model_type', 'hidden_size', 'dfloat11_config']);
  const replaced = withDf11Config({ a: 1, dfloat11_config: { old: true }, b: 2 }, cfg);
  assert.deepEqual(Object.keys(replaced), ['a', 'dfloat11_config', 'b']);
  assert.deepEqual(replaced['dfloat11_config'], df11ConfigToJson(cfg));
  assert.deepEqual(Object.keys(withDf11Config(null, cfg)), ['dfloat11_config']);
});

test('legacy 0.1.0 configs are rejected with a clear message', () => {
  assert.throws(
    () => df11ConfigFromModelConfig({ dfloat11_version: '0.1.0', model_type: 'llama' }, 'config.json'),
    (e: unknown) => isCode('legacy-format')(e) && /0\.1\.0/.test((e as Error).message) && /never be unpickled/.test((e as Error).message),
  );
});

test('unsupported geometry', () => {
  const base = JSON.parse(PUBLISHED_TEXT) as Record<string, unknown>;
  assert.throws(() => parseDf11Config({ ...base, threads_per_block: [256] }), isCode('unsupported-geometry'));
  assert.throws(() => parseDf11Config({ ...base, bytes_per_thread: 4 }), isCode('unsupported-geometry'));
});

test('malformed configs are config-invalid', () => {
  const base = JSON.parse(PUBLISHED_TEXT) as Record<string, unknown>;
  const bad: unknown[] = [
    null,
    [],
    { ...base, version: 5 },
    { ...base, threads_per_block: 512 },
    { ...base, threads_per_block: [] },
    { ...base, threads_per_block: [512.5] },
    { ...base, bytes_per_thread: '8' },
    { ...base, pattern_dict: undefined },
    { ...base, pattern_dict: [] },
    { ...base, pattern_dict: { a: 'b' } },
    { ...base, pattern_dict: { a: [1] } },
    { ...base, pattern_dict: { a: ['x', 'x'] } },
    { ...base, pattern_dict: { a: ['x..y'] } },
    { ...base, pattern_dict: { a: [''] } },
    { ...base, pattern_dict: { '': [] } },
    { ...base, pattern_dict: { '12': [] } },
    { ...base, pattern_dict: { '(unclosed': [] } },
  ];
  const { pattern_dict: _pd, ...noDict } = base;
  bad.push(noDict);
  for (const b of bad) assert.throws(() => parseDf11Config(b), isCode('config-invalid'), JSON.stringify(b));
  assert.throws(() => df11ConfigFromModelConfig({ model_type: 'llama' }), isCode('config-invalid'));
  assert.throws(() => df11ConfigFromModelConfig('nope'), isCode('config-invalid'));
});
