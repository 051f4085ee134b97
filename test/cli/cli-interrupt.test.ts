// An interrupted or failing compress must never leave a complete-looking output folder: killed
// (SIGKILL) mid-way, interrupted (SIGINT: exit 130 and the temp folder removed), or failing on a unit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { writeSafetensors } from '../../src/format/safetensors-writer.js';
import { CLI_MAIN, runDf11, tempDir, writeSyntheticLlama } from './cli-harness.js';

const POLL_MS = 5;
const WAIT_LIMIT_MS = 20_000;
/** BF16 +Infinity: exponent 255, which DF11 cannot encode (df11-format.md §8.1). */
const BF16_INFINITY = 0x7f80;

/** Resolves once a `<out>.tmp-*` folder holds at least one finished unit shard. */
async function waitForFirstShard(parent: string, outName: string, child: ChildProcess): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`compress ended (code ${child.exitCode}) before it could be interrupted`);
    for (const d of await readdir(parent)) {
      if (!d.startsWith(`${outName}.tmp-`)) continue;
      const files = await readdir(join(parent, d)).catch(() => [] as string[]);
      if (files.some((f) => /^model_layers_\d+\.safetensors$/.test(f))) return;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) throw new Error('no shard appeared');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('interrupted and failed compress', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let model: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    model = join(dir, 'model');
    // 16 layers of 0.7 M weights: long enough (about a second on one thread) to interrupt mid-way
    await writeSyntheticLlama(model, { layers: 16, hidden: 256, intermediate: 688, vocab: 1024, seed: 3 });
  });
  after(() => cleanup());

  test('SIGKILL mid-way leaves no output folder, only a temp folder', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'compress', model, join(dir, 'killed'), '--threads', '1', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const done = exited(child);
    await waitForFirstShard(dir, 'killed', child);
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(!existsSync(join(dir, 'killed')), 'no complete-looking output');
    const leftovers = (await readdir(dir)).filter((d) => d.startsWith('killed.tmp-'));
    assert.equal(leftovers.length, 1);
    assert.ok(!(await readdir(join(dir, leftovers[0]!))).includes('config.json'), 'config.json is written last');
  });

  test('SIGINT mid-way exits 130 and removes the temp folder', async () => {
    const child = spawn(process.execPath, [CLI_MAIN, 'compress', model, join(dir, 'interrupted'), '--threads', '1', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const done = exited(child);
    await waitForFirstShard(dir, 'interrupted', child);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    assert.ok(!existsSync(join(dir, 'interrupted')));
    assert.deepEqual((await readdir(dir)).filter((d) => d.startsWith('interrupted')), []);
  });

  test('a unit that cannot be encoded fails the run, naming it, and leaves nothing', async () => {
    const bad = join(dir, 'bad-model');
    await writeSyntheticLlama(bad, { layers: 3, hidden: 64, intermediate: 96, vocab: 128, seed: 5 });
    const file = join(bad, 'model.safetensors');
    const r = await SafetensorsReader.open(file);
    const tensors = [];
    for (const t of r.header.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await r.read(t.name) });
    await r.close();
    const target = tensors.find((t) => t.name === 'model.layers.2.mlp.up_proj.weight')!;
    new Uint16Array(target.data.buffer, target.data.byteOffset, target.data.length / 2)[10] = BF16_INFINITY;
    await writeSafetensors(file, tensors);

    const out = join(dir, 'bad-out');
    const c = await runDf11(['compress', bad, out, '--threads', '2']);
    assert.equal(c.code, 1, c.stderr);
    assert.match(c.stderr, /^error: exponent-unencodable: .*model\.layers\.2/m);
    assert.ok(!existsSync(out));
    assert.deepEqual((await readdir(dir)).filter((d) => d.startsWith('bad-out')), []);
  });

  test('an existing output is kept unless --overwrite, which replaces it only when complete', async () => {
    const small = join(dir, 'small');
    await writeSyntheticLlama(small, { layers: 2, hidden: 64, intermediate: 96, vocab: 128, seed: 9 });
    const out = join(dir, 'existing');
    assert.equal((await runDf11(['compress', small, out, '-q'])).code, 0);
    const again = await runDf11(['compress', small, out, '-q']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /output-exists/);
    const over = await runDf11(['compress', small, out, '-q', '--overwrite', '--layout', 'single']);
    assert.equal(over.code, 0, over.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['config.json', 'model.safetensors']);
    const self = await runDf11(['compress', small, small, '--overwrite']);
    assert.equal(self.code, 2);
    assert.match(self.stderr, /would replace the input/);
  });
});
