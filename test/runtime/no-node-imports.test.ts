// src/runtime (outside src/runtime/node/) must run in a browser: no module it loads, directly or
// through other df11 modules, may import a Node built-in. Type-only imports are erased and allowed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { it } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const IMPORT = /^(?:import|export)\s+(type\s+)?[^;]*?from\s+['"]([^'"]+)['"]/gm;

it('src/runtime reaches no node: module outside src/runtime/node', () => {
  const runtime = join(repoRoot(), 'src', 'runtime');
  const seen = new Set<string>();
  const offenders: string[] = [];
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (m[1] !== undefined) continue;
      const spec = m[2]!;
      if (spec.startsWith('node:') || spec === 'fs' || spec === 'path') offenders.push(`${file} imports ${spec}`);
      else if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  const entries = readdirSync(runtime, { recursive: true }) as string[];
  for (const f of entries) if (f.endsWith('.ts') && !f.startsWith('node')) walk(join(runtime, f));
  assert.ok(seen.size > 20, `walked ${seen.size} modules`);
  assert.deepEqual(offenders, []);
});
