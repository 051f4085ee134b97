// The worker-thread decoder against the conformance suite, on a pool of 3 threads reused by every test
// (more threads than most units have chunks, so idle workers and batch hand-out are exercised too).
import { after } from 'node:test';
import { DecodePool } from '../../src/codec/decode-parallel.js';
import { runDecoderConformance } from './suite.js';

const pool = new DecodePool({ threads: 3 });
after(() => pool.close());

runDecoderConformance('cpu-parallel', (unit) => pool.decode(unit), {
  decodeInto: (unit, out) => pool.decodeInto(unit, out),
});
