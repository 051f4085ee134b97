// Worker for bench/gpu-units.ts: fills one slice of a shared BF16 array with synthetic weights.
import { parentPort } from 'node:worker_threads';
import { syntheticBf16Weights } from '../src/synthetic/weights.js';
import type { SliceJob } from './gpu-units.js';

parentPort?.on('message', (job: SliceJob) => {
  syntheticBf16Weights(job.count, { seed: job.seed, out: new Uint16Array(job.shared, 2 * job.start, job.count) });
  parentPort?.postMessage('done');
});
