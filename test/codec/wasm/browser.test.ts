// The WebAssembly codec in a browser: headless Chromium loads the compiled ES modules from a local
// HTTP server (no bundler: src/codec imports only relative modules), initialises the module
// asynchronously (Chromium refuses synchronous compilation of modules over 4 KB on its main thread),
// encodes and decodes a unit, and the test compares every byte with Node's.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { encodeUnit } from '../../../src/codec/encode.js';
import { normalBf16 } from '../../helpers/prng.js';

const CHROMIUM = '/usr/bin/chromium';
const TEST_TIMEOUT_MS = 120_000;
/** The compiled output root (dist-*), which holds src/ and test/ as built. */
const BUILD_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
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

const MIME: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json' };

/** Serves the page, the weights and the compiled modules (only files under BUILD_ROOT). */
function serve(weights: Uint16Array): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (path === '/weights') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
      return;
    }
    const file = normalize(join(BUILD_ROOT, path));
    if (!file.startsWith(BUILD_ROOT.endsWith(sep) ? BUILD_ROOT : BUILD_ROOT + sep)) {
      res.writeHead(403).end();
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/` });
    });
  });
}

let browser: Browser | undefined;
let server: Server | undefined;
let profile: string | undefined;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'df11-chromium-'));
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--no-first-run', `--user-data-dir=${profile}`], headless: true });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

it('encodes and decodes in headless Chromium byte for byte as in Node', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const weights = normalBf16(60_001, 17);
  const served = await serve(weights);
  server = served.server;
  const page = await browser!.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(String(e)));
  await page.goto(served.url);
  await page.waitForFunction('window.ready === true');
  const result = (await page.evaluate('window.run()').catch((e: unknown) => {
    throw new Error(`in the page: ${String(e)}\n${logs.join('\n')}`);
  })) as { syncBeforeInit: boolean; loaded: boolean; encoded: Record<string, string>; decoded: string };
  assert.ok(result.loaded, 'initCodecWasm loaded the module in the browser');
  t.diagnostic(`synchronous compilation before initCodecWasm: ${result.syncBeforeInit ? 'allowed' : 'refused'}`);
  const unit = encodeUnit(weights, undefined, { kernel: 'wasm' });
  for (const f of FIELDS) assert.ok(Buffer.from(result.encoded[f]!, 'base64').equals(Buffer.from(unit[f].buffer, unit[f].byteOffset, unit[f].byteLength)), `${f} differs from Node's`);
  const decoded = Buffer.from(result.decoded, 'base64');
  assert.ok(decoded.equals(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)), 'the browser decode differs from the input');
});
