// Synthetic DF11 units shaped like Llama-3.1-8B weights, for the GPU decode benchmarks: normal(0, 0.02)
// rounded to BF16 (seeded), generated on worker threads in fixed-size slices (so the bytes do not
// depend on the thread count) and encoded by the project's encoder, units in parallel.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EncodePool } from '../src/codec/encode-parallel.js';
import type { Df11Unit } from '../src/codec/unit.js';
import { DECODE_BENCH_UNITS } from '../src/cli/bench-decode.js';

/** Elements per generation slice; slice i uses seed (seed * 65536 + i). */
const SLICE = 1 << 22;
const WORKER_URL = new URL('./synthetic-worker.js', import.meta.url);

export interface SliceJob {
  shared: SharedArrayBuffer;
  start: number;
  count: number;
  seed: number;
}

/** n synthetic BF16 weights generated on `threads` workers. */
export async function parallelWeights(n: number, seed: number, threads = availableParallelism()): Promise<Uint16Array> {
  const shared = new SharedArrayBuffer(2 * n);
  const jobs: SliceJob[] = [];
  for (let i = 0; i * SLICE < n; i++) jobs.push({ shared, start: i * SLICE, count: Math.min(SLICE, n - i * SLICE), seed: seed * 65536 + i });
  let next = 0;
  const run = async (): Promise<void> => {
    const worker = new Worker(WORKER_URL);
    try {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.postMessage(job);
        });
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(threads, jobs.length)) }, run));
  return new Uint16Array(shared);
}

export interface BenchUnit {
  name: string;
  weights: Uint16Array;
  unit: Df11Unit;
}

/**
 * Generates and encodes the named units (the shapes of `df11 bench decode`, DECODE_BENCH_UNITS, but
 * with every weight drawn, not a tiled block), encoding them in parallel.
 */
export async function llamaUnits(names: string[], seed = 1): Promise<BenchUnit[]> {
  const pool = EncodePool.create(Math.max(1, Math.min(names.length, availableParallelism())));
  try {
    const made = await Promise.all(
      names.map(async (name, i) => {
        // `n<count>`: one tensor of that many weights (to time dispatches of a chosen number of chunks).
        const flat = /^n(\d+)$/.exec(name);
        const spec = flat ? { pieces: [[1, Number(flat[1])] as [number, number]] } : DECODE_BENCH_UNITS[name];
        if (!spec) throw new Error(`unknown unit ${name}; known: ${Object.keys(DECODE_BENCH_UNITS).join(', ')}, n<weights>`);
        const sizes = spec.pieces.map(([r, c]) => r * c);
        const weights = await parallelWeights(sizes.reduce((a, b) => a + b, 0), seed + i);
        const { unit } = await pool.encode(weights, sizes, { checksum: false, name });
        return { name, weights, unit };
      }),
    );
    return made;
  } finally {
    await pool.close();
  }
}
