// Size of DF11 next to general-purpose compressors on the same BF16 bytes: gzip -1, zstd -3 (the
// `zstd` command, when installed) and brotli (quality 4; its default 11 takes hours on a gigabyte).
// Inputs: a synthetic Llama-3.1-8B-like set of units (normal(0, 0.02) weights, default 2.5 layers'
// worth = 545 M weights, 1.09 GB of BF16) and, when fetched (scripts/fetch-test-weights.mjs), real
// trained float weights of tfjs models rounded to BF16.
// Build and run: npm run build && node dist/bench/compress-ratio.js [millions-of-weights]
// Napkin math: DF11 keeps 8 raw bits per weight plus ~2.6 bits of exponent entropy and ~0.2 bits of
// index, so ~10.8-10.9 bits/weight (67-68 %). A byte-oriented LZ coder sees the exponent only in
// the high byte mixed with the sign, so it should do clearly worse.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import { encodeUnit } from '../src/codec/encode.js';
import { syntheticBf16Weights } from '../src/synthetic/weights.js';
import { readTfjsWeightsAsBf16 } from '../test/helpers/tfjs-weights.js';
import { repoRoot } from '../test/helpers/paths.js';

const MB = 1e6;
/** Llama-3.1-8B layer unit: q 4096², k/v 1024×4096, o 4096², gate/up/down 14336×4096 = 218 M weights. */
const LAYER_WEIGHTS = 4096 * 4096 * 2 + 1024 * 4096 * 2 + 14336 * 4096 * 3;
const DEFAULT_MILLIONS = 545;
const FEED_BYTES = 16 << 20;
const BROTLI_QUALITY = 4;

interface Row { name: string; bytes: number; seconds: number }

function bytesOf(units: Uint16Array[]): number {
  return units.reduce((s, u) => s + u.byteLength, 0);
}

function df11(units: Uint16Array[]): Row {
  const t0 = performance.now();
  let bytes = 0;
  for (const u of units) {
    const e = encodeUnit(u);
    bytes += e.luts.length + e.encodedExponent.length + e.signMantissa.length + e.outputPositions.length + e.gaps.length + e.splitPositions.byteLength;
  }
  return { name: 'DF11', bytes, seconds: (performance.now() - t0) / 1000 };
}

/** Streams the units through a compressor (a zlib transform or a child process) and counts its output. */
async function streamed(name: string, units: Uint16Array[], make: () => { input: NodeJS.WritableStream; output: NodeJS.ReadableStream; done?: Promise<void> }): Promise<Row> {
  const t0 = performance.now();
  const { input, output, done } = make();
  let bytes = 0;
  const counted = new Promise<void>((resolve, reject) => {
    output.on('data', (c: Buffer) => (bytes += c.length));
    output.on('end', resolve);
    output.on('error', reject);
  });
  for (const u of units) {
    const all = new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
    for (let off = 0; off < all.length; off += FEED_BYTES) {
      if (!input.write(all.subarray(off, off + FEED_BYTES))) await new Promise((r) => input.once('drain', r));
    }
  }
  input.end();
  await Promise.all([counted, done]);
  return { name, bytes, seconds: (performance.now() - t0) / 1000 };
}

function zlibStream(t: Transform) {
  return () => ({ input: t, output: t });
}

function zstdStream() {
  const child = spawn('zstd', ['-3', '-c', '-q', '-T1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`)))));
  return { input: child.stdin, output: child.stdout, done };
}

function hasZstd(): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('zstd', ['--version'], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('close', (code) => resolve(code === 0));
  });
}

async function table(title: string, units: Uint16Array[]): Promise<void> {
  const raw = bytesOf(units);
  const weights = raw / 2;
  const rows: Row[] = [df11(units)];
  rows.push(await streamed('gzip -1', units, zlibStream(createGzip({ level: 1 }))));
  if (await hasZstd()) rows.push(await streamed('zstd -3', units, zstdStream));
  rows.push(await streamed(`brotli -q ${BROTLI_QUALITY}`, units, zlibStream(createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: raw } }))));
  console.log(`\n${title}: ${(weights / 1e6).toFixed(1)} M weights, ${(raw / MB).toFixed(1)} MB of BF16`);
  console.log('| coder | size, % of BF16 | bits/weight | MB/s of BF16 input (1 thread) |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${((r.bytes / raw) * 100).toFixed(2)} % | ${((r.bytes * 8) / weights).toFixed(3)} | ${(raw / MB / r.seconds).toFixed(0)} |`);
  }
}

async function main(): Promise<void> {
  const millions = Number(process.argv[2] ?? DEFAULT_MILLIONS);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} threads, node ${process.version}`);
  const total = Math.round(millions * 1e6);
  const units: Uint16Array[] = [];
  for (let done = 0, seed = 1; done < total; seed++) {
    const n = Math.min(LAYER_WEIGHTS, total - done);
    units.push(syntheticBf16Weights(n, { seed }));
    done += n;
  }
  await table('synthetic Llama-3.1-8B layer units, normal(0, 0.02)', units);

  const dir = join(repoRoot(), '.cache', 'test-weights');
  const real = ['faceres-deep', 'handlandmark-full', 'posenet'].filter((m) => existsSync(join(dir, `${m}.json`)));
  if (real.length > 0) {
    const tensors = real.flatMap((m) => readTfjsWeightsAsBf16(join(dir, `${m}.json`)));
    // One unit per model, as a per-model DF11 code (the tensors are small).
    const perModel = real.map((m) => readTfjsWeightsAsBf16(join(dir, `${m}.json`)))
      .map((ts) => {
        const n = ts.reduce((s, t) => s + t.bf16.length, 0);
        const out = new Uint16Array(n);
        let off = 0;
        for (const t of ts) { out.set(t.bf16, off); off += t.bf16.length; }
        return out;
      });
    await table(`real trained weights (tfjs ${real.join(', ')}; ${tensors.length} float tensors rounded to BF16)`, perModel);
  }
}

await main();
