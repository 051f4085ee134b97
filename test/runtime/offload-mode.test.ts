// offload mode and memory caps: weights kept in host memory and uploaded each forward pass (all of
// them, or the groups that do not fit a cap) give logits equal, byte for byte, to bf16 mode; an
// untied output head (built in memory) takes the same paths; the KV cache stops at the cap.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { InferenceEngine } from '../../src/runtime/engine.js';
import { generate } from '../../src/runtime/generate.js';
import type { Bf16ModelFiles, TensorSource } from '../../src/runtime/model-files.js';
import type { OpenedModel } from '../../src/runtime/node/open-model.js';
import { assertSameLogits, logitsTrace, openDemoModel, testGpu } from './runtime-helpers.js';

/** The demo model with an explicit lm_head.weight (a copy of the embedding) and untied config. */
function untied(model: OpenedModel): Bf16ModelFiles {
  const base = model.files.tensors;
  const HEAD = 'lm_head.weight';
  const EMBED = 'model.embed_tokens.weight';
  const tensors: TensorSource = {
    has: (name) => name === HEAD || base.has(name),
    entry: (name) => base.entry(name === HEAD ? EMBED : name),
    read: (name) => base.read(name === HEAD ? EMBED : name),
  };
  return { kind: 'bf16', name: 'untied demo', config: { ...model.files.config, tie_word_embeddings: false }, tensors };
}

describe('offload mode and GPU memory caps', () => {
  let bf16: Awaited<ReturnType<typeof logitsTrace>>;
  let model: OpenedModel;
  before(async () => {
    bf16 = await logitsTrace(undefined, { mode: 'bf16' });
    model = await openDemoModel();
  });
  after(async () => model?.close());

  it('equals bf16 byte for byte with every weight in host memory', async () => {
    const off = await logitsTrace(undefined, { mode: 'offload' });
    assert.match(off.weights, /^offload: 0 of 6 weight groups resident, 518656 bytes in host memory/);
    assertSameLogits(off.bytes, bf16.bytes);
    assert.ok(off.peakBytes < bf16.peakBytes);
  });

  it('equals bf16 with part of the weights offloaded under a cap, in both modes', async () => {
    const cap = bf16.peakBytes - 200_000;
    for (const mode of ['bf16', 'offload'] as const) {
      const part = await logitsTrace(undefined, { mode, gpuMemoryBytes: cap });
      const m = /^\w+: (\d) of 6 weight groups resident/.exec(part.weights);
      assert.ok(m && Number(m[1]) > 0 && Number(m[1]) < 6, part.weights);
      assert.ok(part.peakBytes <= cap, `peak ${part.peakBytes} > cap ${cap}`);
      assertSameLogits(part.bytes, bf16.bytes);
    }
  });

  it('runs an untied head resident and offloaded, equal to the tied model', async () => {
    const files = untied(model);
    const resident = await logitsTrace(files, { mode: 'bf16' });
    assert.match(resident.weights, /all 7 weight groups resident/);
    assertSameLogits(resident.bytes, bf16.bytes);
    const off = await logitsTrace(files, { mode: 'offload' });
    assert.match(off.weights, /0 of 7 weight groups resident/);
    assertSameLogits(off.bytes, bf16.bytes);
  });

  it('stops generation when the KV cache cannot grow under the cap', async () => {
    const gpu = await testGpu();
    const engine = await InferenceEngine.create(gpu, model.files, { mode: 'offload', gpuMemoryBytes: 420_000, contextTokens: 8 });
    try {
      const s = await generate(engine, [1], { maxTokens: 200 });
      assert.equal(s.stopReason, 'context-full');
      assert.ok(s.capacity > 8 && s.capacity < 200, `capacity ${s.capacity}`);
      assert.equal(s.tokens.length, s.capacity);
      assert.ok(engine.memory.peakBytes <= 420_000);
      await assert.rejects(engine.forward([5]), (e: unknown) => e instanceof Df11Error && e.code === 'generation');
      await assert.rejects(generate(engine, new Array<number>(s.capacity + 1).fill(1), { maxTokens: 1 }), (e: unknown) => e instanceof Df11Error && e.code === 'generation');
    } finally {
      engine.destroy();
    }
  });

  it('refuses a cap below what full offload needs', async () => {
    const gpu = await testGpu();
    await assert.rejects(InferenceEngine.create(gpu, model.files, { gpuMemoryBytes: 250_000 }), (e: unknown) => e instanceof Df11Error && e.code === 'gpu-memory');
  });
});
