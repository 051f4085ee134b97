// The worker-thread decode pool: reuse across units, error codes carried over from the workers, shared
// outputs written in place, close(), and a process that forgets close() still exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { DecodePool, decodeUnitParallel } from '../../src/codec/decode-parallel.js';
import { encodeUnit } from '../../src/codec/encode.js';
import { Df11Error } from '../../src/errors.js';
import { normalBf16 } from '../helpers/prng.js';

const a = normalBf16(120_000, 51);
const b = normalBf16(30_001, 52);
const unitA = encodeUnit(a);
const unitB = encodeUnit(b);
const pool = new DecodePool({ threads: 2 });
after(() => pool.close());

test('one pool decodes several units, also concurrently queued', async () => {
  const [x, y, z] = await Promise.all([pool.decode(unitA), pool.decode(unitB), pool.decode(unitA)]);
  assert.deepEqual(x, a);
  assert.deepEqual(y, b);
  assert.deepEqual(z, a);
  assert.ok(x!.buffer instanceof SharedArrayBuffer);
});

test('a worker error is rethrown as a Df11Error with the same code and the unit name', async () => {
  const gaps = unitA.gaps.slice();
  gaps[700]! ^= 0x20; // a window in chunk 1 or 2: gap-mismatch (or a count mismatch)
  await assert.rejects(pool.decode({ ...unitA, gaps }, { tensor: 'model.layers.9' }), (e: unknown) => {
    assert.ok(e instanceof Df11Error);
    assert.ok(e.code === 'gap-mismatch' || e.code === 'chunk-count-mismatch', e.code);
    assert.equal(e.tensor, 'model.layers.9');
    assert.match(e.message, /model\.layers\.9/);
    return true;
  });
  const luts = unitA.luts.slice();
  luts[luts.length - 256 + ((a[0]! >>> 7) & 0xff)] = 0;
  await assert.rejects(pool.decode({ ...unitA, luts }), (e: unknown) => e instanceof Df11Error && e.code === 'corrupt-zero-length');
  // The pool still works afterwards.
  assert.deepEqual(await pool.decode(unitB), b);
});

test('decodeInto writes a shared output in place and a plain one through a copy, nothing past N', async () => {
  const shared = new Uint16Array(new SharedArrayBuffer(2 * (b.length + 3))).fill(9);
  await pool.decodeInto(unitB, shared);
  assert.deepEqual(shared.subarray(0, b.length), b);
  assert.deepEqual([...shared.subarray(b.length)], [9, 9, 9]);
  const plain = new Uint16Array(b.length);
  await pool.decodeInto(unitB, plain);
  assert.deepEqual(plain, b);
});

test('decodeUnitParallel; default threads = availableParallelism; a closed pool rejects', async () => {
  assert.deepEqual(await decodeUnitParallel(unitB, { threads: 3 }), b);
  const p = new DecodePool();
  assert.equal(p.threads, availableParallelism());
  await p.close();
  await assert.rejects(p.decode(unitB), /closed/);
  assert.throws(() => new DecodePool({ threads: 0 }), RangeError);
});

test('a process that never closes its pool exits promptly', () => {
  const poolModule = new URL('../../src/codec/decode-parallel.js', import.meta.url).href;
  const encodeModule = new URL('../../src/codec/encode.js', import.meta.url).href;
  const script = `
    const { DecodePool } = await import(${JSON.stringify(poolModule)});
    const { encodeUnit } = await import(${JSON.stringify(encodeModule)});
    const pool = new DecodePool({ threads: 2 });
    const out = await pool.decode(encodeUnit(new Uint16Array(5000).fill(0x3c00)));
    console.log(out.length);`;
  const t = Date.now();
  const file = join(mkdtempSync(join(tmpdir(), 'df11-pool-')), 'forgets-close.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
  rmSync(dirname(file), { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '5000');
  assert.ok(Date.now() - t < 15_000, 'the child process lingered');
});
