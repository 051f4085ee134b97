import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { encodeUnitPieces } from '../../src/codec/encode.js';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { makeDf11Config, type PatternDict } from '../../src/format/df11-config.js';
import { planUnits, tiedWeightAliases, type TensorInfo } from '../../src/format/df11-units.js';
import { LLAMA_PATTERN_DICT } from '../../src/format/pattern-dicts.js';
import {
  checksumMetadataKey,
  unitShardFileName,
  writeDf11Directory,
  writeDf11SingleFile,
  writeTensorFile,
  type TensorSource,
  type UnitToWrite,
} from '../../src/format/df11-layout.js';
import { openDf11Model, type Df11Model } from '../../src/format/df11-open.js';
import { unitPieces } from '../../src/format/df11-pieces.js';
import { DF11_FIELDS, unitFieldBytes } from '../../src/format/df11-unit-tensors.js';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import type { Dtype } from '../../src/format/dtype.js';
import { repoRoot, sharedDemoModelDir } from '../helpers/paths.js';
import { bf16Weights, tempDir, u16Bytes } from './df11-helpers.js';

const isCode = (code: string) => (e: unknown) => e instanceof Df11Error && e.code === code;

interface Tensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 16,
  intermediate_size: 40,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  tie_word_embeddings: false,
};

/** A small random Llama-like BF16 model (names in safetensors' alphabetical order). */
function smallLlama(layers: number, head = true): Tensor[] {
  const { hidden_size: h, intermediate_size: f, vocab_size: v } = CONFIG;
  const kv = 8;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [v, h]], ['model.norm.weight', [h]]];
  if (head) shapes.push(['lm_head.weight', [v, h]]);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    shapes.push(
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
      [`${p}.self_attn.q_proj.weight`, [h, h]],
      [`${p}.self_attn.k_proj.weight`, [kv, h]],
      [`${p}.self_attn.v_proj.weight`, [kv, h]],
      [`${p}.self_attn.o_proj.weight`, [h, h]],
      [`${p}.mlp.gate_proj.weight`, [f, h]],
      [`${p}.mlp.up_proj.weight`, [f, h]],
      [`${p}.mlp.down_proj.weight`, [h, f]],
    );
  }
  return shapes
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([name, shape], i) => ({ name, dtype: 'BF16' as const, shape, data: u16Bytes(bf16Weights(shape.reduce((x, y) => x * y, 1), i + 1)) }));
}

function asU16(bytes: Uint8Array): Uint16Array {
  return new Uint16Array(bytes.slice().buffer);
}

const source = (t: Tensor): TensorSource => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data });

/** Plans and encodes a model the way a compressor would; checksums are SHA-256 of the unit's BF16 bytes. */
function compress(tensors: Tensor[], dict: PatternDict, aliases: Record<string, string> = {}): { units: UnitToWrite[]; remainder: TensorSource[] } {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const plan = planUnits(tensors as TensorInfo[], dict, { aliases });
  const units = plan.units.map((u) => {
    const pieces = u.attrs.map((a) => asU16(byName.get(a.source)!.data));
    const sha = createHash('sha256');
    for (const p of pieces) sha.update(u16Bytes(p));
    return { path: u.path, unit: encodeUnitPieces(pieces), extras: u.extraTensors.map((n) => source(byName.get(n)!)), sha256: sha.digest('hex') };
  });
  return { units, remainder: plan.remainder.map((n) => source(byName.get(n)!)) };
}

/** Every weight of the original model restored from the DF11 model: unit pieces decoded, the rest read. */
async function restore(m: Df11Model, config: Record<string, unknown>): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const u of m.units) {
    const bf16 = decodeUnit(await m.readUnit(u.path));
    for (const p of unitPieces(u, config)) out.set(p.tensor, u16Bytes(bf16.slice(p.offset, p.offset + p.numel)));
    for (const e of u.extraTensors) out.set(e, await m.readTensor(e));
  }
  for (const o of m.others) out.set(o, await m.readTensor(o));
  return out;
}

test('per-unit-shard directory: write, open, every weight restored bit-exactly', async (t) => {
  const dir = await tempDir(t);
  const tensors = smallLlama(11);
  const { units, remainder } = compress(tensors, LLAMA_PATTERN_DICT);
  await writeDf11Directory(dir, { modelConfig: CONFIG, df11Config: makeDf11Config(LLAMA_PATTERN_DICT), units, remainder });

  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ['config.json', 'lm_head.safetensors', 'model.safetensors', 'model_embed_tokens.safetensors', ...Array.from({ length: 11 }, (_, i) => `model_layers_${i}.safetensors`)].sort());
  const shard = await SafetensorsReader.open(join(dir, 'model_layers_3.safetensors'));
  assert.deepEqual(shard.names(), [...DF11_FIELDS.map((f) => `model.layers.3.${f.name}`), 'model.layers.3.input_layernorm.weight', 'model.layers.3.post_attention_layernorm.weight']);
  assert.deepEqual(shard.header.tensors.map((x) => [x.dtype, x.shape.length]), [['U8', 2], ['U8', 1], ['U8', 1], ['U8', 1], ['U8', 1], ['I64', 1], ['BF16', 1], ['BF16', 1]]);
  assert.equal(shard.header.metadata?.[checksumMetadataKey('model.layers.3')], units[3]!.sha256);
  await shard.close();
  const rem = await SafetensorsReader.open(join(dir, 'model.safetensors'));
  assert.deepEqual(rem.names(), ['model.norm.weight']);
  assert.deepEqual(rem.header.metadata, { format: 'pt' });
  await rem.close();
  const cfgText = await readFile(join(dir, 'config.json'), 'utf8');
  const cfg = JSON.parse(cfgText) as Record<string, unknown>;
  assert.deepEqual(Object.keys(cfg), [...Object.keys(CONFIG), 'dfloat11_config']);

  const m = await openDf11Model(dir);
  try {
    assert.equal(m.configSource, 'config.json');
    assert.deepEqual(m.df11Config.patternDict, LLAMA_PATTERN_DICT);
    assert.deepEqual(m.units.map((u) => u.path), [...Array.from({ length: 11 }, (_, i) => `model.layers.${i}`), 'lm_head', 'model.embed_tokens']);
    assert.deepEqual(m.others, ['model.norm.weight']);
    const l10 = m.unit('model.layers.10');
    assert.equal(l10.fields.encoded_exponent.file, join(dir, 'model_layers_10.safetensors'));
    assert.deepEqual(l10.attrs, LLAMA_PATTERN_DICT[0]!.attrs);
    assert.equal(l10.sha256, units[10]!.sha256);
    assert.equal(l10.geometry.n, 2 * 256 + 2 * 128 + 3 * 640);
    assert.deepEqual(l10.extraTensors, ['model.layers.10.input_layernorm.weight', 'model.layers.10.post_attention_layernorm.weight']);
    for (const [i, u] of units.entries()) {
      const got = await m.readUnit(u.path);
      for (const f of DF11_FIELDS) assert.deepEqual(unitFieldBytes(got, f.key), unitFieldBytes(u.unit, f.key), `${u.path}.${f.name}`);
      assert.equal(m.units[i]!.path, u.path);
    }
    const restored = await restore(m, cfg);
    assert.equal(restored.size, tensors.length);
    for (const x of tensors) assert.deepEqual(restored.get(x.name), x.data, x.name);
  } finally {
    await m.close();
  }
});

test('single-file layout: write, open, restore; config.json optional with an explicit dict', async (t) => {
  const dir = await tempDir(t);
  const tensors = smallLlama(3);
  const { units, remainder } = compress(tensors, LLAMA_PATTERN_DICT);
  const file = join(dir, 'model.safetensors');
  await writeDf11SingleFile(file, { df11Config: makeDf11Config(LLAMA_PATTERN_DICT), units, others: remainder });
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
  assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as object), ['dfloat11_config']);
  const m = await openDf11Model(file);
  try {
    assert.equal(m.units.length, 5);
    assert.equal(m.unit('lm_head').sha256, units[3]!.sha256);
    const restored = await restore(m, CONFIG);
    for (const x of tensors) assert.deepEqual(restored.get(x.name), x.data, x.name);
  } finally {
    await m.close();
  }
  // without config.json the dict must be given
  const bare = join(await tempDir(t), 'm.safetensors');
  await writeDf11SingleFile(bare, { df11Config: makeDf11Config(LLAMA_PATTERN_DICT), units, others: remainder, writeConfig: false });
  await assert.rejects(openDf11Model(bare), isCode('config-invalid'));
  const m2 = await openDf11Model(bare, { df11Config: makeDf11Config(LLAMA_PATTERN_DICT) });
  assert.equal(m2.configSource, 'options');
  assert.equal(m2.units.length, 5);
  await m2.close();
});

test('tensors are dispatched by name only: units spread over arbitrarily named files, index ignored', async (t) => {
  const tensors = smallLlama(2);
  const { units, remainder } = compress(tensors, LLAMA_PATTERN_DICT);
  const dir = await tempDir(t);
  const all: TensorSource[] = [...units.flatMap((u) => DF11_FIELDS.map((f) => ({ name: `${u.path}.${f.name}`, dtype: f.dtype, shape: [], data: unitFieldBytes(u.unit, f.key) }))), ...units.flatMap((u) => u.extras ?? []), ...remainder];
  // shapes of the DF11 fields, as the writer would give them
  for (const s of all) if (s.shape.length === 0) s.shape = s.name.endsWith('.luts') ? [(s.data as Uint8Array).length / 256, 256] : [(s.data as Uint8Array).length / (s.dtype === 'I64' ? 8 : 1)];
  const buckets: TensorSource[][] = [[], [], []];
  all.forEach((s, i) => buckets[i % 3]!.push(s));
  for (const [i, b] of buckets.entries()) await writeTensorFile(join(dir, `blob_${i}.bin.safetensors`), b.reverse());
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'nope.safetensors' } }));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...CONFIG, dfloat11_config: { version: '0.2.0', threads_per_block: [512], bytes_per_thread: 8, pattern_dict: { lm_head: [], 'model.embed_tokens': [], 'model\\.layers\\.\\d+': LLAMA_PATTERN_DICT[0]!.attrs } } }));
  const m = await openDf11Model(dir);
  try {
    const files = new Set(DF11_FIELDS.map((f) => m.unit('model.layers.1').fields[f.name].file));
    assert.ok(files.size > 1, 'a unit spread over several files');
    // units in the config's key order (sorted keys, as transformers writes them)
    assert.deepEqual(m.units.map((u) => u.path), ['lm_head', 'model.embed_tokens', 'model.layers.0', 'model.layers.1']);
    const restored = await restore(m, CONFIG);
    for (const x of tensors) assert.deepEqual(restored.get(x.name), x.data, x.name);
  } finally {
    await m.close();
  }
});

test('tied embeddings as the reference writes them: lm_head unit duplicated from the embedding', async (t) => {
  const dir = await tempDir(t);
  const config = { ...CONFIG, tie_word_embeddings: true };
  const tensors = smallLlama(1, false);
  const aliases = tiedWeightAliases(config, tensors.map((x) => x.name));
  const { units, remainder } = compress(tensors, LLAMA_PATTERN_DICT, aliases);
  await writeDf11Directory(dir, { modelConfig: config, df11Config: makeDf11Config(LLAMA_PATTERN_DICT), units, remainder });
  const m = await openDf11Model(dir);
  try {
    assert.deepEqual(m.units.map((u) => u.path), ['model.layers.0', 'lm_head', 'model.embed_tokens']);
    const head = decodeUnit(await m.readUnit('lm_head'));
    const embed = decodeUnit(await m.readUnit('model.embed_tokens'));
    assert.deepEqual(head, embed);
    assert.deepEqual(u16Bytes(embed), tensors.find((x) => x.name === 'model.embed_tokens.weight')!.data);
  } finally {
    await m.close();
  }
});

test('legacy 0.1.0 directories are rejected and their pickles never opened', async (t) => {
  const a = await tempDir(t);
  await writeFile(join(a, 'config.json'), JSON.stringify({ dfloat11_version: '0.1.0', model_type: 'llama' }));
  await writeFile(join(a, 'layer_0.pkl'), 'not a pickle');
  await assert.rejects(openDf11Model(a), (e: unknown) => isCode('legacy-format')(e) && /never be unpickled/.test((e as Error).message));
  const b = await tempDir(t);
  await writeFile(join(b, 'layer_0.pkl'), 'x');
  await writeFile(join(b, 'lm_head.pkl'), 'x');
  await assert.rejects(openDf11Model(b), isCode('legacy-format'));
  // a valid DF11 directory with a stray .pkl is read (the pickle is ignored)
  const c = await tempDir(t);
  const { units, remainder } = compress(smallLlama(1), LLAMA_PATTERN_DICT);
  await writeDf11Directory(c, { modelConfig: CONFIG, df11Config: makeDf11Config(LLAMA_PATTERN_DICT), units, remainder });
  await writeFile(join(c, 'stray.pkl'), 'x');
  const m = await openDf11Model(c);
  assert.equal(m.units.length, 3);
  await m.close();
  // not a DF11 model at all
  const d = await tempDir(t);
  await writeTensorFile(join(d, 'model.safetensors'), [{ name: 'w', dtype: 'BF16', shape: [2], data: new Uint8Array(4) }]);
  await writeFile(join(d, 'config.json'), JSON.stringify(CONFIG));
  await assert.rejects(openDf11Model(d), isCode('config-invalid'));
  await writeFile(join(d, 'config.json'), '{not json');
  await assert.rejects(openDf11Model(d), isCode('config-invalid'));
});

test('shard file names', () => {
  assert.equal(unitShardFileName('model.layers.0'), 'model_layers_0.safetensors');
  assert.equal(unitShardFileName('lm_head'), 'lm_head.safetensors');
  assert.equal(unitShardFileName('transformer_blocks.3'), 'transformer_blocks_3.safetensors');
});


