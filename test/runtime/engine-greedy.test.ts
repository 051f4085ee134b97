// Greedy generation on the demo model against llama2.c run.c on the same (BF16-rounded) weights:
// 120 tokens from BOS, and prompts processed in one prefill pass. Runs on whatever adapter the
// machine has (SwiftShader without a GPU) and fails when there is none.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from '../../src/runtime/generate.js';
import { loadTokenizer } from '../../src/runtime/node/open-model.js';
import type { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { demoEngine, greedyFixture, promptFixture } from './runtime-helpers.js';

describe('greedy generation on stories260K (bf16 mode)', () => {
  let ctx: Awaited<ReturnType<typeof demoEngine>>;
  let tok: TextTokenizer;
  before(async () => {
    ctx = await demoEngine({ mode: 'bf16', contextTokens: 128 });
    tok = await loadTokenizer(ctx.model.dir, ctx.engine.config.vocabSize);
  });
  after(async () => ctx?.close());

  it('runs on a real adapter and names it', () => {
    const a = ctx.engine.adapter;
    assert.ok(a.vendor.length + a.description.length + a.architecture.length > 0);
    assert.equal(ctx.engine.mode, 'bf16');
    assert.match(ctx.engine.describeWeights(), /^bf16: all 6 weight groups resident/);
  });

  it('reproduces llama2.c: 120 tokens from BOS', async () => {
    const fx = greedyFixture();
    const s = await generate(ctx.engine, [fx.bos], { maxTokens: fx.steps });
    assert.equal(s.stopReason, 'max-tokens');
    assert.deepEqual(s.tokens, fx.tokens);
    const text = tok.decode(s.tokens, fx.bos);
    assert.equal(text, fx.text);
    assert.ok(text.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.'));
  });

  it('reproduces llama2.c after prompts prefilled in one pass', async () => {
    for (const c of promptFixture()) {
      const prompt = tok.encode(c.text, { bos: true });
      assert.deepEqual(prompt, c.promptTokens);
      const s = await generate(ctx.engine, prompt, { maxTokens: c.greedy.length });
      assert.deepEqual(s.tokens, c.greedy, c.text);
    }
  });
});
