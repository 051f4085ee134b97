// `df11 bench generate` end to end on a one-layer tiny model: every mode runs, the report has its
// table, the modes' greedy ids agree, and a GPU memory cap ends generation at the KV cache's limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDf11 } from './cli-harness.js';

describe('df11 bench generate', () => {
  it('runs bf16, df11 and offload on the tiny shape and reports each', async () => {
    const r = await runDf11(['bench', 'generate', '--shape', 'tiny', '--layers', '1', '--tokens', '4', '--warmup', '0', '--no-cache', '--kv-fit']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /synthetic tiny \(1 layers, hidden 256/);
    assert.match(r.stdout, /SAME host buffer/);
    for (const mode of ['bf16', 'df11', 'offload']) assert.match(r.stdout, new RegExp(`^${mode} +[0-9.]+ +[0-9.]+ +[0-9.]+ .* 4 +max-tokens$`, 'm'));
    assert.match(r.stdout, /greedy ids of bf16, df11, offload over their first 4 tokens: identical/);
    assert.match(r.stdout, /napkin: a decode step reads/);
    // no cap: the cache grows to the model's context (2048 positions for the tiny shape)
    for (const mode of ['bf16', 'df11', 'offload']) assert.match(r.stdout, new RegExp(`^${mode}: the KV cache grows to 2048 positions beside the weights`, 'm'));
  });

  it('stops when the KV cache fills under --gpu-memory', async () => {
    // two capped runs with every weight group offloaded (checked: the cap leaves room for the KV cache
    // of either request but not for the weights) give the bytes per position
    const peak = async (tokens: number, cap: number) => {
      const r = await runDf11(['bench', 'generate', '--shape', 'tiny', '--layers', '1', '--modes', 'bf16', '--tokens', String(tokens), '--warmup', '0', '--gpu-memory', String(cap)]);
      assert.equal(r.code, 0, r.stderr);
      const m = /peak GPU (\d+) bytes, stop: ([a-z-]+) \(KV cache (\d+) positions\)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.match(r.stdout, /bf16: 0 of \d+ weight groups resident/);
      return { bytes: Number(m[1]), stop: m[2]!, positions: Number(m[3]), stdout: r.stdout };
    };
    const roomy = 2_700_000;
    const a = await peak(4, roomy);
    const b = await peak(40, roomy);
    assert.equal(b.stop, 'max-tokens');
    const perPosition = (b.bytes - a.bytes) / (b.positions - a.positions);
    const c = await peak(64, Math.floor(a.bytes + (20 - a.positions + 0.5) * perPosition));
    assert.equal(c.stop, 'context-full');
    assert.equal(c.positions, 20);
    // prompt 8: positions 0..19 hold the prompt and 12 generated ids, the 13th is never fed back
    assert.match(c.stdout, /context-full \(KV cache of 20 positions ran out after 13 tokens\)/);
  });

  it('refuses unknown modes and subcommands', async () => {
    assert.equal((await runDf11(['bench', 'generate', '--modes', 'bf16,fp8'])).code, 2);
    assert.equal((await runDf11(['bench', 'encode'])).code, 2);
  });
});
