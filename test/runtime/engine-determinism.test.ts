// Bit-for-bit repeatability: the same forward passes give the same logits bytes; a prompt prefilled
// in one pass (or in chunks) gives the same logits as feeding it one token at a time; also with the
// default row workgroup of 64 invocations (the size GPUs use).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferenceEngine } from '../../src/runtime/engine.js';
import { ROW_WORKGROUP } from '../../src/runtime/ops/kernel-set.js';
import { demoEngine, f32Bytes, promptFixture } from './runtime-helpers.js';

async function logitsOneByOne(engine: InferenceEngine, tokens: readonly number[]): Promise<Float32Array> {
  engine.reset();
  let logits: Float32Array | undefined;
  for (const t of tokens) logits = (await engine.forward([t], { logits: true })).logits;
  return logits!;
}

async function logitsPrefill(engine: InferenceEngine, tokens: readonly number[]): Promise<{ logits: Float32Array; argmax: number }> {
  engine.reset();
  const r = await engine.forward(tokens, { logits: true });
  return { logits: r.logits!, argmax: r.argmax };
}

function argmaxOf(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

describe('determinism', () => {
  const prompt = promptFixture()[2]!.promptTokens;

  it('repeats logits bit for bit; prefill, chunked prefill and one-by-one agree', async () => {
    const ctx = await demoEngine({ contextTokens: 64 });
    try {
      const a = await logitsPrefill(ctx.engine, prompt);
      const b = await logitsPrefill(ctx.engine, prompt);
      assert.ok(f32Bytes(a.logits).equals(f32Bytes(b.logits)));
      assert.equal(a.argmax, argmaxOf(a.logits), 'GPU argmax = host argmax');
      const c = await logitsOneByOne(ctx.engine, prompt);
      assert.ok(f32Bytes(a.logits).equals(f32Bytes(c)), 'prefill = one token at a time');
    } finally {
      await ctx.close();
    }
    const chunked = await demoEngine({ contextTokens: 64, maxChunkTokens: 5 });
    try {
      const ref = await demoEngine({ contextTokens: 64 });
      try {
        const x = await logitsPrefill(chunked.engine, prompt);
        const y = await logitsPrefill(ref.engine, prompt);
        assert.ok(f32Bytes(x.logits).equals(f32Bytes(y.logits)), 'chunks of 5 = one pass');
      } finally {
        await ref.close();
      }
    } finally {
      await chunked.close();
    }
  });

  it('past one attention segment: a prompt of 300 positions prefilled in chunks = one token at a time', async () => {
    const long = Array.from({ length: 300 }, (_, i) => prompt[i % prompt.length]!);
    const ctx = await demoEngine({ contextTokens: 320, maxChunkTokens: 64 });
    try {
      const a = await logitsPrefill(ctx.engine, long);
      const c = await logitsOneByOne(ctx.engine, long);
      assert.ok(f32Bytes(a.logits).equals(f32Bytes(c)), 'prefill = one token at a time');
    } finally {
      await ctx.close();
    }
  });

  it(`agrees with itself with ${ROW_WORKGROUP}-invocation row workgroups`, async () => {
    const ctx = await demoEngine({ contextTokens: 16, rowWorkgroup: ROW_WORKGROUP });
    try {
      const short = prompt.slice(0, 6);
      const a = await logitsPrefill(ctx.engine, short);
      const b = await logitsOneByOne(ctx.engine, short);
      assert.ok(f32Bytes(a.logits).equals(f32Bytes(b)));
      assert.equal(a.argmax, argmaxOf(a.logits));
    } finally {
      await ctx.close();
    }
  });
});
