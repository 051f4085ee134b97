import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { shapesFromConfig, shapesFromTensors, unitPieces } from '../../src/format/df11-pieces.js';
import { LLAMA_PATTERN_DICT } from '../../src/format/pattern-dicts.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { info } from './df11-helpers.js';

const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;
const LAYER_ATTRS = LLAMA_PATTERN_DICT[0]!.attrs;

const demoDir = sharedDemoModelDir();
test('Llama shapes from config.json: demo model layer (GQA, hidden 64, intermediate 172)', () => {
  const config = JSON.parse(readFileSync(join(demoDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  // the reference's split_positions for the demo model's layers: cumsum of 4096, 2048, 2048, 4096, 11008, 11008
  const unit = { path: 'model.layers.3', attrs: LAYER_ATTRS, geometry: { n: 45312 }, splitPositions: [4096, 6144, 8192, 12288, 23296, 34304] };
  const pieces = unitPieces(unit, config);
  assert.deepEqual(
    pieces.map((p) => [p.attr, p.offset, p.numel, p.shape]),
    [
      ['self_attn.q_proj', 0, 4096, [64, 64]],
      ['self_attn.k_proj', 4096, 2048, [32, 64]],
      ['self_attn.v_proj', 6144, 2048, [32, 64]],
      ['self_attn.o_proj', 8192, 4096, [64, 64]],
      ['mlp.gate_proj', 12288, 11008, [172, 64]],
      ['mlp.up_proj', 23296, 11008, [172, 64]],
      ['mlp.down_proj', 34304, 11008, [64, 172]],
    ],
  );
  assert.equal(pieces[0]!.tensor, 'model.layers.3.self_attn.q_proj.weight');
  const head = unitPieces({ path: 'lm_head', attrs: [], geometry: { n: 32768 }, splitPositions: [] }, config);
  assert.deepEqual(head, [{ attr: '', tensor: 'lm_head.weight', offset: 0, numel: 32768, shape: [512, 64] }]);
  assert.deepEqual(unitPieces({ path: 'model.embed_tokens', attrs: [], geometry: { n: 32768 }, splitPositions: [] }, config)[0]!.shape, [512, 64]);
});

test('explicit head_dim and default KV heads', () => {
  const lookup = shapesFromConfig({ hidden_size: 32, num_attention_heads: 4, head_dim: 16, intermediate_size: 8, vocab_size: 3 });
  assert.deepEqual(lookup('model.layers.0.self_attn.q_proj.weight'), [64, 32]);
  assert.deepEqual(lookup('model.layers.0.self_attn.k_proj.weight'), [64, 32]);
  assert.deepEqual(lookup('model.layers.0.self_attn.o_proj.weight'), [32, 64]);
  assert.equal(lookup('model.layers.0.self_attn.q_proj.bias'), undefined);
  assert.equal(lookup('model.layers.0.mlp.experts.0.w1.weight'), undefined);
  assert.throws(() => shapesFromConfig({ hidden_size: -1 }), isCode('config-invalid'));
  assert.throws(() => shapesFromConfig({ hidden_size: 30, num_attention_heads: 4 }), isCode('config-invalid'));
});

test('shapes from a BF16 header (tensor list or map) for any architecture', () => {
  const tensors = [info('blk.0.a.weight', [3, 4]), info('blk.0.b.weight', [2, 2, 2])];
  const unit = { path: 'blk.0', attrs: ['a', 'b'], geometry: { n: 20 }, splitPositions: [12] };
  assert.deepEqual(unitPieces(unit, tensors).map((p) => p.shape), [[3, 4], [2, 2, 2]]);
  assert.deepEqual(unitPieces(unit, shapesFromTensors(tensors)).map((p) => p.numel), [12, 8]);
  assert.deepEqual(unitPieces(unit, new Map([['blk.0.a.weight', [12]], ['blk.0.b.weight', [8]]])).map((p) => p.offset), [0, 12]);
});

test('piece errors: unknown shape, size mismatch, piece count', () => {
  const unit = { path: 'blk.0', attrs: ['a', 'b'], geometry: { n: 20 }, splitPositions: [12] };
  assert.throws(
    () => unitPieces(unit, [info('blk.0.a.weight', [3, 4])], 'm'),
    (e: unknown) => isCode('unit-invalid')(e) && (e as Df11Error).tensor === 'blk.0.b.weight' && /unknown/.test((e as Error).message),
  );
  assert.throws(
    () => unitPieces(unit, [info('blk.0.a.weight', [3, 4]), info('blk.0.b.weight', [3, 3])]),
    (e: unknown) => isCode('unit-invalid')(e) && /holds 8 weights but the shape \[3, 3\] needs 9/.test((e as Error).message),
  );
  assert.throws(() => unitPieces({ ...unit, splitPositions: [] }, [info('blk.0.a.weight', [20])]), isCode('unit-invalid'));
});
