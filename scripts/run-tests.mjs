// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner. Node 20's --test
// takes no glob patterns, and given a folder it would also run the helper modules beside the tests.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = process.argv[2] ?? 'dist/test';
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js')) files.push(relative(process.cwd(), p));
  }
};
walk(root);
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${root}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
