// Paths the tests share: the repository root (found from the compiled file's location, whatever
// output folder it was built into) and the demo model.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The stories260K demo model as shipped beside the checkout (../shared/models/stories260K). */
export function sharedDemoModelDir(): string {
  return resolve(repoRoot(), '..', 'shared', 'models', 'stories260K');
}

export function fixturePath(...parts: string[]): string {
  return join(repoRoot(), 'test', 'fixtures', ...parts);
}
