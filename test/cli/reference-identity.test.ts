// Byte identity with the reference compressor (LeanModels/DFloat11 0.5.0) on the demo model: the
// fixture holds the SHA-256, dtype and shape of every tensor the reference wrote when it compressed
// stories260K with the published Llama pattern dict (bench/reference/run_reference.py made it on a GPU
// machine). Our CLI compresses the same model here and every tensor must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import { fixturePath, sharedDemoModelDir } from '../helpers/paths.js';
import { runDf11, tempDir } from './cli-harness.js';

interface FixtureTensor { name: string; dtype: string; shape: number[]; bytes: number; sha256: string }
interface FixtureFile { file: string; tensors?: FixtureTensor[] }
interface FixtureRun { name: string; outcome: string; save_single_file: boolean; pattern_dict: Record<string, string[]>; files?: FixtureFile[] }

const fixture = JSON.parse(readFileSync(fixturePath('reference', 'stories260K-df11.json'), 'utf8')) as { runs: FixtureRun[] };
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function tensorsOf(file: string): Promise<Map<string, FixtureTensor>> {
  const r = await SafetensorsReader.open(file);
  try {
    const out = new Map<string, FixtureTensor>();
    for (const e of r.header.tensors) {
      const data = await r.read(e.name);
      out.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, bytes: data.length, sha256: sha256(data) });
    }
    return out;
  } finally {
    await r.close();
  }
}

for (const run of fixture.runs.filter((r) => r.outcome === 'ok')) {
  test(`compress reproduces the reference's ${run.name} output tensor for tensor`, async () => {
    const { dir, cleanup } = await tempDir('df11-ref-');
    try {
      const dictFile = join(dir, 'pattern-dict.json');
      // The reference was called with this dict in this key order (the order fixes unit enumeration).
      await import('node:fs/promises').then((fs) => fs.writeFile(dictFile, JSON.stringify(run.pattern_dict)));
      const out = join(dir, 'out');
      const layout = run.save_single_file ? 'single' : 'shards';
      const res = await runDf11(['compress', sharedDemoModelDir(), out, '--layout', layout, '--pattern-dict', dictFile, '--no-checksum']);
      assert.equal(res.code, 0, res.stderr);
      let compared = 0;
      for (const f of run.files ?? []) {
        if (!f.tensors) continue; // config.json / generation_config.json are written by transformers
        const ours = await tensorsOf(join(out, f.file));
        assert.deepEqual([...ours.keys()].sort(), f.tensors.map((t) => t.name).sort(), `tensor names of ${f.file}`);
        for (const t of f.tensors) {
          assert.deepEqual(ours.get(t.name), t, `${f.file}: ${t.name}`);
          compared++;
        }
      }
      assert.ok(compared >= 40, `only ${compared} tensors compared`);
    } finally {
      await cleanup();
    }
  });
}
