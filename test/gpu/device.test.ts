// The device layer seen from outside: without a Vulkan driver, acquireGpu rejects with Df11Error
// 'no-adapter'; a Node process that acquired a device, decoded a unit and destroyed the device exits
// on its own (Dawn's polling keeps nothing alive) and quickly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

const DEVICE_URL = new URL('../../src/gpu/device.js', import.meta.url).href;
const DECODER_URL = new URL('../../src/gpu/decoder.js', import.meta.url).href;
const ENCODE_URL = new URL('../../src/codec/encode.js', import.meta.url).href;
const CHILD_TIMEOUT_MS = 60_000;

function runChild(code: string, env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

it('rejects with no-adapter when no Vulkan driver is found', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
  const r = runChild(
    `import { acquireGpu } from ${JSON.stringify(DEVICE_URL)};
     try { await acquireGpu(); console.log('ADAPTER'); } catch (e) { console.log('CODE=' + e.code); }`,
    env,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CODE=no-adapter/);
});

it('lets a process that decoded on the GPU exit on its own', () => {
  const r = runChild(
    `import { acquireGpu } from ${JSON.stringify(DEVICE_URL)};
     import { GpuDecoder } from ${JSON.stringify(DECODER_URL)};
     import { encodeUnit } from ${JSON.stringify(ENCODE_URL)};
     const ctx = await acquireGpu();
     const decoder = await GpuDecoder.create(ctx.device, { workgroupStorageBytes: 16384 });
     const w = new Uint16Array(5000).map((_, i) => 0x3c00 + (i % 97));
     const got = await decoder.decode(decoder.upload(encodeUnit(w)));
     console.log(got.every((v, i) => v === w[i]) ? 'EXACT' : 'WRONG');
     decoder.destroy();
     ctx.destroy();`,
    process.env,
  );
  assert.equal(r.status, 0, `exit status ${r.status} (null: killed after ${CHILD_TIMEOUT_MS} ms)\n${r.stderr}`);
  assert.match(r.stdout, /EXACT/);
});
