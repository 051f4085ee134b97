import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { compareModulePaths, modulePaths, planUnits, tiedWeightAliases, type TensorInfo } from '../../src/format/df11-units.js';
import { LLAMA_PATTERN_DICT, QWEN3_4B_PATTERN_DICT } from '../../src/format/pattern-dicts.js';
import { SafetensorsModel } from '../../src/format/safetensors-model.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { info } from './df11-helpers.js';

const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;

const HIDDEN = 16;
const INTER = 40;
const KV = 8;
const VOCAB = 100;

/** A Llama-like header in safetensors (alphabetical) order. */
function llamaTensors(layers: number, opts: { head?: boolean } = {}): TensorInfo[] {
  const t: TensorInfo[] = [info('model.embed_tokens.weight', [VOCAB, HIDDEN]), info('model.norm.weight', [HIDDEN])];
  if (opts.head ?? true) t.push(info('lm_head.weight', [VOCAB, HIDDEN]));
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    t.push(
      info(`${p}.input_layernorm.weight`, [HIDDEN]),
      info(`${p}.mlp.down_proj.weight`, [HIDDEN, INTER]),
      info(`${p}.mlp.gate_proj.weight`, [INTER, HIDDEN]),
      info(`${p}.mlp.up_proj.weight`, [INTER, HIDDEN]),
      info(`${p}.post_attention_layernorm.weight`, [HIDDEN]),
      info(`${p}.self_attn.k_proj.weight`, [KV, HIDDEN]),
      info(`${p}.self_attn.o_proj.weight`, [HIDDEN, HIDDEN]),
      info(`${p}.self_attn.q_proj.weight`, [HIDDEN, HIDDEN]),
      info(`${p}.self_attn.v_proj.weight`, [KV, HIDDEN]),
    );
  }
  return t.sort((a, b) => (a.name < b.name ? -1 : 1));
}

test('natural module-path order: layers.2 before layers.10', () => {
  const paths = ['a.10', 'a.2', 'a.1.x', 'a.1', 'b', 'a.x', 'a.9.y'];
  assert.deepEqual([...paths].sort(compareModulePaths), ['a.1', 'a.1.x', 'a.2', 'a.9.y', 'a.10', 'a.x', 'b']);
  assert.deepEqual(modulePaths(['m.layers.10.w', 'm.layers.2.w', 'x']), ['m', 'm.layers', 'm.layers.2', 'm.layers.10']);
});

test('Llama units: pattern by pattern, layers in numeric order, attrs in dict order, norms as extras', () => {
  const plan = planUnits(llamaTensors(12), LLAMA_PATTERN_DICT);
  assert.deepEqual(
    plan.units.map((u) => u.path),
    [...Array.from({ length: 12 }, (_, i) => `model.layers.${i}`), 'lm_head', 'model.embed_tokens'],
  );
  const l0 = plan.units[0]!;
  assert.equal(l0.pattern, 'model\\.layers\\.\\d+');
  assert.deepEqual(
    l0.attrs.map((a) => [a.attr, a.tensor, a.source, a.shape, a.numel]),
    [
      ['self_attn.q_proj', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.q_proj.weight', [HIDDEN, HIDDEN], HIDDEN * HIDDEN],
      ['self_attn.k_proj', 'model.layers.0.self_attn.k_proj.weight', 'model.layers.0.self_attn.k_proj.weight', [KV, HIDDEN], KV * HIDDEN],
      ['self_attn.v_proj', 'model.layers.0.self_attn.v_proj.weight', 'model.layers.0.self_attn.v_proj.weight', [KV, HIDDEN], KV * HIDDEN],
      ['self_attn.o_proj', 'model.layers.0.self_attn.o_proj.weight', 'model.layers.0.self_attn.o_proj.weight', [HIDDEN, HIDDEN], HIDDEN * HIDDEN],
      ['mlp.gate_proj', 'model.layers.0.mlp.gate_proj.weight', 'model.layers.0.mlp.gate_proj.weight', [INTER, HIDDEN], INTER * HIDDEN],
      ['mlp.up_proj', 'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.up_proj.weight', [INTER, HIDDEN], INTER * HIDDEN],
      ['mlp.down_proj', 'model.layers.0.mlp.down_proj.weight', 'model.layers.0.mlp.down_proj.weight', [HIDDEN, INTER], INTER * HIDDEN],
    ],
  );
  assert.equal(l0.numel, 2 * HIDDEN * HIDDEN + 2 * KV * HIDDEN + 3 * INTER * HIDDEN);
  assert.deepEqual(l0.extraTensors, ['model.layers.0.input_layernorm.weight', 'model.layers.0.post_attention_layernorm.weight']);
  const head = plan.units[12]!;
  assert.deepEqual(head.attrs.map((a) => [a.attr, a.tensor]), [['', 'lm_head.weight']]);
  assert.deepEqual(plan.remainder, ['model.norm.weight']);
});

test('Qwen3-4B dict keeps embedding and head in the remainder', () => {
  const plan = planUnits(llamaTensors(3), QWEN3_4B_PATTERN_DICT);
  assert.deepEqual(plan.units.map((u) => u.path), ['model.layers.0', 'model.layers.1', 'model.layers.2']);
  assert.deepEqual(plan.remainder, ['lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight']);
});

test('tied embeddings: no lm_head module without an alias; the reference-style alias plans a duplicate lm_head unit', () => {
  const tensors = llamaTensors(2, { head: false });
  const plain = planUnits(tensors, LLAMA_PATTERN_DICT);
  assert.deepEqual(plain.units.map((u) => u.path), ['model.layers.0', 'model.layers.1', 'model.embed_tokens']);
  const aliases = tiedWeightAliases({ tie_word_embeddings: true }, tensors.map((t) => t.name));
  assert.deepEqual(aliases, { 'lm_head.weight': 'model.embed_tokens.weight' });
  const tied = planUnits(tensors, LLAMA_PATTERN_DICT, { aliases });
  assert.deepEqual(tied.units.map((u) => u.path), ['model.layers.0', 'model.layers.1', 'lm_head', 'model.embed_tokens']);
  assert.deepEqual(tied.units[2]!.attrs[0], { attr: '', tensor: 'lm_head.weight', source: 'model.embed_tokens.weight', shape: [VOCAB, HIDDEN], numel: VOCAB * HIDDEN });
  assert.deepEqual(tied.remainder, ['model.norm.weight']);
  // head-only dict: the embedding stays in the remainder and also feeds the head unit
  const headOnly = planUnits(tensors, [{ pattern: 'lm_head', attrs: [] }], { aliases });
  assert.deepEqual(headOnly.units.map((u) => u.attrs[0]!.source), ['model.embed_tokens.weight']);
  assert.ok(headOnly.remainder.includes('model.embed_tokens.weight'));
  // no aliases unless the config says so explicitly, or when lm_head.weight exists
  assert.deepEqual(tiedWeightAliases({}, tensors.map((t) => t.name)), {});
  assert.deepEqual(tiedWeightAliases({ tie_word_embeddings: true }, llamaTensors(1).map((t) => t.name)), {});
  assert.throws(() => planUnits(tensors, LLAMA_PATTERN_DICT, { aliases: { 'lm_head.weight': 'nope' } }), isCode('tensor-not-found'));
  assert.throws(() => planUnits(llamaTensors(1), LLAMA_PATTERN_DICT, { aliases: { 'lm_head.weight': 'model.embed_tokens.weight' } }), isCode('duplicate-tensor'));
});

test('planning errors', () => {
  const base = llamaTensors(2);
  const without = (name: string) => base.filter((t) => t.name !== name);
  assert.throws(
    () => planUnits(without('model.layers.1.mlp.up_proj.weight'), LLAMA_PATTERN_DICT, { file: 'm.safetensors' }),
    (e: unknown) => isCode('pattern-mismatch')(e) && (e as Df11Error).tensor === 'model.layers.1.mlp.up_proj.weight' && (e as Df11Error).file === 'm.safetensors',
  );
  const f32 = base.map((t) => (t.name === 'model.layers.0.self_attn.q_proj.weight' ? { ...t, dtype: 'F32' as const } : t));
  assert.throws(() => planUnits(f32, LLAMA_PATTERN_DICT), (e: unknown) => isCode('not-bf16')(e) && /F32/.test((e as Error).message));
  assert.throws(() => planUnits(base, [...LLAMA_PATTERN_DICT, { pattern: 'lm_.*', attrs: [] }]), isCode('pattern-mismatch'));
  assert.throws(() => planUnits(base, [...LLAMA_PATTERN_DICT, { pattern: 'model\\.layers\\.0\\.mlp\\.up_proj', attrs: [] }]), isCode('pattern-mismatch'));
  const empty = base.map((t) => (t.name === 'lm_head.weight' ? { ...t, shape: [0, HIDDEN] } : t));
  assert.throws(() => planUnits(empty, LLAMA_PATTERN_DICT), isCode('pattern-mismatch'));
  assert.throws(() => planUnits([...base, base[0]!], LLAMA_PATTERN_DICT), isCode('duplicate-tensor'));
  assert.throws(() => planUnits(base, [{ pattern: '(?(1)x)', attrs: [] }]), isCode('config-invalid'));
  const huge = [info('big.weight', [65536, 32768])];
  assert.throws(() => planUnits(huge, [{ pattern: 'big', attrs: [] }]), isCode('unit-invalid'));
});

test('modules are derived from names only: a pattern matching nothing plans nothing', () => {
  const plan = planUnits(llamaTensors(1), [{ pattern: 'transformer_blocks\\.\\d+', attrs: ['x'] }]);
  assert.equal(plan.units.length, 0);
  assert.equal(plan.remainder.length, llamaTensors(1).length);
});

const demoDir = sharedDemoModelDir();
test('demo model: the published Llama dict with tied aliases gives the reference units', async () => {
  const st = await SafetensorsModel.open(join(demoDir, 'model.safetensors'));
  try {
    const tensors = st.names().map((n) => st.entry(n));
    const aliases = tiedWeightAliases({ tie_word_embeddings: true }, st.names());
    const plan = planUnits(tensors, LLAMA_PATTERN_DICT, { aliases });
    assert.deepEqual(
      plan.units.map((u) => [u.path, u.numel]),
      [0, 1, 2, 3, 4].map((i) => [`model.layers.${i}`, 45312] as [string, number]).concat([['lm_head', 32768], ['model.embed_tokens', 32768]]),
    );
    assert.deepEqual(plan.remainder, ['model.norm.weight']);
    assert.deepEqual(plan.units[0]!.extraTensors, ['model.layers.0.input_layernorm.weight', 'model.layers.0.post_attention_layernorm.weight']);
  } finally {
    await st.close();
  }
});
