// src/gpu/kernels/wgsl.generated.ts must match the .wgsl files it embeds (run scripts/embed-wgsl.mjs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

it('wgsl.generated.ts is up to date with src/gpu/kernels/*.wgsl', async () => {
  const root = repoRoot();
  const script = (await import(pathToFileURL(join(root, 'scripts', 'embed-wgsl.mjs')).href)) as { renderEmbeddedWgsl(): string };
  const current = readFileSync(join(root, 'src', 'gpu', 'kernels', 'wgsl.generated.ts'), 'utf8');
  assert.ok(current === script.renderEmbeddedWgsl(), 'stale: run `node scripts/embed-wgsl.mjs` and commit src/gpu/kernels/wgsl.generated.ts');
});
