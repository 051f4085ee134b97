// The CLI's model pipelines end to end: compress (read units, encode on worker threads, write shards)
// for several thread counts, then verify and decompress, on a synthetic Llama-shaped BF16 model.
// Prints throughput in MB/s of BF16 weights, peak RSS against the documented bound
// (threads x (UNIT_MEMORY_FACTOR x largest unit + THREAD_OVERHEAD_BYTES) + the baseline), and the machine.
// In-process RSS is muddied by the generated model's garbage; for clean peaks run the CLI under
// /usr/bin/time -f %M.
// Build and run: node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-bench &&
//   node dist-bench/bench/compress-pipeline.js [layers=16] [hidden=1024] [threads list, e.g. 1,2,4,8]
// Napkin math: the single-thread encoder runs at a few hundred MB/s of BF16, so with T threads the
// pipeline should approach min(T x encoder rate, disk write rate); each unit's shard is fsynced.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compressModel, THREAD_OVERHEAD_BYTES, UNIT_MEMORY_FACTOR } from '../src/cli/compress-model.js';
import { decompressModel } from '../src/cli/decompress-model.js';
import { openInputModel } from '../src/cli/model-input.js';
import { verifyModel } from '../src/cli/verify-model.js';
import { publishedPatternDict } from '../src/format/pattern-dicts.js';
import { writeSyntheticLlama } from '../test/cli/cli-harness.js';

const MB = 1e6;
const RSS_SAMPLE_MS = 20;

async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakRss: number; seconds: number }> {
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), RSS_SAMPLE_MS);
  const t0 = performance.now();
  try {
    const result = await fn();
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return { result, peakRss, seconds: (performance.now() - t0) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

const layers = Number(process.argv[2] ?? 16);
const hidden = Number(process.argv[3] ?? 1024);
const maxThreads = availableParallelism();
const threadList = (process.argv[4] ?? [1, 2, 4, 8, 16].filter((t) => t <= maxThreads).join(','))
  .split(',')
  .map(Number);

const root = await mkdtemp(join(tmpdir(), 'df11-bench-'));
try {
  console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${maxThreads} logical CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
  const src = join(root, 'model');
  await writeSyntheticLlama(src, { layers, hidden, intermediate: Math.round(hidden * 2.6875), vocab: 8192, seed: 11 });
  const input = await openInputModel(src);
  const baseline = process.memoryUsage().rss;
  console.log(`model: ${layers} layers, hidden ${hidden}; baseline RSS ${(baseline / MB).toFixed(0)} MB`);
  let lastOut = '';
  for (const threads of threadList) {
    const outDir = join(root, `df11-${threads}`);
    const { result: s, peakRss, seconds } = await withPeakRss(() =>
      compressModel({ input, outDir, layout: 'shards', patternDict: publishedPatternDict('llama'), threads, checksum: true, overwrite: false, castBf16: false }),
    );
    const bound = baseline + threads * (UNIT_MEMORY_FACTOR * s.largestUnitBytes + THREAD_OVERHEAD_BYTES);
    console.log(
      `compress threads=${threads}: ${(s.bf16Bytes / MB).toFixed(0)} MB BF16 in ${seconds.toFixed(2)} s = ${(s.bf16Bytes / MB / seconds).toFixed(0)} MB/s; ` +
        `${((s.df11Bytes * 8) / s.weights).toFixed(3)} bits/weight; largest unit ${(s.largestUnitBytes / MB).toFixed(1)} MB; ` +
        `peak RSS ${(peakRss / MB).toFixed(0)} MB (bound ${(bound / MB).toFixed(0)} MB)`,
    );
    if (lastOut !== '') await rm(lastOut, { recursive: true, force: true });
    lastOut = outDir;
  }
  await input.model.close();
  const threads = maxThreads;
  const v = await withPeakRss(() => verifyModel({ path: lastOut, against: src, threads }));
  console.log(`verify --against threads=${threads}: ${(v.result.weights * 2 / MB).toFixed(0)} MB in ${v.seconds.toFixed(2)} s = ${((v.result.weights * 2) / MB / v.seconds).toFixed(0)} MB/s; failures ${v.result.failures.length}`);
  const d = await withPeakRss(() => decompressModel({ inputDir: lastOut, outDir: join(root, 'restored'), threads, overwrite: false }));
  console.log(`decompress threads=${threads}: ${(d.result.bytes / MB).toFixed(0)} MB in ${d.seconds.toFixed(2)} s = ${(d.result.bytes / MB / d.seconds).toFixed(0)} MB/s; peak RSS ${(d.peakRss / MB).toFixed(0)} MB`);
} finally {
  await rm(root, { recursive: true, force: true });
}
