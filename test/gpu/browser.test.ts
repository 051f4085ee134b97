// The same decoder modules in a browser: headless Chromium (Debian's, with SwiftShader inside) loads
// the compiled ES modules from a local HTTP server, decodes a real unit through navigator.gpu, and the
// test compares the bytes with the CPU oracle. No bundler: src/gpu imports only relative modules, and
// the device layer loads the Node `webgpu` package only when navigator.gpu is absent.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { openBrowserPage, WEBGPU_FLAGS } from '../helpers/browser-page.js';
import { encode, normalWeights } from './gpu-fixture.js';

const TEST_TIMEOUT_MS = 120_000;
const FIELDS = ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps'] as const;

const PAGE = `<!doctype html><meta charset="utf-8"><title>df11 WebGPU decode</title>
<script type="module">
import { acquireGpu, describeAdapter } from '/src/gpu/device.js';
import { GpuDecoder } from '/src/gpu/decoder.js';
const FIELDS = ${JSON.stringify(FIELDS)};
window.runDecode = async () => {
  const unit = { splitPositions: new BigInt64Array(0) };
  for (const f of FIELDS) unit[f] = new Uint8Array(await (await fetch('/unit/' + f)).arrayBuffer());
  const ctx = await acquireGpu();
  try {
    const decoder = await GpuDecoder.create(ctx.device);
    const values = await decoder.decode(decoder.upload(unit, { tensor: 'browser-unit' }));
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    decoder.destroy();
    return { adapter: describeAdapter(ctx.adapter), runtime: ctx.adapter.runtime, swiftShader: ctx.adapter.isSwiftShader, base64: btoa(text) };
  } finally {
    ctx.destroy();
  }
};
window.ready = true;
</script>`;

it('decodes a unit bit-exactly in headless Chromium through navigator.gpu', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const unit = encode(normalWeights(40_001, 31));
  const routes: Record<string, Uint8Array> = {};
  for (const f of FIELDS) routes[`/unit/${f}`] = unit[f];
  const session = await openBrowserPage(PAGE, routes, WEBGPU_FLAGS);
  let result: { adapter: string; runtime: string; swiftShader: boolean; base64: string };
  try {
    result = await session.run('window.runDecode()');
  } finally {
    await session.close();
  }
  t.diagnostic(`browser adapter: ${result.adapter}`);
  assert.equal(result.runtime, 'browser');
  const got = new Uint16Array(Uint8Array.from(Buffer.from(result.base64, 'base64')).buffer);
  const want = decodeUnit(unit);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`element ${i}: browser 0x${got[i]!.toString(16)}, oracle 0x${want[i]!.toString(16)}`);
  }
});
