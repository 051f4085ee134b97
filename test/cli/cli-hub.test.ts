// df11 compress with a hub repo id: HF_ENDPOINT and HF_HOME reach the downloader, the snapshot is
// compressed, and HF_HUB_OFFLINE=1 then works from the cache alone.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFakeHub } from '../helpers/fake-hub.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { assertSameModelTensors, runDf11, tempDir } from './cli-harness.js';

test('compress org/name downloads into HF_HOME from HF_ENDPOINT, then works offline', async () => {
  const demo = sharedDemoModelDir();
  const repo = {
    'config.json': new Uint8Array(await readFile(join(demo, 'config.json'))),
    'model.safetensors': new Uint8Array(await readFile(join(demo, 'model.safetensors'))),
  };
  const hub = await startFakeHub({ 'tiny/stories': repo });
  const { dir, cleanup } = await tempDir();
  try {
    const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: join(dir, 'hf'), HF_HUB_OFFLINE: '0', HF_HUB_CACHE: '' };
    const online = await runDf11(['compress', 'tiny/stories', join(dir, 'a'), '-q'], { env });
    assert.equal(online.code, 0, online.stderr);
    assert.ok(hub.requests.some((r) => r.includes('/tiny/stories/resolve/')), hub.requests.join('\n'));
    const requestsBefore = hub.requests.length;
    await hub.close();
    const offline = await runDf11(['compress', 'tiny/stories', join(dir, 'b'), '-q'], { env: { ...env, HF_HUB_OFFLINE: '1' } });
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(hub.requests.length, requestsBefore);
    const restored = join(dir, 'restored');
    assert.equal((await runDf11(['decompress', join(dir, 'b'), restored, '-q'])).code, 0);
    await assertSameModelTensors(restored, demo);
    const missing = await runDf11(['compress', 'tiny/absent', join(dir, 'c'), '-q'], { env: { ...env, HF_HUB_OFFLINE: '1' } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: hub: /);
  } finally {
    await hub.close();
    await cleanup();
  }
});
