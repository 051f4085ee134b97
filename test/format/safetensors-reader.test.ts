// SafetensorsReader against the real demo model, a sparse file larger than 4 GiB, and bad files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { encodeSafetensorsHeader } from '../../src/format/safetensors-header.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const DEMO = join(sharedDemoModelDir(), 'model.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'df11-reader-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface DemoConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
}

/** Expected tensor shapes of a Llama checkpoint with tied embeddings, from its config. */
function expectedShapes(c: DemoConfig): Map<string, number[]> {
  const head = c.hidden_size / c.num_attention_heads;
  const m = new Map<string, number[]>([
    ['model.embed_tokens.weight', [c.vocab_size, c.hidden_size]],
    ['model.norm.weight', [c.hidden_size]],
  ]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [c.hidden_size]);
    m.set(`${p}post_attention_layernorm.weight`, [c.hidden_size]);
    m.set(`${p}self_attn.q_proj.weight`, [c.num_attention_heads * head, c.hidden_size]);
    m.set(`${p}self_attn.k_proj.weight`, [c.num_key_value_heads * head, c.hidden_size]);
    m.set(`${p}self_attn.v_proj.weight`, [c.num_key_value_heads * head, c.hidden_size]);
    m.set(`${p}self_attn.o_proj.weight`, [c.hidden_size, c.num_attention_heads * head]);
    m.set(`${p}mlp.gate_proj.weight`, [c.intermediate_size, c.hidden_size]);
    m.set(`${p}mlp.up_proj.weight`, [c.intermediate_size, c.hidden_size]);
    m.set(`${p}mlp.down_proj.weight`, [c.hidden_size, c.intermediate_size]);
  }
  return m;
}

test('demo model: names, dtypes and shapes match config.json', async () => {
  const config = JSON.parse(readFileSync(join(sharedDemoModelDir(), 'config.json'), 'utf8')) as DemoConfig;
  assert.deepEqual(
    [config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size, config.num_key_value_heads],
    [64, 172, 5, 512, 4],
  );
  const want = expectedShapes(config);
  const r = await SafetensorsReader.open(DEMO);
  try {
    assert.equal(r.names().length, 47); // 5 layers x 9 + embedding + final norm (tied lm_head)
    assert.equal(want.size, 47);
    assert.deepEqual([...r.names()].sort(), [...want.keys()].sort());
    for (const t of r.header.tensors) {
      assert.equal(t.dtype, 'BF16', t.name);
      assert.deepEqual(t.shape, want.get(t.name), t.name);
    }
    assert.deepEqual(r.entry('model.layers.0.self_attn.k_proj.weight').shape, [32, 64]);
    assert.equal(r.metadata?.format, 'pt');
    assert.ok(!r.has('lm_head.weight'));
    assert.throws(() => r.entry('lm_head.weight'), (e: unknown) => e instanceof Df11Error && e.code === 'tensor-not-found' && e.file === DEMO);
  } finally {
    await r.close();
  }
});

test('demo model: read, readRange, readRangeInto and stream return the file bytes', async () => {
  const file = readFileSync(DEMO);
  const n = Number(file.readBigUInt64LE(0));
  const r = await SafetensorsReader.open(DEMO);
  try {
    assert.equal(r.header.dataStart, 8 + n);
    const parts: Uint8Array[] = [];
    const byStart = [...r.header.tensors].sort((a, b) => a.start - b.start);
    for (const t of byStart) {
      const bytes = await r.read(t.name);
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer.byteLength, t.end - t.start);
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      assert.deepEqual(bytes, new Uint8Array(file.subarray(t.start, t.end)));
      parts.push(bytes);
    }
    assert.deepEqual(Buffer.concat(parts), file.subarray(8 + n));

    const name = 'model.layers.2.mlp.down_proj.weight';
    const e = r.entry(name);
    assert.deepEqual(await r.readRange(name, 1001, 333), new Uint8Array(file.subarray(e.start + 1001, e.start + 1334)));
    assert.deepEqual(await r.readRange(name, e.end - e.start, 0), new Uint8Array(0));
    const into = new Uint8Array(100);
    await r.readRangeInto(name, 7, into);
    assert.deepEqual(into, new Uint8Array(file.subarray(e.start + 7, e.start + 107)));

    const chunks: Uint8Array[] = [];
    for await (const c of r.stream(name, 1000)) chunks.push(c);
    assert.equal(chunks.length, Math.ceil((e.end - e.start) / 1000));
    assert.ok(chunks.slice(0, -1).every((c) => c.length === 1000));
    assert.deepEqual(Buffer.concat(chunks), file.subarray(e.start, e.end));
    const whole: Uint8Array[] = [];
    for await (const c of r.stream(name)) whole.push(c);
    assert.equal(whole.length, 1);

    for (const [off, len] of [[-1, 1], [0, e.end - e.start + 1], [e.end - e.start, 1], [0.5, 1], [0, Number.NaN], [2 ** 53, 1]] as const) {
      await assert.rejects(r.readRange(name, off, len), (err: unknown) => err instanceof Df11Error && err.code === 'offsets-invalid' && err.tensor === name);
    }
    assert.throws(() => r.stream(name, 0), { code: 'offsets-invalid' });
    await assert.rejects(r.read('nope'), { code: 'tensor-not-found' });
  } finally {
    await r.close();
  }
  await assert.rejects(r.read('model.norm.weight'), { code: 'io' });
  await r.close(); // twice is fine
});

test('a sparse file over 4 GiB: offsets past 2^32 read exactly', async () => {
  const path = join(tmp, 'big.safetensors');
  const BIG = 5 * 2 ** 30; // 5 GiB of U8
  const h = encodeSafetensorsHeader(
    [
      { name: 'head', dtype: 'F32', shape: [4] },
      { name: 'big', dtype: 'U8', shape: [BIG] },
      { name: 'tail', dtype: 'BF16', shape: [3, 3] },
    ],
    { note: 'sparse' },
  );
  const size = h.dataStart + h.dataBytes;
  assert.ok(size > 2 ** 32 + 2 ** 30);
  writeFileSync(path, h.bytes);
  await truncate(path, size); // sparse: costs no disk
  const marker = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const tail = Uint8Array.from({ length: 18 }, (_, i) => 0xa0 + i);
  const within = 2 ** 32 + 12345; // byte offset inside "big", beyond 4 GiB
  const fh = await open(path, 'r+');
  await fh.write(marker, 0, marker.length, h.dataStart + (h.offsets[1]?.begin ?? 0) + within);
  await fh.write(tail, 0, tail.length, h.dataStart + (h.offsets[2]?.begin ?? 0));
  await fh.close();

  const r = await SafetensorsReader.open(path);
  try {
    assert.equal(r.fileSize, size);
    const big = r.entry('big');
    assert.equal(big.end - big.start, BIG);
    assert.equal(r.entry('tail').end, size);
    const got = await r.readRange('big', within - 3, 14);
    assert.deepEqual(got, Uint8Array.from([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0]));
    assert.deepEqual(await r.read('tail'), tail);
    assert.deepEqual(await r.readRange('tail', 16, 2), tail.subarray(16));
    // larger than any Buffer: read() refuses clearly instead of failing inside Node
    await assert.rejects(r.read('big'), (e: unknown) => e instanceof Df11Error && e.code === 'io' && e.tensor === 'big' && /stream/.test(e.message));
    // streaming is bounded: take the first chunk only
    for await (const c of r.stream('big', 1 << 20)) {
      assert.equal(c.length, 1 << 20);
      break;
    }
  } finally {
    await r.close();
  }
});

test('bad files: missing, directory, short, truncated data, hostile length', async () => {
  const code = async (p: string): Promise<string> => {
    try {
      await (await SafetensorsReader.open(p)).close();
      return 'opened';
    } catch (e) {
      assert.ok(e instanceof Df11Error, String(e));
      assert.equal(e.file, p);
      return e.code;
    }
  };
  assert.equal(await code(join(tmp, 'missing.safetensors')), 'io');
  assert.equal(await code(tmp), 'io');
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };
  assert.equal(await code(write('empty.safetensors', new Uint8Array(0))), 'truncated-file');
  assert.equal(await code(write('seven.safetensors', new Uint8Array(7))), 'truncated-file');
  const demo = readFileSync(DEMO);
  assert.equal(await code(write('cut-header.safetensors', demo.subarray(0, 100))), 'truncated-file');
  assert.equal(await code(write('cut-data.safetensors', demo.subarray(0, demo.length - 1))), 'truncated-file');
  assert.equal(await code(write('extra.safetensors', Buffer.concat([demo, Buffer.from([0])]))), 'offsets-invalid');
  const huge = Buffer.from(demo);
  huge.writeBigUInt64LE(2n ** 63n, 0);
  assert.equal(await code(write('huge-length.safetensors', huge)), 'header-too-large');
  const zero = Buffer.from(demo);
  zero.writeBigUInt64LE(0n, 0);
  assert.equal(await code(write('zero-length.safetensors', zero)), 'header-invalid-json');
  assert.equal(await code(write('demo-copy.safetensors', demo)), 'opened');
});
