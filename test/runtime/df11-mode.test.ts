// df11 mode: units resident compressed and decoded on the GPU before each layer give logits equal,
// byte for byte, to bf16 mode on the demo model, for the published Llama dict (layers, lm_head and
// embedding units: the reference compresses the tied head as its own unit) and a dict that leaves
// the embedding in BF16. Also corrupt data and memory caps.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { InferenceEngine } from '../../src/runtime/engine.js';
import { openModelDir } from '../../src/runtime/node/open-model.js';
import { compressDemo } from './df11-helpers.js';
import { assertSameLogits, DECODE_STEPS, logitsTrace, promptFixture, testGpu } from './runtime-helpers.js';

const prompt = promptFixture()[0]!;

describe('df11 mode', () => {
  let llama: { dir: string; cleanup(): Promise<void> };
  let bf16: Awaited<ReturnType<typeof logitsTrace>>;
  before(async () => {
    llama = await compressDemo('llama');
    bf16 = await logitsTrace(undefined, { mode: 'bf16' });
  });
  after(async () => llama?.cleanup());

  it('equals bf16 byte for byte (layer, lm_head and embedding units)', async () => {
    const df11 = await logitsTrace(llama.dir, {});
    assert.match(df11.weights, /^df11: 7 units resident compressed/);
    assertSameLogits(df11.bytes, bf16.bytes);
    assert.deepEqual(df11.tokens, prompt.greedy.slice(0, DECODE_STEPS + 1));
  });

  it('equals bf16 with the embedding and head left in BF16 (qwen3-4b dict: layers only)', async () => {
    const layersOnly = await compressDemo('qwen3-4b');
    try {
      const df11 = await logitsTrace(layersOnly.dir, { mode: 'df11' });
      assert.match(df11.weights, /^df11: 5 units resident compressed .*, 1 BF16 matrices/);
      assertSameLogits(df11.bytes, bf16.bytes);
    } finally {
      await layersOnly.cleanup();
    }
  });

  it('reports corrupt unit data found by the GPU decoder', async () => {
    const bad = await compressDemo('llama');
    try {
      const shard = join(bad.dir, (await readdir(bad.dir)).find((n) => n === 'model_layers_2.safetensors')!);
      const bytes = await readFile(shard);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as Record<string, { data_offsets: [number, number] }>;
      const [start, end] = header['model.layers.2.encoded_exponent']!.data_offsets;
      const base = 8 + headerLength;
      for (let i = base + start; i < base + end - 1; i++) bytes[i] = 0xff; // every code becomes the longest one
      await writeFile(shard, bytes);
      await assert.rejects(logitsTrace(bad.dir, {}), (e: unknown) => e instanceof Df11Error && e.code === 'gpu-decode-error' && /model\.layers\.2/.test(e.message));
    } finally {
      await bad.cleanup();
    }
  });

  it('refuses a cap the compressed weights do not fit, and other modes on a DF11 model', async () => {
    const gpu = await testGpu();
    const model = await openModelDir(llama.dir);
    try {
      await assert.rejects(InferenceEngine.create(gpu, model.files, { gpuMemoryBytes: 200_000 }), (e: unknown) => e instanceof Df11Error && e.code === 'gpu-memory');
      await assert.rejects(InferenceEngine.create(gpu, model.files, { mode: 'offload' }), (e: unknown) => e instanceof Df11Error && e.code === 'usage');
    } finally {
      await model.close();
    }
  });
});
