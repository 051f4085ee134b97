// downloadHubSnapshot never hangs: an endpoint that accepts connections but stays silent is given up
// after the idle limit with Df11Error 'hub'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { downloadHubSnapshot } from '../../src/cli/hub-download.js';

const IDLE_LIMIT_MS = 300;

test('a silent endpoint is abandoned after the idle limit', { timeout: 10_000 }, async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const cacheDir = mkdtempSync(join(tmpdir(), 'df11-hub-'));
  const started = Date.now();
  try {
    await assert.rejects(
      downloadHubSnapshot(
        { repo: 'df11-test/silent', select: () => true, checkComplete: async () => undefined },
        { endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, cacheDir, idleTimeoutMs: IDLE_LIMIT_MS },
      ),
      (e) => e instanceof Df11Error && e.code === 'hub' && /df11-test\/silent@main: no answer from .* for 0\.3 s/.test(e.message),
    );
    assert.ok(Date.now() - started < 5_000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
