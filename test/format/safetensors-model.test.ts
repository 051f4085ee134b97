// SafetensorsModel: a single file, an indexed sharded directory, a directory of files, and bad layouts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Df11Error, type Df11ErrorCode } from '../../src/errors.js';
import { SafetensorsModel } from '../../src/format/safetensors-model.js';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { writeSafetensors } from '../../src/format/safetensors-writer.js';
import { parseSafetensorsIndex } from '../../src/format/safetensors-index.js';
import type { Dtype } from '../../src/format/dtype.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const DEMO = join(sharedDemoModelDir(), 'model.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'df11-model-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Tensor = { name: string; dtype: Dtype; shape: number[]; data: Uint8Array };

/** All demo tensors in memory (the model is 0.5 MB). */
async function demoTensors(): Promise<{ tensors: Tensor[]; metadata: Record<string, string> | null }> {
  const r = await SafetensorsReader.open(DEMO);
  try {
    const tensors: Tensor[] = [];
    for (const t of r.header.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await r.read(t.name) });
    return { tensors, metadata: r.metadata };
  } finally {
    await r.close();
  }
}

/** Writes the demo split into 3 shards (with an index unless `index` is false) under a new dir. */
async function shardedDemo(dirName: string, index: boolean): Promise<{ dir: string; tensors: Tensor[]; shardOf: Map<string, string> }> {
  const dir = join(tmp, dirName);
  mkdirSync(dir);
  const { tensors, metadata } = await demoTensors();
  const shardOf = new Map<string, string>();
  const shards: Tensor[][] = [[], [], []];
  tensors.forEach((t, i) => {
    const k = i % 3;
    shards[k]?.push(t);
    shardOf.set(t.name, `model-0000${k + 1}-of-00003.safetensors`);
  });
  for (let k = 0; k < 3; k++) await writeSafetensors(join(dir, `model-0000${k + 1}-of-00003.safetensors`), shards[k] ?? [], metadata);
  if (index) {
    const weightMap = Object.fromEntries([...shardOf].sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 520064 }, weight_map: weightMap }, null, 2));
  }
  return { dir, tensors, shardOf };
}

async function openCode(p: string): Promise<Df11ErrorCode | 'opened'> {
  try {
    await (await SafetensorsModel.open(p)).close();
    return 'opened';
  } catch (e) {
    assert.ok(e instanceof Df11Error, String(e));
    return e.code;
  }
}

test('a single file', async () => {
  const m = await SafetensorsModel.open(DEMO);
  try {
    assert.equal(m.names().length, 47);
    assert.equal(m.entry('model.norm.weight').file, DEMO);
    assert.deepEqual(m.entry('model.layers.4.self_attn.v_proj.weight').shape, [32, 64]);
    assert.equal(m.metadata?.format, 'pt');
    assert.equal(m.indexPath, null);
    assert.equal((await m.read('model.norm.weight')).length, 128);
    assert.throws(() => m.entry('lm_head.weight'), { code: 'tensor-not-found' });
  } finally {
    await m.close();
  }
});

test('a sharded directory with model.safetensors.index.json', async () => {
  const { dir, tensors, shardOf } = await shardedDemo('indexed', true);
  const m = await SafetensorsModel.open(dir);
  try {
    assert.equal(m.indexPath, join(dir, 'model.safetensors.index.json'));
    assert.deepEqual([...m.names()].sort(), tensors.map((t) => t.name).sort());
    assert.equal(m.files().length, 3);
    assert.equal(m.metadata?.format, 'pt');
    for (const t of tensors) {
      assert.equal(basename(m.entry(t.name).file), shardOf.get(t.name));
      assert.equal(m.reader(t.name).path, m.entry(t.name).file);
      assert.deepEqual(await m.read(t.name), t.data, t.name);
    }
  } finally {
    await m.close();
  }
});

test('a directory without an index: all *.safetensors files, names unique across files', async () => {
  const { dir, tensors } = await shardedDemo('plain', false);
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const m = await SafetensorsModel.open(dir);
  try {
    assert.equal(m.indexPath, null);
    assert.deepEqual([...m.names()].sort(), tensors.map((t) => t.name).sort());
    for (const t of tensors) assert.deepEqual(await m.read(t.name), t.data);
  } finally {
    await m.close();
  }
  // the same tensor in two files
  const t0 = tensors[0] as Tensor;
  await writeSafetensors(join(dir, 'extra.safetensors'), [t0]);
  await assert.rejects(SafetensorsModel.open(dir), (e: unknown) => e instanceof Df11Error && e.code === 'duplicate-tensor' && e.tensor === t0.name);
  mkdirSync(join(tmp, 'empty-dir'));
  assert.equal(await openCode(join(tmp, 'empty-dir')), 'io');
  assert.equal(await openCode(join(tmp, 'no-such-dir')), 'io');
});

test('a bad index: missing shard, tensor absent from its shard, hostile names, duplicates, bad JSON', async () => {
  const { dir } = await shardedDemo('bad-index', true);
  const indexPath = join(dir, 'model.safetensors.index.json');
  const setIndex = (body: unknown): void => writeFileSync(indexPath, typeof body === 'string' ? body : JSON.stringify(body));
  const shard = 'model-00001-of-00003.safetensors';

  setIndex({ weight_map: { 'model.norm.weight': 'model-00009-of-00009.safetensors' } });
  assert.equal(await openCode(dir), 'io');
  setIndex({ weight_map: { 'lm_head.weight': shard } });
  await assert.rejects(SafetensorsModel.open(dir), (e: unknown) => e instanceof Df11Error && e.code === 'tensor-not-found' && e.tensor === 'lm_head.weight' && e.file === join(dir, shard));
  for (const name of ['../model.safetensors', '/etc/passwd', 'sub/x.safetensors', '..', '', 'a\\b']) {
    setIndex({ weight_map: { 'model.norm.weight': name } });
    assert.equal(await openCode(dir), 'header-invalid', name);
  }
  setIndex({ weight_map: { 'model.norm.weight': 3 } });
  assert.equal(await openCode(dir), 'header-invalid');
  setIndex({ metadata: {} });
  assert.equal(await openCode(dir), 'header-invalid');
  setIndex(`{"weight_map":{"a":"${shard}","a":"${shard}"}}`);
  assert.equal(await openCode(dir), 'duplicate-tensor');
  setIndex('{"weight_map":');
  assert.equal(await openCode(dir), 'header-invalid-json');
  // ignoreIndex reads the shards themselves, as DF11 directories are read
  const m = await SafetensorsModel.open(dir, { ignoreIndex: true });
  assert.equal(m.names().length, 47);
  await m.close();
  // a corrupt shard is reported with its own path
  writeFileSync(join(dir, shard), new Uint8Array(3));
  setIndex({ weight_map: { 'model.norm.weight': shard } });
  await assert.rejects(SafetensorsModel.open(dir), (e: unknown) => e instanceof Df11Error && e.code === 'truncated-file' && e.file === join(dir, shard));
});

test('parseSafetensorsIndex keeps index order and lists each shard once', () => {
  const idx = parseSafetensorsIndex(new TextEncoder().encode('{"metadata":{"total_size":1},"weight_map":{"b":"2.safetensors","a":"1.safetensors","c":"2.safetensors"}}'), 'i');
  assert.deepEqual(idx.weightMap, [['b', '2.safetensors'], ['a', '1.safetensors'], ['c', '2.safetensors']]);
  assert.deepEqual(idx.files, ['2.safetensors', '1.safetensors']);
});
