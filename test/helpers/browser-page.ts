// Runs a page in headless Chromium (Debian's /usr/bin/chromium, SwiftShader inside) against the
// compiled ES modules: a local HTTP server on 127.0.0.1 serves the page, test data routes and every
// file under the build root (no bundler: the library's browser code imports only relative modules).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';

const CHROMIUM = '/usr/bin/chromium';
/** Flags that give headless Chromium a WebGPU adapter on SwiftShader (Vulkan on the CPU). */
export const WEBGPU_FLAGS = [
  '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];
const BASE_FLAGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** The compiled output root (dist-*), which holds src/ and test/ as built. */
const BUILD_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIME: Record<string, string> = { '.js': 'text/javascript', '.map': 'application/json', '.html': 'text/html' };

export interface BrowserPageSession {
  /** Loads the page, waits for `window.ready`, evaluates `expression` and returns its value. */
  run<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts Chromium (with `extraFlags`) and a server giving `page` at `/` and `routes[path]` as bytes.
 * Page errors and console lines are added to the error of a failed evaluation.
 */
export async function openBrowserPage(page: string, routes: Record<string, Uint8Array>, extraFlags: readonly string[] = []): Promise<BrowserPageSession> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    const data = routes[path];
    if (data) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const file = normalize(join(BUILD_ROOT, path));
    if (!file.startsWith(BUILD_ROOT.endsWith(sep) ? BUILD_ROOT : BUILD_ROOT + sep)) return void res.writeHead(403).end();
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return void res.writeHead(404).end();
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  const url = await new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
    });
  });
  const profile = mkdtempSync(join(tmpdir(), 'df11-chromium-'));
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: [...BASE_FLAGS, ...extraFlags, `--user-data-dir=${profile}`], headless: true });
  } catch (e) {
    await close();
    throw e;
  }
  return {
    close,
    async run<T>(expression: string): Promise<T> {
      const tab = await browser!.newPage();
      const logs: string[] = [];
      tab.on('console', (m) => logs.push(m.text()));
      tab.on('pageerror', (e) => logs.push(String(e)));
      await tab.goto(url);
      await tab.waitForFunction('window.ready === true');
      return (await tab.evaluate(expression).catch((e: unknown) => {
        throw new Error(`in the page: ${String(e)}\n${logs.join('\n')}`);
      })) as T;
    },
  };
}
