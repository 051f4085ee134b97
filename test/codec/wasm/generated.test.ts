// src/codec/wasm/codec-wasm.generated.ts must be the module that scripts/build-wasm.mjs builds from
// assembly/codec/*.ts today (run `node scripts/build-wasm.mjs` and commit the generated file).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CODEC_WASM_BASE64, CODEC_WASM_SOURCE_SHA256 } from '../../../src/codec/wasm/codec-wasm.generated.js';
import { repoRoot } from '../../helpers/paths.js';

interface BuildScript {
  renderCodecWasmModule(): Promise<string>;
  expectedSourceDigest(): Promise<string>;
}

const STALE = 'stale: run `node scripts/build-wasm.mjs` and commit src/codec/wasm/codec-wasm.generated.ts';

async function buildScript(): Promise<BuildScript> {
  return (await import(pathToFileURL(join(repoRoot(), 'scripts', 'build-wasm.mjs')).href)) as BuildScript;
}

it('the generated module records the digest of the current AssemblyScript sources', async () => {
  assert.equal(CODEC_WASM_SOURCE_SHA256, await (await buildScript()).expectedSourceDigest(), STALE);
});

it('the generated module is byte for byte what the build script compiles now', { timeout: 60_000 }, async () => {
  const current = readFileSync(join(repoRoot(), 'src', 'codec', 'wasm', 'codec-wasm.generated.ts'), 'utf8');
  assert.ok(current === (await (await buildScript()).renderCodecWasmModule()), STALE);
  // And the compiled copy the tests run carries the same bytes.
  const embedded = current.slice(current.indexOf('CODEC_WASM_BASE64 =')).match(/'[^']*'/g)!.map((q) => q.slice(1, -1)).join('');
  assert.equal(embedded, CODEC_WASM_BASE64, 'the compiled generated module differs from the source file (rebuild)');
});

it('the committed module is the one its committed sources build (a build must not change it)', (t) => {
  // `npm test` rebuilds the module first, so a stale commit shows as a modified generated file while
  // the sources are unmodified. Skipped outside a git checkout, and while the sources have edits.
  const root = repoRoot();
  if (!existsSync(join(root, '.git'))) return t.skip('not a git checkout');
  const changed = (path: string): boolean => {
    try {
      return execFileSync('git', ['status', '--porcelain', '--', path], { cwd: root, encoding: 'utf8' }).trim() !== '';
    } catch {
      return false;
    }
  };
  if (changed('assembly') || changed('scripts/build-wasm.mjs')) return t.skip('the kernel sources have uncommitted edits');
  assert.ok(!changed('src/codec/wasm/codec-wasm.generated.ts'), `${STALE} (the committed file is stale)`);
});
