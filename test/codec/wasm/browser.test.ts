// The WebAssembly codec in a browser: headless Chromium loads the compiled ES modules from a local
// HTTP server (no bundler: src/codec imports only relative modules), initialises the module
// asynchronously (Chromium refuses synchronous compilation of modules over 4 KB on its main thread),
// encodes and decodes a unit, and the test compares every byte with Node's.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { encodeUnit } from '../../../src/codec/encode.js';
import { openBrowserPage } from '../../helpers/browser-page.js';
import { normalBf16 } from '../../helpers/prng.js';

const TEST_TIMEOUT_MS = 120_000;
const FIELDS = ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps'] as const;

const PAGE = `<!doctype html><meta charset="utf-8"><title>df11 WebAssembly codec</title>
<script type="module">
import { codecWasm, initCodecWasm } from '/src/codec/wasm/codec-wasm.js';
import { decodeUnitWasm } from '/src/codec/wasm/decode-wasm.js';
import { encodeUnit } from '/src/codec/encode.js';
const FIELDS = ${JSON.stringify(FIELDS)};
const base64 = (a) => {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
window.run = async () => {
  const syncBeforeInit = codecWasm() !== undefined;
  const wasm = await initCodecWasm();
  const weights = new Uint16Array(await (await fetch('/weights')).arrayBuffer());
  const unit = encodeUnit(weights, undefined, { kernel: 'wasm' });
  const encoded = {};
  for (const f of FIELDS) encoded[f] = base64(unit[f]);
  return { syncBeforeInit, loaded: wasm !== undefined, encoded, decoded: base64(decodeUnitWasm(unit)) };
};
window.ready = true;
</script>`;

it('encodes and decodes in headless Chromium byte for byte as in Node', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const weights = normalBf16(60_001, 17);
  const session = await openBrowserPage(PAGE, { '/weights': new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) });
  let result: { syncBeforeInit: boolean; loaded: boolean; encoded: Record<string, string>; decoded: string };
  try {
    result = await session.run('window.run()');
  } finally {
    await session.close();
  }
  assert.ok(result.loaded, 'initCodecWasm loaded the module in the browser');
  t.diagnostic(`synchronous compilation before initCodecWasm: ${result.syncBeforeInit ? 'allowed' : 'refused'}`);
  const unit = encodeUnit(weights, undefined, { kernel: 'wasm' });
  for (const f of FIELDS) assert.ok(Buffer.from(result.encoded[f]!, 'base64').equals(Buffer.from(unit[f].buffer, unit[f].byteOffset, unit[f].byteLength)), `${f} differs from Node's`);
  const decoded = Buffer.from(result.decoded, 'base64');
  assert.ok(decoded.equals(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)), 'the browser decode differs from the input');
});
