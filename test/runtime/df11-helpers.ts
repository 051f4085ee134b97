// Compressing the demo model for the runtime tests with the compress command's library function.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressModel } from '../../src/cli/compress-model.js';
import { openInputModel } from '../../src/cli/model-input.js';
import { publishedPatternDict, type PublishedDictName } from '../../src/format/pattern-dicts.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

/** Compresses the demo model with a published pattern dict into a fresh temp folder. */
export async function compressDemo(dict: PublishedDictName, layout: 'shards' | 'single' = 'shards'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'df11-rt-'));
  const dir = join(root, 'df11');
  const input = await openInputModel(sharedDemoModelDir());
  try {
    await compressModel({ input, outDir: dir, layout, patternDict: publishedPatternDict(dict), threads: 2, checksum: true, overwrite: false, castBf16: false });
  } finally {
    await input.model.close();
  }
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}
