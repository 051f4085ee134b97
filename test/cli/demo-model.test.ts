// Demo-model provisioning: the shipped copy is used when present; otherwise the llama2.c original is
// downloaded from a local stand-in of the hub (karpathy/tinyllamas layout) and converted, and the
// result equals the shipped model tensor for tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { DEMO_CHECKPOINT_PATH, DEMO_HUB_REPO, DEMO_TOKENIZER_PATH, provisionDemoModel } from '../../src/cli/demo-model.js';
import { startFakeHub } from '../helpers/fake-hub.js';
import { repoRoot, sharedDemoModelDir } from '../helpers/paths.js';
import { assertSameTensors } from '../helpers/same-tensors.js';

const TEST_TIMEOUT_MS = 30_000;
const demo = sharedDemoModelDir();

test('the model shipped beside the checkout is used as it is', async () => {
  assert.deepEqual(await provisionDemoModel({ repoRoot: repoRoot(), endpoint: 'http://127.0.0.1:9' }), { dir: demo, source: 'shared' });
});

test('without the shipped copy the demo is downloaded from the hub, converted and cached', { timeout: TEST_TIMEOUT_MS }, async () => {
  const hub = await startFakeHub({
    [DEMO_HUB_REPO]: {
      [DEMO_CHECKPOINT_PATH]: readFileSync(join(demo, 'stories260K.bin')),
      [DEMO_TOKENIZER_PATH]: readFileSync(join(demo, 'tok512.bin')),
      // Other checkpoints of the repo, never to be fetched.
      'stories15M.bin': new Uint8Array(4096).fill(3),
      'stories260K/stories260K.pt': new Uint8Array(2048).fill(4),
      'README.md': new TextEncoder().encode('# tinyllamas\n'),
    },
  });
  const scratch = mkdtempSync(join(tmpdir(), 'df11-demo-'));
  const options = { repoRoot: scratch, sharedDir: join(scratch, 'no-shared-copy'), cacheDir: join(scratch, 'cache'), endpoint: hub.endpoint };
  try {
    const progress: number[] = [];
    const got = await provisionDemoModel({ ...options, onProgress: (done) => progress.push(done) });
    assert.deepEqual(got, { dir: join(scratch, 'cache', 'stories260K'), source: 'hub' });
    await assertSameTensors(join(got.dir, 'model.safetensors'), join(demo, 'model.safetensors'));
    assert.deepEqual(JSON.parse(readFileSync(join(got.dir, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(demo, 'config.json'), 'utf8')));
    assert.ok(readFileSync(join(got.dir, 'tok512.bin')).equals(readFileSync(join(demo, 'tok512.bin'))));
    assert.deepEqual(readdirSync(join(scratch, 'cache')).sort(), ['hub', 'stories260K']);
    assert.equal(progress.at(-1), readFileSync(join(demo, 'stories260K.bin')).byteLength + readFileSync(join(demo, 'tok512.bin')).byteLength);
    assert.deepEqual(hub.unknown, []);
    assert.ok(!hub.requests.some((r) => /stories15M|\.pt|README/.test(r)), hub.requests.join('\n'));

    // Later runs reuse the conversion without any request, even offline.
    const before = hub.requests.length;
    await hub.close();
    assert.deepEqual(await provisionDemoModel({ ...options, offline: true }), { dir: got.dir, source: 'cache' });
    assert.equal(hub.requests.length, before);

    // With the conversion gone, offline mode converts again from the hub cache.
    rmSync(got.dir, { recursive: true });
    assert.deepEqual(await provisionDemoModel({ ...options, offline: true }), { dir: got.dir, source: 'hub' });
    await assertSameTensors(join(got.dir, 'model.safetensors'), join(demo, 'model.safetensors'));
  } finally {
    await hub.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('a hub without the demo files gives Df11Error hub', { timeout: TEST_TIMEOUT_MS }, async () => {
  const hub = await startFakeHub({ [DEMO_HUB_REPO]: { [DEMO_TOKENIZER_PATH]: readFileSync(join(demo, 'tok512.bin')) } });
  const scratch = mkdtempSync(join(tmpdir(), 'df11-demo-'));
  try {
    await assert.rejects(
      provisionDemoModel({ repoRoot: scratch, sharedDir: join(scratch, 'none'), endpoint: hub.endpoint }),
      (e) => e instanceof Df11Error && e.code === 'hub' && e.message.includes('karpathy/tinyllamas') && e.message.includes(DEMO_CHECKPOINT_PATH),
    );
    await assert.rejects(
      provisionDemoModel({ repoRoot: scratch, sharedDir: join(scratch, 'none'), offline: true }),
      (e) => e instanceof Df11Error && e.code === 'hub' && /offline/.test(e.message),
    );
  } finally {
    await hub.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
