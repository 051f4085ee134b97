// `df11 generate` end to end (a child process on the demo model): streamed text, the statistics on
// stderr, the KV-cache stop under --gpu-memory, and usage errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/cli-run.js';
import { readCliEnv } from '../../src/cli/env.js';
import { runDf11 } from '../cli/cli-harness.js';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { compressDemo } from './df11-helpers.js';
import { greedyFixture } from './runtime-helpers.js';

const EXIT_USAGE = 2;

describe('df11 generate', () => {
  it('streams the greedy text and reports speed, memory and the adapter', async () => {
    const r = await runDf11(['generate', sharedDemoModelDir(), '--max-tokens', '40']);
    assert.equal(r.code, 0, r.stderr);
    const fx = greedyFixture();
    assert.ok(r.stdout.length > 100);
    assert.ok(fx.text.startsWith(r.stdout.trimEnd()), r.stdout);
    assert.match(r.stderr, /^adapter: .+/m);
    assert.match(r.stderr, /time to first token [0-9.]+ ms, [0-9.]+ tok\/s, peak GPU memory [0-9]+ bytes/);
    assert.match(r.stderr, /generated 40 tokens \(prompt 1, stop: max-tokens\)/);
  });

  it('under --gpu-memory offloads the weights, and stops when the KV cache cannot grow', async () => {
    const r = await runDf11(['generate', sharedDemoModelDir(), '--prompt', 'Once upon a time, Tom', '--max-tokens', '100', '--gpu-memory', '440kB']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('Once upon a time, Tom and Grandma went to the park.'), r.stdout);
    assert.match(r.stderr, /weights: bf16: 0 of 6 weight groups resident/);
    const m = /stopped: the KV cache is full \((\d+) positions fit under the GPU memory limit\); (\d+) tokens were generated after 8 prompt tokens/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(Number(m[2]), Number(m[1]) - 8 + 1);
    const peak = Number(/peak GPU memory (\d+) bytes/.exec(r.stderr)?.[1]);
    assert.ok(peak > 0 && peak <= 440_000, `peak ${peak}`);
  });

  it('generates the same text from a DF11 folder (df11 mode)', async () => {
    const df11 = await compressDemo('llama');
    try {
      const r = await runDf11(['generate', df11.dir, '--max-tokens', '12', '--tokenizer', join(sharedDemoModelDir(), 'tok512.bin')]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length > 30 && greedyFixture().text.startsWith(r.stdout.trimEnd()), r.stdout);
      assert.match(r.stderr, /weights: df11: 7 units resident compressed/);
      assert.match(r.stderr, /mode df11/);
      // compress carries the llama2.c tokenizer along; without it generate says what is missing.
      const found = await runDf11(['generate', df11.dir, '--max-tokens', '4']);
      assert.equal(found.code, 0, found.stderr);
      await rm(join(df11.dir, 'tok512.bin'));
      const missing = await runDf11(['generate', df11.dir, '--max-tokens', '4']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /tokenizer-invalid: no llama2.c tokenizer/);
    } finally {
      await df11.cleanup();
    }
  });

  it('refuses bad options with exit code 2', async () => {
    for (const extra of [['--mode', 'fp8'], ['--gpu-memory', 'lots'], ['--temperature', '-1'], ['--top-p', '0'], ['--max-tokens', '0'], ['--mode', 'df11']]) {
      let stderr = '';
      const io = { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, env: readCliEnv({}), version: 'test' };
      const code = await runCli(['generate', sharedDemoModelDir(), ...extra], io);
      assert.equal(code, EXIT_USAGE, `${extra.join(' ')}: ${stderr}`);
      assert.match(stderr, /^error: usage: /);
    }
  });
});
