import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { df11ConfigToJson, makeDf11Config } from '../../src/format/df11-config.js';
import { unitShardFileName, unitTensorSources, writeTensorFile, writeUnitShard, type TensorSource } from '../../src/format/df11-layout.js';
import { openDf11Model } from '../../src/format/df11-open.js';
import { checkUnitShapes, type Df11UnitTensors } from '../../src/format/df11-unit-tensors.js';
import { structuralUnit, tempDir } from './df11-helpers.js';

const DICT = [
  { pattern: 'blk\\.\\d+', attrs: ['a', 'b', 'c'] },
  { pattern: 'head', attrs: [] },
];
const N = 1000;
const PIECES = [200, 300, 500];

type Mutate = (unit: TensorSource[], all: Map<string, TensorSource[]>) => void;

function find(tensors: TensorSource[], field: string): TensorSource {
  const t = tensors.find((x) => x.name.endsWith('.' + field));
  assert.ok(t, field);
  return t;
}

function u32le(values: number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  values.forEach((v, i) => new DataView(b.buffer).setUint32(4 * i, v, true));
  return b;
}

function i64le(values: number[]): Uint8Array {
  const b = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(b.buffer).setBigInt64(8 * i, BigInt(v), true));
  return b;
}

/** Writes blk.0 (3 pieces) and head ([]) into shards, after `mutate` edits blk.0's tensors; returns the dir. */
async function writeModel(dir: string, mutate: Mutate, blk: Df11UnitTensors = structuralUnit(N, 1500, PIECES)): Promise<string> {
  const all = new Map<string, TensorSource[]>([
    ['blk.0', unitTensorSources('blk.0', blk)],
    ['head', unitTensorSources('head', structuralUnit(64, 40))],
  ]);
  mutate(all.get('blk.0')!, all);
  for (const [path, tensors] of all) await writeTensorFile(join(dir, unitShardFileName(path)), tensors);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ dfloat11_config: df11ConfigToJson(makeDf11Config(DICT)) }));
  return dir;
}

function expectUnitError(tensor: string, message: RegExp, file = 'blk_0.safetensors') {
  return (e: unknown) => {
    assert.ok(e instanceof Df11Error, String(e));
    assert.equal(e.code, 'unit-invalid', e.message);
    assert.equal(e.tensor, tensor, e.message);
    assert.ok(e.file?.endsWith(file), `${e.message} names ${e.file}`);
    assert.match(e.message, message);
    return true;
  };
}

const CASES: [string, Mutate, string, RegExp][] = [
  ['missing gaps', (u) => u.splice(u.indexOf(find(u, 'gaps')), 1), 'blk.0.gaps', /no gaps tensor/],
  ['luts dtype', (u) => (find(u, 'luts').dtype = 'I8'), 'blk.0.luts', /dtype is I8/],
  ['luts rank', (u) => (find(u, 'luts').shape = [768]), 'blk.0.luts', /rank is 1/],
  ['luts columns', (u) => (find(u, 'luts').shape = [6, 128]), 'blk.0.luts', /shape\[1\] is 128/],
  ['luts one row', (u) => Object.assign(find(u, 'luts'), { shape: [1, 256], data: new Uint8Array(256) }), 'blk.0.luts', /1 rows/],
  ['luts 19 rows', (u) => Object.assign(find(u, 'luts'), { shape: [19, 256], data: new Uint8Array(19 * 256) }), 'blk.0.luts', /19 rows/],
  ['split dtype', (u) => Object.assign(find(u, 'split_positions'), { dtype: 'U8', shape: [16] }), 'blk.0.split_positions', /dtype is U8/],
  ['N = 0', (u) => Object.assign(find(u, 'sign_mantissa'), { shape: [0], data: new Uint8Array(0) }), 'blk.0.sign_mantissa', /N = 0/],
  ['B = 0', (u) => Object.assign(find(u, 'encoded_exponent'), { shape: [0], data: new Uint8Array(0) }), 'blk.0.encoded_exponent', /B = 0/],
  ['gaps length', (u) => Object.assign(find(u, 'gaps'), { shape: [319], data: new Uint8Array(319) }), 'blk.0.gaps', /319 bytes, expected 320/],
  ['op length', (u) => Object.assign(find(u, 'output_positions'), { shape: [12], data: u32le([0, 500, N]) }), 'blk.0.output_positions', /12 bytes/],
  ['op[0] not 0', (u) => Object.assign(find(u, 'output_positions'), { data: u32le([1, N]) }), 'blk.0.output_positions', /entry 0 is 1/],
  ['op last not N', (u) => Object.assign(find(u, 'output_positions'), { data: u32le([0, N - 1]) }), 'blk.0.output_positions', /last entry/],
  ['op past N', (u) => Object.assign(find(u, 'output_positions'), { data: u32le([0, N + 1]) }), 'blk.0.output_positions', /exceeds N/],
  ['split not increasing', (u) => Object.assign(find(u, 'split_positions'), { data: i64le([300, 300]) }), 'blk.0.split_positions', /not above/],
  ['split zero', (u) => Object.assign(find(u, 'split_positions'), { data: i64le([0, 300]) }), 'blk.0.split_positions', /entry 0 \(0\) is not above 0/],
  ['split at N', (u) => Object.assign(find(u, 'split_positions'), { data: i64le([300, N]) }), 'blk.0.split_positions', /not below N/],
  ['split negative', (u) => Object.assign(find(u, 'split_positions'), { data: i64le([-5, 300]) }), 'blk.0.split_positions', /not above/],
  ['split count vs attrs', (u) => Object.assign(find(u, 'split_positions'), { shape: [1], data: i64le([300]) }), 'blk.0.split_positions', /2 pieces .* lists 3/],
];

for (const [name, mutate, tensor, message] of CASES) {
  test(`invalid unit is rejected naming file and tensor: ${name}`, async (t) => {
    const dir = await writeModel(await tempDir(t), mutate);
    await assert.rejects(openDf11Model(dir), expectUnitError(tensor, message));
  });
}

test('op decreasing (two chunks)', async (t) => {
  const blk = structuralUnit(N, 5000, PIECES);
  const dir = await writeModel(await tempDir(t), (u) => Object.assign(find(u, 'output_positions'), { data: u32le([0, 600, 500]) }), blk);
  await assert.rejects(openDf11Model(dir), expectUnitError('blk.0.output_positions', /entry 2 \(500\) is below entry 1/));
});

test('the rare short output_positions (K entries) is accepted', async (t) => {
  const blk = structuralUnit(N, 5000, PIECES);
  const dir = await writeModel(await tempDir(t), (u) => Object.assign(find(u, 'output_positions'), { shape: [8], data: u32le([0, N]) }), blk);
  const m = await openDf11Model(dir);
  assert.equal(m.unit('blk.0').geometry.opEntries, 2);
  assert.equal(m.unit('blk.0').geometry.k, 2);
  assert.deepEqual(m.unit('blk.0').splitPositions, [200, 500]);
  assert.equal((await m.readUnit('blk.0')).outputPositions.length, 8);
  await m.close();
});

test('the error names the file that holds the bad tensor, not the unit shard', async (t) => {
  const dir = await writeModel(await tempDir(t), (u, all) => {
    const gaps = find(u, 'gaps');
    u.splice(u.indexOf(gaps), 1);
    gaps.shape = [300];
    gaps.data = new Uint8Array(300);
    all.set('elsewhere', [gaps]);
  });
  await assert.rejects(openDf11Model(dir), expectUnitError('blk.0.gaps', /300 bytes/, 'elsewhere.safetensors'));
});

test('a unit matching no pattern, and a tensor in two files', async (t) => {
  const a = await writeModel(await tempDir(t), (_u, all) => all.set('other.0', unitTensorSources('other.0', structuralUnit(10, 10))));
  await assert.rejects(openDf11Model(a), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid' && /matches no pattern_dict key/.test(e.message) && e.tensor === 'other.0.encoded_exponent');
  const b = await writeModel(await tempDir(t), (u, all) => all.set('dup', [find(u, 'luts')]));
  await assert.rejects(openDf11Model(b), (e: unknown) => e instanceof Df11Error && e.code === 'duplicate-tensor' && e.tensor === 'blk.0.luts');
});

test('geometry limits: N and B below 2^31', () => {
  const shapes = { luts: [3, 256], encoded_exponent: [4096], sign_mantissa: [2 ** 31], output_positions: [8], gaps: [320], split_positions: [0] };
  assert.throws(() => checkUnitShapes(shapes, { path: 'u', file: 'f' }), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid' && /2\^31/.test(e.message) && e.tensor === 'u.sign_mantissa');
  const k = Math.ceil(2 ** 31 / 4096);
  const big = { ...shapes, sign_mantissa: [10], encoded_exponent: [2 ** 31], gaps: [320 * k], output_positions: [4 * (k + 1)] };
  assert.throws(() => checkUnitShapes(big, { path: 'u' }), (e: unknown) => e instanceof Df11Error && e.tensor === 'u.encoded_exponent');
  assert.deepEqual(checkUnitShapes({ ...shapes, sign_mantissa: [2 ** 31 - 1] }, { path: 'u' }), { n: 2 ** 31 - 1, b: 4096, k: 1, lutRows: 3, opEntries: 2, pieces: 1 });
});

test('the writer refuses an invalid unit and leaves no file', async (t) => {
  const dir = await tempDir(t);
  const bad = structuralUnit(N, 1500, PIECES);
  bad.splitPositions = new BigInt64Array([500n, 200n]);
  await assert.rejects(writeUnitShard(dir, { path: 'blk.0', unit: bad }), expectUnitError('blk.0.split_positions', /not above/, ''));
  const ragged = structuralUnit(N, 1500);
  ragged.luts = new Uint8Array(300);
  await assert.rejects(writeUnitShard(dir, { path: 'blk.0', unit: ragged }), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid');
  assert.equal(existsSync(join(dir, 'blk_0.safetensors')), false);
  await assert.rejects(writeUnitShard(dir, { path: 'blk.0', unit: structuralUnit(N, 1500), sha256: 'XYZ' }), (e: unknown) => e instanceof Df11Error && e.code === 'usage');
  // data that does not match the declared shape
  const lying: TensorSource = { name: 'x', dtype: 'BF16', shape: [4], data: async () => new Uint8Array(6) };
  await assert.rejects(writeTensorFile(join(dir, 'x.safetensors'), [lying]), (e: unknown) => e instanceof Df11Error && e.code === 'shape-size-mismatch');
  assert.equal(existsSync(join(dir, 'x.safetensors')), false);
});

test('ComfyUI-native FLUX file without config: the published ComfyUI dict is recognised from the unit paths', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'flux-df11.safetensors');
  const sizes = (k: number) => Array.from({ length: k }, () => 10);
  await writeTensorFile(file, [
    ...unitTensorSources('double_blocks.0', structuralUnit(100, 30, sizes(10))),
    ...unitTensorSources('single_blocks.0', structuralUnit(30, 30, sizes(3))),
    { name: 'img_in.weight', dtype: 'BF16', shape: [2, 2], data: new Uint8Array(8) },
  ]);
  const m = await openDf11Model(file);
  assert.equal(m.configSource, 'published flux-comfyui');
  assert.deepEqual(m.units.map((u) => [u.path, u.attrs.length]), [['double_blocks.0', 10], ['single_blocks.0', 3]]);
  assert.deepEqual(m.others, ['img_in.weight']);
  await m.close();
});
