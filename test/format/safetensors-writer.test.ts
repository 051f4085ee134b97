// SafetensorsWriter / writeSafetensors: byte-exact round trips, streaming in odd pieces, atomicity.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { SafetensorsWriter, WRITE_BUFFER_BYTES, writeSafetensors } from '../../src/format/safetensors-writer.js';
import { DTYPE_BYTES, type Dtype } from '../../src/format/dtype.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { makeRng, randInt } from './safetensors-mutate.js';

const DEMO = join(sharedDemoModelDir(), 'model.safetensors');
const tmp = mkdtempSync(join(tmpdir(), 'df11-writer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Files in the temp dir whose name starts with `base` (catches stray temp files). */
const leftovers = (base: string): string[] => readdirSync(tmp).filter((f) => f.startsWith(base));

test('demo model: read -> stream-write in odd pieces -> read is byte-identical', async () => {
  const src = await SafetensorsReader.open(DEMO);
  const out = join(tmp, 'demo-copy.safetensors');
  try {
    const specs = src.header.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
    const w = await SafetensorsWriter.create(out, specs, src.metadata);
    assert.ok(!existsSync(out), 'nothing under the final name before finish()');
    const PIECES = [1, 7, 1000, 3, 4096, 65536];
    let p = 0;
    for (const [k, t] of src.header.tensors.entries()) {
      if (k % 2 === 0) {
        // streamed from the reader
        for await (const chunk of src.stream(t.name, 4096)) await w.write(chunk);
        continue;
      }
      // from memory in pieces of varying size, including empty ones, without awaiting each write
      const data = await src.read(t.name);
      const pending: Promise<void>[] = [];
      for (let at = 0; at < data.length; ) {
        const n = PIECES[p++ % PIECES.length] as number;
        pending.push(w.write(data.subarray(at, at + n)), w.write(new Uint8Array(0)));
        at += n;
      }
      await Promise.all(pending);
    }
    assert.equal(w.bytesWritten, w.dataBytes);
    await w.finish();
    const copy = await SafetensorsReader.open(out);
    try {
      assert.deepEqual(copy.names(), src.names());
      assert.deepEqual(copy.metadata, src.metadata);
      for (const t of src.header.tensors) {
        assert.deepEqual(copy.entry(t.name).shape, t.shape);
        assert.deepEqual(await copy.read(t.name), await src.read(t.name), t.name);
      }
      // the data sections are identical byte for byte (same order, same offsets)
      const a = readFileSync(DEMO).subarray(src.header.dataStart);
      const b = readFileSync(out).subarray(copy.header.dataStart);
      assert.ok(Buffer.compare(a, b) === 0);
      assert.equal(copy.header.dataStart % 8, 0);
    } finally {
      await copy.close();
    }
  } finally {
    await src.close();
  }
  assert.deepEqual(leftovers('demo-copy'), ['demo-copy.safetensors']);
});

test('writeSafetensors: every dtype, random shapes and data, large and tiny tensors round-trip', async () => {
  const rng = makeRng(1234);
  const dtypes = Object.keys(DTYPE_BYTES) as Dtype[];
  const tensors = dtypes.map((dtype, k) => {
    const shape = Array.from({ length: randInt(rng, 4) }, () => randInt(rng, 9));
    const n = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
    return { name: `t${k}.${dtype}`, dtype, shape, data: Uint8Array.from({ length: n }, () => randInt(rng, 256)) };
  });
  // one tensor bigger than the write buffer, so the direct-write path runs too
  const big = new Uint8Array(WRITE_BUFFER_BYTES + 12345);
  for (let i = 0; i < big.length; i++) big[i] = Math.imul(i, 2654435761) >>> 24;
  tensors.splice(3, 0, { name: 'big', dtype: 'U8', shape: [big.length], data: big });
  const path = join(tmp, 'all.safetensors');
  await writeSafetensors(path, tensors, { a: '1', b: 'two' });
  const r = await SafetensorsReader.open(path);
  try {
    assert.deepEqual(r.names(), tensors.map((t) => t.name));
    assert.deepEqual(r.metadata, { a: '1', b: 'two' });
    for (const t of tensors) {
      assert.equal(r.entry(t.name).dtype, t.dtype);
      assert.deepEqual(r.entry(t.name).shape, t.shape);
      assert.deepEqual(await r.read(t.name), t.data, t.name);
    }
  } finally {
    await r.close();
  }
  const text = readFileSync(path).subarray(8, r.header.dataStart).toString('utf8');
  assert.match(text, /^\{"__metadata__":\{"a":"1","b":"two"\},"t0\.BOOL":/);
  await writeSafetensors(join(tmp, 'nometa.safetensors'), tensors.slice(0, 2));
  assert.doesNotMatch(readFileSync(join(tmp, 'nometa.safetensors')).toString('latin1', 0, 64), /__metadata__/);
});

test('byte count is enforced: too many bytes refused, too few removes the temp file', async () => {
  const path = join(tmp, 'count.safetensors');
  const w = await SafetensorsWriter.create(path, [{ name: 'w', dtype: 'F32', shape: [2] }]);
  await assert.rejects(w.write(new Uint8Array(9)), (e: unknown) => e instanceof Df11Error && e.code === 'shape-size-mismatch' && e.file === path);
  await w.write(new Uint8Array(5));
  await assert.rejects(w.finish(), { code: 'shape-size-mismatch' });
  assert.deepEqual(leftovers('count'), []);
  await assert.rejects(w.write(new Uint8Array(3)), { code: 'io' });
  await w.abort();

  await assert.rejects(
    writeSafetensors(path, [{ name: 'w', dtype: 'BF16', shape: [3], data: new Uint8Array(5) }]),
    (e: unknown) => e instanceof Df11Error && e.code === 'shape-size-mismatch' && e.tensor === 'w',
  );
  assert.deepEqual(leftovers('count'), []);
});

test('atomic: an unfinished or aborted write never touches the final name', async () => {
  const path = join(tmp, 'atomic.safetensors');
  writeFileSync(path, 'old contents');
  const w = await SafetensorsWriter.create(path, [{ name: 'w', dtype: 'U8', shape: [4] }]);
  assert.ok(w.tempPath.startsWith(`${path}.tmp-`));
  await w.write(Uint8Array.from([1, 2, 3, 4]));
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  assert.equal(leftovers('atomic').length, 2); // final + temp
  await w.abort();
  await w.abort();
  assert.equal(readFileSync(path, 'utf8'), 'old contents');
  assert.deepEqual(leftovers('atomic'), ['atomic.safetensors']);
  await assert.rejects(w.finish(), { code: 'io' });

  // a completed write replaces the old file in one step
  const w2 = await SafetensorsWriter.create(path, [{ name: 'w', dtype: 'U8', shape: [4] }]);
  await w2.write(Uint8Array.from([9, 8, 7, 6]));
  await w2.finish();
  await w2.abort(); // no-op after finish
  const r = await SafetensorsReader.open(path);
  assert.deepEqual(await r.read('w'), Uint8Array.from([9, 8, 7, 6]));
  await r.close();
  assert.deepEqual(leftovers('atomic'), ['atomic.safetensors']);
  await assert.rejects(w2.write(new Uint8Array(1)), { code: 'io' });
});

test('create validates the declaration and the destination', async () => {
  await assert.rejects(SafetensorsWriter.create(join(tmp, 'no-such-dir', 'x.safetensors'), []), { code: 'io' });
  await assert.rejects(
    SafetensorsWriter.create(join(tmp, 'dup.safetensors'), [
      { name: 'a', dtype: 'U8', shape: [1] },
      { name: 'a', dtype: 'U8', shape: [1] },
    ]),
    (e: unknown) => e instanceof Df11Error && e.code === 'duplicate-tensor' && e.file === join(tmp, 'dup.safetensors'),
  );
  await assert.rejects(SafetensorsWriter.create(join(tmp, 'meta.safetensors'), [], { k: 3 as unknown as string }), { code: 'header-invalid' });
  assert.deepEqual(leftovers('dup'), []);
  // an empty model is a valid file
  await writeSafetensors(join(tmp, 'empty.safetensors'), []);
  const r = await SafetensorsReader.open(join(tmp, 'empty.safetensors'));
  assert.deepEqual(r.names(), []);
  await r.close();
});
