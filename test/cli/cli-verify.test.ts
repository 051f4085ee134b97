// df11 verify (and decompress) must catch damaged files: a flipped byte in a shard, a wrong stored
// checksum, and, without checksums, a difference from the original when --against is given.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { writeSafetensors } from '../../src/format/safetensors-writer.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { runDf11, tempDir } from './cli-harness.js';

const demo = sharedDemoModelDir();

/** XORs one byte of tensor `name` in `file` (at `offset` bytes into the tensor) with `mask`. */
async function flipByte(file: string, name: string, offset: number, mask = 0x01): Promise<void> {
  const r = await SafetensorsReader.open(file);
  const at = r.entry(name).start + offset;
  await r.close();
  const fh = await open(file, 'r+');
  try {
    const b = new Uint8Array(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ mask;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** Rewrites `file` with the same tensors and `metadata`. */
async function rewriteMetadata(file: string, edit: (m: Record<string, string>) => void): Promise<void> {
  const r = await SafetensorsReader.open(file);
  const tensors = [];
  for (const t of r.header.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await r.read(t.name) });
  const metadata = { ...(r.header.metadata ?? {}) };
  await r.close();
  edit(metadata);
  await writeSafetensors(file, tensors, metadata);
}

describe('df11 verify detects damage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let good: string;
  let plain: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    good = join(dir, 'good');
    plain = join(dir, 'plain');
    const [a, b] = await Promise.all([runDf11(['compress', demo, good, '-q']), runDf11(['compress', demo, plain, '--no-checksum', '-q'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
  });
  after(() => cleanup());

  test('a flipped sign/mantissa byte fails the checksum, naming file and unit; decompress refuses too', async () => {
    const bad = join(dir, 'flip-sm');
    await cp(good, bad, { recursive: true });
    await flipByte(join(bad, 'model_layers_2.safetensors'), 'model.layers.2.sign_mantissa', 1000);
    const [v, d] = await Promise.all([runDf11(['verify', bad]), runDf11(['decompress', bad, join(dir, 'flip-sm-out')])]);
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stderr, /FAIL .*model_layers_2\.safetensors: unit model\.layers\.2: checksum mismatch/);
    assert.doesNotMatch(v.stderr, /unit model\.layers\.[0134]/);
    assert.match(v.stderr, /verify-failed: 1 problem\(s\) in 1 unit\(s\)/);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /checksum-mismatch: .*model\.layers\.2/);
    assert.ok(!existsSync(join(dir, 'flip-sm-out')));
  });

  test('a flipped bitstream byte fails decoding or the checksum', async () => {
    const bad = join(dir, 'flip-enc');
    await cp(good, bad, { recursive: true });
    await flipByte(join(bad, 'model_layers_1.safetensors'), 'model.layers.1.encoded_exponent', 5000, 0x10);
    const v = await runDf11(['verify', bad]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /FAIL .*model_layers_1\.safetensors: unit model\.layers\.1: /);
  });

  test('a wrong stored checksum is reported', async () => {
    const bad = join(dir, 'wrong-sum');
    await cp(good, bad, { recursive: true });
    await rewriteMetadata(join(bad, 'model_embed_tokens.safetensors'), (m) => {
      m['df11.sha256.model.embed_tokens'] = '0'.repeat(64);
    });
    const v = await runDf11(['verify', bad]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /FAIL .*model_embed_tokens\.safetensors: unit model\.embed_tokens: checksum mismatch: .*records 0{64}/);
  });

  test('without checksums a damaged unit still decodes, and --against finds the difference', async () => {
    const bad = join(dir, 'plain-flip');
    await cp(plain, bad, { recursive: true });
    await flipByte(join(bad, 'model_layers_0.safetensors'), 'model.layers.0.sign_mantissa', 7, 0x80);
    await flipByte(join(bad, 'model.safetensors'), 'model.norm.weight', 3);
    const [alone, against] = await Promise.all([runDf11(['verify', bad]), runDf11(['verify', bad, '--against', demo])]);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /without checksum: structure and decoding only/);
    assert.equal(against.code, 1);
    // weight 7's sign bit is in the high byte of its little-endian BF16 word: byte 2 x 7 + 1
    assert.match(against.stderr, /FAIL .*model_layers_0\.safetensors: unit model\.layers\.0: model\.layers\.0\.self_attn\.q_proj\.weight differs from the original at byte 15\n/);
    assert.match(against.stderr, /FAIL .*model\.safetensors: tensor model\.norm\.weight: differs from the original at byte 3/);
  });

  test('a structurally broken unit (gaps cut short) fails on open, naming file and tensor', async () => {
    const bad = join(dir, 'short-gaps');
    await cp(good, bad, { recursive: true });
    const file = join(bad, 'model_layers_3.safetensors');
    const r = await SafetensorsReader.open(file);
    const tensors = [];
    for (const t of r.header.tensors) {
      const data = await r.read(t.name);
      tensors.push(t.name.endsWith('.gaps') ? { name: t.name, dtype: t.dtype, shape: [t.shape[0]! - 1], data: data.subarray(1) } : { name: t.name, dtype: t.dtype, shape: t.shape, data });
    }
    const metadata = r.header.metadata;
    await r.close();
    await writeSafetensors(file, tensors, metadata);
    const [v, i] = await Promise.all([runDf11(['verify', bad]), runDf11(['inspect', bad])]);
    for (const res of [v, i]) {
      assert.equal(res.code, 1);
      assert.match(res.stderr, /^error: unit-invalid: .*model_layers_3\.safetensors.*tensor model\.layers\.3\.gaps/);
    }
  });

  test('verify --against reports tensors missing from the DF11 model', async () => {
    const bad = join(dir, 'missing');
    await cp(good, bad, { recursive: true });
    await rewriteMetadata(join(bad, 'model.safetensors'), () => undefined);
    // drop model.norm.weight from the remainder file
    const r = await SafetensorsReader.open(join(bad, 'model.safetensors'));
    const names = r.names();
    await r.close();
    assert.deepEqual(names, ['model.norm.weight']);
    await writeSafetensors(join(bad, 'model.safetensors'), []);
    const v = await runDf11(['verify', bad, '--against', demo]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /tensor model\.norm\.weight: tensor of the original model is missing/);
  });
});
