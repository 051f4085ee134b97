// The same decoder modules in a browser: headless Chromium (Debian's, with SwiftShader inside) loads
// the compiled ES modules from a local HTTP server, decodes a real unit through navigator.gpu, and the
// test compares the bytes with the CPU oracle. No bundler: src/gpu imports only relative modules, and
// the device layer loads the Node `webgpu` package only when navigator.gpu is absent.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { encode, normalWeights } from './gpu-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
/** Flags that give headless Chromium a WebGPU adapter on SwiftShader (Vulkan on the CPU). */
const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TEST_TIMEOUT_MS = 120_000;
/** The compiled output root (dist-*), which holds src/ and test/ as built. */
const BUILD_ROOT = fileURLToPath(new URL('../../', import.meta.url));
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

const MIME: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json', '.html': 'text/html' };

/** Serves the page, the unit's tensors and the compiled modules (only files under BUILD_ROOT). */
function serve(unit: Df11Unit): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const field = FIELDS.find((f) => path === `/unit/${f}`);
    if (field) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(unit[field]));
      return;
    }
    const file = normalize(join(BUILD_ROOT, path));
    if (!file.startsWith(BUILD_ROOT.endsWith(sep) ? BUILD_ROOT : BUILD_ROOT + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
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
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`], headless: true });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

it('decodes a unit bit-exactly in headless Chromium through navigator.gpu', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const unit = encode(normalWeights(40_001, 31));
  const served = await serve(unit);
  server = served.server;
  const page = await browser!.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(String(e)));
  await page.goto(served.url);
  await page.waitForFunction('window.ready === true');
  const result = (await page.evaluate('window.runDecode()').catch((e: unknown) => {
    throw new Error(`in the page: ${String(e)}\n${logs.join('\n')}`);
  })) as { adapter: string; runtime: string; swiftShader: boolean; base64: string };
  t.diagnostic(`browser adapter: ${result.adapter}`);
  assert.equal(result.runtime, 'browser');
  const got = new Uint16Array(Uint8Array.from(Buffer.from(result.base64, 'base64')).buffer);
  const want = decodeUnit(unit);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`element ${i}: browser 0x${got[i]!.toString(16)}, oracle 0x${want[i]!.toString(16)}`);
  }
});
