// resolveModelSource against a local stand-in of the hub (test/helpers/fake-hub.ts) serving the demo
// model: downloads land byte-identical in the hub cache layout, offline mode works from the cache,
// and missing repos, files and endpoints give Df11Error 'hub'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { isModelFile, parseHubRepoId, resolveModelSource } from '../../src/cli/model-source.js';
import { startFakeHub, type FakeHub } from '../helpers/fake-hub.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const REPO = 'df11-test/stories260K';
const TEST_TIMEOUT_MS = 30_000;

function demoFiles(): Record<string, Uint8Array> {
  const dir = sharedDemoModelDir();
  return {
    'config.json': readFileSync(join(dir, 'config.json')),
    'model.safetensors': readFileSync(join(dir, 'model.safetensors')),
    // Files a model download must skip.
    'pytorch_model.bin': new Uint8Array(2048).fill(7),
    'model.gguf': new Uint8Array(16).fill(1),
    'original/params.json': new TextEncoder().encode('{"dim": 64}'),
    'README.md': new TextEncoder().encode('# demo\n'),
  };
}

async function withHub<T>(fn: (hub: FakeHub, cacheDir: string) => Promise<T>): Promise<T> {
  const hub = await startFakeHub({ [REPO]: demoFiles() });
  const cacheDir = mkdtempSync(join(tmpdir(), 'df11-hub-'));
  try {
    return await fn(hub, cacheDir);
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function assertHubError(e: unknown, pattern: RegExp): true {
  assert.ok(e instanceof Df11Error, `expected Df11Error, got ${String(e)}`);
  assert.equal(e.code, 'hub');
  assert.match(e.message, pattern);
  return true;
}

test('a local path is returned as it is, without touching the hub', async () => {
  const dir = sharedDemoModelDir();
  assert.deepEqual(await resolveModelSource(dir, { endpoint: 'http://127.0.0.1:9', offline: false }), { path: dir, fromHub: false });
  const file = join(dir, 'model.safetensors');
  assert.deepEqual(await resolveModelSource(file), { path: file, fromHub: false });
  await assert.rejects(resolveModelSource('./no/such/dir/here'), (e) => e instanceof Df11Error && e.code === 'io');
});

test('repo ids and the file filter', () => {
  assert.deepEqual(parseHubRepoId('org/name'), { repo: 'org/name' });
  assert.deepEqual(parseHubRepoId('org/name@v1.0'), { repo: 'org/name', revision: 'v1.0' });
  assert.equal(parseHubRepoId('a/b/c'), undefined);
  assert.equal(parseHubRepoId('../x'), undefined);
  assert.throws(() => parseHubRepoId('org/name@../../etc'), (e) => e instanceof Df11Error && e.code === 'usage');
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'model.safetensors', 'model-00001-of-00002.safetensors', 'model.safetensors.index.json']) {
    assert.ok(isModelFile(f), f);
  }
  for (const f of ['pytorch_model.bin', 'model.pt', 'x.pth', 'a.pkl', 'model.gguf', 'original/params.json', 'sub/model.safetensors', 'README.md']) {
    assert.ok(!isModelFile(f), f);
  }
});

test('downloads the model files byte-identically into the hub cache, then works offline', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withHub(async (hub, cacheDir) => {
    const progress: [number, number, string][] = [];
    const got = await resolveModelSource(REPO, { endpoint: hub.endpoint, cacheDir, onProgress: (d, t, f) => progress.push([d, t, f]) });
    const commit = hub.commitOf(REPO);
    const repoDir = join(cacheDir, 'models--df11-test--stories260K');
    assert.deepEqual(got, { path: join(repoDir, 'snapshots', commit), fromHub: true });
    assert.deepEqual(readdirSync(got.path).sort(), ['config.json', 'model.safetensors']);
    for (const name of ['config.json', 'model.safetensors']) {
      assert.ok(readFileSync(join(got.path, name)).equals(readFileSync(join(sharedDemoModelDir(), name))), name);
      assert.ok(lstatSync(join(got.path, name)).isSymbolicLink(), `${name} links to a blob`);
      assert.match(readlinkSync(join(got.path, name)), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    }
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), commit);
    assert.equal(readdirSync(join(repoDir, 'blobs')).filter((n) => n.includes('.incomplete')).length, 0);

    const total = readFileSync(join(sharedDemoModelDir(), 'model.safetensors')).byteLength + readFileSync(join(sharedDemoModelDir(), 'config.json')).byteLength;
    assert.deepEqual(progress.at(-1)?.slice(0, 2), [total, total]);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0], 'progress never goes back');

    // Only the endpoints the hub has were called, and no skipped file was fetched.
    assert.deepEqual(hub.unknown, []);
    assert.ok(hub.requests.some((r) => r.startsWith(`GET /api/models/${REPO}/revision/main`)));
    assert.ok(hub.requests.some((r) => r.startsWith(`GET /api/models/${REPO}/tree/${commit}`) && r.includes('cursor=')), 'tree pagination followed');
    assert.ok(hub.requests.some((r) => r.startsWith('GET /cdn/')), 'LFS redirect followed');
    assert.ok(!hub.requests.some((r) => /\.bin|\.gguf|params\.json|README/.test(r)), hub.requests.join('\n'));

    // Online again: nothing is downloaded twice.
    const before = hub.requests.length;
    assert.deepEqual(await resolveModelSource(REPO, { endpoint: hub.endpoint, cacheDir }), got);
    assert.ok(!hub.requests.slice(before).some((r) => r.includes('/resolve/') || r.startsWith('GET /cdn/')));

    // Offline: served from the cache even with the endpoint gone.
    await hub.close();
    const offline = await resolveModelSource(REPO, { endpoint: hub.endpoint, cacheDir, offline: true });
    assert.deepEqual(offline, got);
    assert.deepEqual(await resolveModelSource(`${REPO}@${commit}`, { cacheDir, offline: true }), got);
    await assert.rejects(resolveModelSource(`${REPO}@v2`, { cacheDir, offline: true }), (e) => assertHubError(e, /not in the cache.*offline/));
    await assert.rejects(resolveModelSource('other/model', { cacheDir, offline: true }), (e) => assertHubError(e, /other\/model/));
    // A broken cache entry is reported, not used.
    rmSync(join(got.path, 'model.safetensors'));
    await assert.rejects(resolveModelSource(REPO, { cacheDir, offline: true }), (e) => assertHubError(e, /no \*\.safetensors/));
  });
});

test('a pinned revision downloads that commit and records no ref', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withHub(async (hub, cacheDir) => {
    const commit = hub.commitOf(REPO);
    const got = await resolveModelSource(`${REPO}@${commit}`, { endpoint: hub.endpoint, cacheDir });
    assert.equal(got.path, join(cacheDir, 'models--df11-test--stories260K', 'snapshots', commit));
    assert.ok(!existsSync(join(cacheDir, 'models--df11-test--stories260K', 'refs')));
    await assert.rejects(resolveModelSource(`${REPO}@no-such-branch`, { endpoint: hub.endpoint, cacheDir }), (e) =>
      assertHubError(e, /df11-test\/stories260K@no-such-branch.*HTTP 404/),
    );
  });
});

test('unknown repo, repo without weights and unreachable endpoint give Df11Error hub', { timeout: TEST_TIMEOUT_MS }, async () => {
  const hub = await startFakeHub({ 'df11-test/no-weights': { 'config.json': new TextEncoder().encode('{}'), 'pytorch_model.bin': new Uint8Array(4096) } });
  const cacheDir = mkdtempSync(join(tmpdir(), 'df11-hub-'));
  try {
    await assert.rejects(resolveModelSource('df11-test/unknown', { endpoint: hub.endpoint, cacheDir }), (e) =>
      assertHubError(e, /df11-test\/unknown.*HTTP 404/),
    );
    await assert.rejects(resolveModelSource('df11-test/no-weights', { endpoint: hub.endpoint, cacheDir }), (e) =>
      assertHubError(e, /df11-test\/no-weights.*no \*\.safetensors/),
    );
    await hub.close();
    await assert.rejects(resolveModelSource(REPO, { endpoint: hub.endpoint, cacheDir }), (e) => assertHubError(e, /cannot download from http:\/\/127\.0\.0\.1:\d+: [A-Z_]+/));
    assert.deepEqual(hub.unknown, []);
  } finally {
    await hub.close().catch(() => undefined);
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a download whose bytes do not match the listed hash never enters the cache', { timeout: TEST_TIMEOUT_MS }, async () => {
  const hub = await startFakeHub({ [REPO]: demoFiles() }, { tamper: ['model.safetensors'] });
  const cacheDir = mkdtempSync(join(tmpdir(), 'df11-hub-'));
  try {
    await assert.rejects(resolveModelSource(REPO, { endpoint: hub.endpoint, cacheDir }), (e) =>
      assertHubError(e, /stories260K@main, file model\.safetensors: download corrupt/),
    );
    const blobs = readdirSync(join(cacheDir, 'models--df11-test--stories260K', 'blobs'));
    assert.equal(blobs.length, 1, `only config.json's blob is cached: ${blobs.join(', ')}`);
    await assert.rejects(resolveModelSource(REPO, { cacheDir, offline: true }), (e) => assertHubError(e, /not in the cache/));
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a refused connection gives Df11Error hub naming the endpoint', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'df11-hub-'));
  try {
    // A port that was just free: nothing listens there, so the connection is refused at once.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(resolveModelSource(REPO, { endpoint: `http://127.0.0.1:${port}`, cacheDir }), (e) =>
      assertHubError(e, /df11-test\/stories260K@main: cannot download from http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/),
    );
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
