// End to end on the real demo model (stories260K, BF16): compress -> inspect -> verify -> decompress
// must give back byte-identical tensors, in both layouts; a sharded BF16 input with index.json too.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { writeSafetensors } from '../../src/format/safetensors-writer.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { assertSameModelTensors, runDf11, tempDir, writeSyntheticLlama } from './cli-harness.js';

const demo = sharedDemoModelDir();

describe('df11 CLI round trip on the demo model', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  test('compress, inspect, verify, decompress: byte-identical tensors (shards layout)', async () => {
    const df11 = join(dir, 'df11');
    const c = await runDf11(['compress', demo, df11, '--threads', '2']);
    assert.equal(c.code, 0, c.stderr);
    // the tied lm_head is its own unit (as the reference compressor writes it), aliasing the embedding
    assert.match(c.stdout, /compressed 7 units \(292096 weights\)/);
    assert.match(c.stdout, /tied weight stored as its own unit.*lm_head\.weight -> model\.embed_tokens\.weight/);
    assert.match(c.stdout, /ratio \d+\.\d+ %, \d+\.\d+ bits\/weight/);
    const files = (await readdir(df11)).sort();
    assert.deepEqual(files, [
      'config.json',
      'lm_head.safetensors',
      'model.safetensors',
      'model_embed_tokens.safetensors',
      'model_layers_0.safetensors',
      'model_layers_1.safetensors',
      'model_layers_2.safetensors',
      'model_layers_3.safetensors',
      'model_layers_4.safetensors',
      'tok512.bin',
    ]);
    assert.ok(!(await readdir(dir)).some((n) => n.includes('.tmp-')), 'no temp folder left');

    const config = JSON.parse(await readFile(join(df11, 'config.json'), 'utf8'));
    const original = JSON.parse(await readFile(join(demo, 'config.json'), 'utf8'));
    assert.equal(config.hidden_size, original.hidden_size);
    assert.deepEqual(config.dfloat11_config.threads_per_block, [512]);
    assert.equal(config.dfloat11_config.bytes_per_thread, 8);
    assert.equal(config.dfloat11_config.version, '0.5.0');
    assert.deepEqual(Object.keys(config.dfloat11_config.pattern_dict), ['model\\.layers\\.\\d+', 'lm_head', 'model.embed_tokens']);

    // a shard holds the six DF11 tensors, the layer's norms, a checksum and the piece shapes
    const shard = await SafetensorsReader.open(join(df11, 'model_layers_0.safetensors'));
    try {
      const names = shard.names();
      for (const f of ['luts', 'encoded_exponent', 'sign_mantissa', 'output_positions', 'gaps', 'split_positions']) assert.ok(names.includes(`model.layers.0.${f}`), f);
      assert.ok(names.includes('model.layers.0.input_layernorm.weight'));
      assert.match(shard.header.metadata?.['df11.sha256.model.layers.0'] ?? '', /^[0-9a-f]{64}$/);
      assert.equal(shard.header.metadata?.['df11.shapes.model.layers.0'], '[[64,64],[32,64],[32,64],[64,64],[172,64],[172,64],[64,172]]');
    } finally {
      await shard.close();
    }

    const i = await runDf11(['inspect', df11, '--json']);
    assert.equal(i.code, 0, i.stderr);
    const report = JSON.parse(i.stdout);
    assert.equal(report.version, '0.5.0');
    assert.equal(report.units.length, 7);
    assert.equal(report.totals.weights, 292096);
    assert.equal(report.totals.checksums, 7);
    const layer0 = report.units[0];
    assert.equal(layer0.path, 'model.layers.0');
    assert.equal(layer0.k, Math.ceil(layer0.b / 4096));
    assert.ok(layer0.maxCodeBits >= 1 && layer0.maxCodeBits <= 32);
    assert.ok(report.totals.ratio > 0.6 && report.totals.ratio < 0.75, `ratio ${report.totals.ratio}`);
    const table = await runDf11(['inspect', df11]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /model\.layers\.4 +45312 /);

    const v = await runDf11(['verify', df11, '--against', demo]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /7 checksum\(s\) matched; 48 tensor\(s\) compared/);

    const restored = join(dir, 'restored');
    const d = await runDf11(['decompress', df11, restored]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /1 tied alias\(es\)/);
    assert.equal(await assertSameModelTensors(restored, demo), 47);
    const restoredConfig = JSON.parse(await readFile(join(restored, 'config.json'), 'utf8'));
    assert.equal(restoredConfig.dfloat11_config, undefined);
    assert.equal(restoredConfig.tie_word_embeddings, true);

    // the same through the WebGPU decoder (SwiftShader in CI): verify, and byte-identical tensors
    const vg = await runDf11(['verify', df11, '--against', demo, '--gpu']);
    assert.equal(vg.code, 0, vg.stderr);
    assert.match(vg.stderr, /decoding on .*\(WebGPU, kernel decode-/);
    assert.match(vg.stdout, /7 checksum\(s\) matched; 48 tensor\(s\) compared/);
    const restoredGpu = join(dir, 'restored-gpu');
    const dg = await runDf11(['decompress', df11, restoredGpu, '--gpu']);
    assert.equal(dg.code, 0, dg.stderr);
    assert.equal(await assertSameModelTensors(restoredGpu, demo), 47);
  });

  test('single-file layout without checksums, decompressed into shards with an index', async () => {
    const df11 = join(dir, 'single');
    const c = await runDf11(['compress', join(demo, 'model.safetensors'), df11, '--layout', 'single', '--no-checksum', '--threads', '1']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual((await readdir(df11)).sort(), ['config.json', 'model.safetensors', 'tok512.bin']);
    const v = await runDf11(['verify', df11]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /7 unit\(s\) without checksum: structure and decoding only/);
    const restored = join(dir, 'single-restored');
    const d = await runDf11(['decompress', df11, restored, '--shard-size', '200000']);
    assert.equal(d.code, 0, d.stderr);
    const files = await readdir(restored);
    assert.ok(files.includes('model.safetensors.index.json'));
    assert.ok(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length >= 2, files.join(','));
    await assertSameModelTensors(restored, demo);
  });

  test('files without df11 metadata (as the reference writes them) restore shapes from config.json', async () => {
    const df11 = join(dir, 'bare');
    const c = await runDf11(['compress', demo, df11, '-q']);
    assert.equal(c.code, 0, c.stderr);
    for (const f of await readdir(df11)) {
      if (!f.endsWith('.safetensors')) continue;
      const r = await SafetensorsReader.open(join(df11, f));
      const tensors = [];
      for (const t of r.header.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await r.read(t.name) });
      await r.close();
      await writeSafetensors(join(df11, f), tensors);
    }
    const restored = join(dir, 'bare-restored');
    const d = await runDf11(['decompress', df11, restored]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /shapes of 7 unit\(s\) from config\.json; 1 tied alias/);
    await assertSameModelTensors(restored, demo);
    const v = await runDf11(['verify', df11, '--against', demo]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /0 checksum\(s\) matched; 48 tensor\(s\) compared/);
  });

  test('F32 weights are refused by name, or cast to BF16 with --cast-bf16', async () => {
    const f32 = join(demo, 'model.f32.safetensors');
    const refused = await runDf11(['compress', f32, join(dir, 'f32')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not-bf16: .*--cast-bf16.*tensor model\.layers\.0\.self_attn\.q_proj\.weight/);
    assert.ok(!existsSync(join(dir, 'f32')));
    const cast = await runDf11(['compress', f32, join(dir, 'f32'), '--cast-bf16']);
    assert.equal(cast.code, 0, cast.stderr);
    assert.match(cast.stdout, /lossless with respect to the BF16 cast/);
    // the demo's BF16 file is the round-to-nearest-even cast of the F32 one
    const v = await runDf11(['verify', join(dir, 'f32'), '--against', join(demo, 'model.safetensors')]);
    assert.equal(v.code, 0, v.stderr);
  });

  test('a sharded BF16 model with index.json compresses and decompresses identically', async () => {
    const src = join(dir, 'sharded');
    await writeSyntheticLlama(src, { layers: 3, hidden: 64, intermediate: 96, vocab: 256, shards: 3, seed: 7 });
    const df11 = join(dir, 'sharded-df11');
    const c = await runDf11(['compress', src, df11]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /compressed 5 units/); // 3 layers, the embedding and the tied lm_head
    const v = await runDf11(['verify', df11, '--against', src]);
    assert.equal(v.code, 0, v.stderr);
    const restored = join(dir, 'sharded-restored');
    const d = await runDf11(['decompress', df11, restored]);
    assert.equal(d.code, 0, d.stderr);
    await assertSameModelTensors(restored, src);

    // a pattern dict from a file: only the MLP of each layer, attrs in the given order
    const dictFile = join(dir, 'mlp-dict.json');
    await writeFile(dictFile, JSON.stringify({ 'model\\.layers\\.\\d+\\.mlp': ['down_proj', 'up_proj', 'gate_proj'] }));
    const mlp = join(dir, 'mlp-df11');
    const m = await runDf11(['compress', src, mlp, '--pattern-dict', dictFile, '-q']);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /compressed 3 units/);
    const report = JSON.parse((await runDf11(['inspect', mlp, '--json'])).stdout);
    assert.deepEqual(report.patternDict, { 'model\\.layers\\.\\d+\\.mlp': ['down_proj', 'up_proj', 'gate_proj'] });
    assert.deepEqual(report.units.map((u: { path: string }) => u.path), ['model.layers.0.mlp', 'model.layers.1.mlp', 'model.layers.2.mlp']);
    const mlpRestored = join(dir, 'mlp-restored');
    assert.equal((await runDf11(['decompress', mlp, mlpRestored, '-q'])).code, 0);
    await assertSameModelTensors(mlpRestored, src);
  });
});
