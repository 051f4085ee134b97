// forwardGreedy (argmax fed back on the GPU, ids read back per window) against step-by-step
// forward() calls: the same ids and the same logits afterwards, in bf16, df11 and offload mode (the
// last takes the host path: its embedding needs host ids); generate() stopping at a stop token in
// the middle of a window rewinds the position to the tokens actually fed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceEngine, type EngineOptions } from '../../src/runtime/engine.js';
import { generate } from '../../src/runtime/generate.js';
import { parseModelConfig } from '../../src/runtime/model-config.js';
import type { ModelFiles } from '../../src/runtime/model-files.js';
import { f32Bytes, testGpu } from './runtime-helpers.js';
import { bf16Files, df11Files, syntheticModel, TINY_CONFIG } from './synthetic-model.js';

const CONFIG = { ...TINY_CONFIG, model_type: 'llama', tie_word_embeddings: false };
const PROMPT = [3, 17, 42, 5];
const STEPS = 6;

const parsed = parseModelConfig(CONFIG);
const model = syntheticModel(CONFIG, parsed, 7);

/** ids of STEPS greedy steps after PROMPT and the logits of the step after them, both ways. */
async function bothWays(files: ModelFiles, options: EngineOptions = {}): Promise<{ windowed: { ids: number[]; logits: Buffer }; stepwise: { ids: number[]; logits: Buffer }; engine: string }> {
  const engine = await InferenceEngine.create(await testGpu(), files, { contextTokens: 32, ...options });
  try {
    engine.reset();
    const a0 = (await engine.forward(PROMPT)).argmax;
    const wIds = await engine.forwardGreedy(a0, STEPS);
    assert.equal(engine.position, PROMPT.length + STEPS);
    const wLogits = Buffer.from(f32Bytes((await engine.forward([wIds[STEPS - 1]!], { logits: true })).logits!));

    engine.reset();
    let next = (await engine.forward(PROMPT)).argmax;
    const sIds: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      next = (await engine.forward([i === 0 ? a0 : next])).argmax;
      sIds.push(next);
    }
    const sLogits = Buffer.from(f32Bytes((await engine.forward([sIds[STEPS - 1]!], { logits: true })).logits!));
    return { windowed: { ids: wIds, logits: wLogits }, stepwise: { ids: sIds, logits: sLogits }, engine: engine.describeWeights() };
  } finally {
    engine.destroy();
  }
}

describe('forwardGreedy', () => {
  for (const [name, files, options] of [
    ['bf16', bf16Files(model), {}],
    ['df11', df11Files(model, parsed), {}],
    ['offload (host ids)', bf16Files(model), { mode: 'offload' }],
  ] as const) {
    it(`equals step-by-step forward() calls: ${name}`, async () => {
      const r = await bothWays(files, options);
      assert.deepEqual(r.windowed.ids, r.stepwise.ids);
      assert.ok(r.windowed.logits.equals(r.stepwise.logits), 'logits after the window');
    });
  }

  it('checks its arguments and the KV cache before running', async () => {
    const engine = await InferenceEngine.create(await testGpu(), bf16Files(model), { contextTokens: 8 });
    try {
      engine.reset();
      await engine.forward(PROMPT);
      await assert.rejects(engine.forwardGreedy(1, 5), /KV cache holds 8 positions/);
      await assert.rejects(engine.forwardGreedy(96, 1), /outside the vocabulary/);
      await assert.rejects(engine.forwardGreedy(1, 0), RangeError);
      assert.equal(engine.position, PROMPT.length);
      assert.throws(() => engine.rewind(PROMPT.length + 1), RangeError);
    } finally {
      engine.destroy();
    }
  });

  it('generate() stopping inside a window rewinds to the tokens fed', async () => {
    const engine = await InferenceEngine.create(await testGpu(), bf16Files(model), { contextTokens: 32 });
    try {
      const all = await generate(engine, PROMPT, { maxTokens: 12 });
      assert.equal(all.tokens.length, 12);
      // windows after the prompt's token: [1], [2, 3], [4 .. 7], [8 .. 11]; a stop token first seen at
      // index 4, 5 or 6 ends generation inside the third window
      const k = all.tokens.findIndex((t, i) => i >= 4 && i <= 6 && all.tokens.indexOf(t) === i);
      assert.ok(k >= 4, `greedy ids ${all.tokens} repeat too much for this test`);
      const stopped = await generate(engine, PROMPT, { maxTokens: 12, stopTokens: [all.tokens[k]!] });
      assert.equal(stopped.stopReason, 'stop-token');
      assert.deepEqual(stopped.tokens, all.tokens.slice(0, k + 1));
      assert.equal(engine.position, PROMPT.length + k);
      // the cache holds exactly the fed tokens: continuing equals the uninterrupted run
      const next = await engine.forward([all.tokens[k]!]);
      assert.equal(next.argmax, all.tokens[k + 1]);
    } finally {
      engine.destroy();
    }
  });
});
