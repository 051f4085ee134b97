// The llama2.c importer reproduces the shipped demo model (converted independently with PyTorch)
// tensor by tensor, in float32 and after BF16 rounding, and rejects checkpoints whose size or header
// is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { importLlama2c, llama2cFloatCount, parseLlama2cHeader, permuteRotary, readLlama2c } from '../../src/format/llama2c.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { assertSameTensors } from '../helpers/same-tensors.js';

const demo = sharedDemoModelDir();
const BIN = join(demo, 'stories260K.bin');

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'df11-llama2c-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('stories260K.bin imports to the shipped BF16 model, config and tokenizer', async () => {
  await withTempDir(async (dir) => {
    await importLlama2c(BIN, dir, { tokenizerPath: join(demo, 'tok512.bin') });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tok512.bin']);
    await assertSameTensors(join(dir, 'model.safetensors'), join(demo, 'model.safetensors'));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(demo, 'config.json'), 'utf8')));
    assert.ok(readFileSync(join(dir, 'tok512.bin')).equals(readFileSync(join(demo, 'tok512.bin'))));
  });
});

test('stories260K.bin imports to the shipped float32 model before rounding', async () => {
  await withTempDir(async (dir) => {
    await importLlama2c(BIN, dir, { dtype: 'F32' });
    await assertSameTensors(join(dir, 'model.safetensors'), join(demo, 'model.f32.safetensors'));
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype, 'float32');
  });
});

test('q and k need the rotary permutation: the raw llama2.c rows differ from the shipped ones', async () => {
  const bytes = readFileSync(BIN);
  const h = parseLlama2cHeader(bytes, BIN);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 28, bytes.byteOffset + bytes.byteLength));
  const wq0 = floats.subarray(h.vocabSize * h.dim + h.nLayers * h.dim, h.vocabSize * h.dim + h.nLayers * h.dim + h.dim * h.dim);
  const model = readLlama2c(bytes, BIN);
  const q0 = model.tensors.find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')!;
  assert.notDeepEqual(Array.from(q0.data), Array.from(wq0));
  assert.deepEqual(Array.from(q0.data), Array.from(permuteRotary(wq0, h.nHeads, h.dim, h.dim)));
});

test('permuteRotary moves interleaved pairs to halves within each head', () => {
  // 2 heads of 4 rows, 1 column: rows hold their own index.
  const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(Array.from(permuteRotary(w, 2, 8, 1)), [0, 2, 1, 3, 4, 6, 5, 7]);
  const wide = Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
  assert.deepEqual(Array.from(permuteRotary(wide, 1, 4, 2)), [0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
});

/** A tiny synthetic checkpoint: dim 4, hidden 6, 1 layer, 2 heads, 1 kv head, vocab `vocab`, seq 3. */
function syntheticCheckpoint(vocab: number): Uint8Array {
  const header = Int32Array.from([4, 6, 1, 2, 1, vocab, 3]);
  const h = parseLlama2cHeader(new Uint8Array(header.buffer), 'synthetic');
  const floats = Float32Array.from({ length: llama2cFloatCount(h) }, (_, i) => i);
  const out = new Uint8Array(28 + floats.byteLength);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(new Uint8Array(floats.buffer), 28);
  return out;
}

test('a negative vocab_size means an untied classifier read from the end of the file', async () => {
  const tied = readLlama2c(syntheticCheckpoint(5), 'tied');
  assert.ok(!tied.tensors.some((t) => t.name === 'lm_head.weight'));
  const bytes = syntheticCheckpoint(-5);
  const untied = readLlama2c(bytes, 'untied');
  const head = untied.tensors.find((t) => t.name === 'lm_head.weight')!;
  assert.deepEqual(head.shape, [5, 4]);
  const total = llama2cFloatCount(untied.header);
  assert.deepEqual(Array.from(head.data), Array.from({ length: 20 }, (_, i) => total - 20 + i));
  assert.equal(untied.header.tiedClassifier, false);
  await withTempDir(async (dir) => {
    const path = join(dir, 'untied.bin');
    writeFileSync(path, bytes);
    await importLlama2c(path, join(dir, 'out'));
    const config = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
    assert.equal(config.tie_word_embeddings, false);
    assert.equal(config.vocab_size, 5);
    assert.equal(config.num_key_value_heads, 1);
  });
});

test('a checkpoint whose size disagrees with its header is rejected naming the file', async () => {
  const good = readFileSync(BIN);
  const expectError = (code: string, file: string) => (e: unknown) => e instanceof Df11Error && e.code === code && e.message.includes(file);
  assert.throws(() => readLlama2c(good.subarray(0, good.length - 4), 'short.bin'), expectError('truncated-file', 'short.bin'));
  assert.throws(() => readLlama2c(Buffer.concat([good, Buffer.alloc(4)]), 'long.bin'), expectError('header-invalid', 'long.bin'));
  assert.throws(() => readLlama2c(good.subarray(0, 20), 'tiny.bin'), expectError('truncated-file', 'tiny.bin'));
  for (const [field, value] of [[0, 0], [3, 3], [4, 3], [5, 0], [6, -1], [2, 1 << 20]] as const) {
    const bad = Buffer.from(good);
    bad.writeInt32LE(value, field * 4);
    assert.throws(() => readLlama2c(bad, 'bad.bin'), expectError('header-invalid', 'bad.bin'), `field ${field} = ${value}`);
  }
  await withTempDir(async (dir) => {
    const path = join(dir, 'cut.bin');
    writeFileSync(path, good.subarray(0, 1000));
    await assert.rejects(importLlama2c(path, join(dir, 'out')), expectError('truncated-file', path));
    await assert.rejects(importLlama2c(join(dir, 'missing.bin'), join(dir, 'out')), expectError('io', 'missing.bin'));
  });
});
