#!/usr/bin/env node
// Checks that two safetensors models (files or folders) hold byte-identical tensors: same names,
// dtypes, shapes and data bytes. Exit status 0 when identical, 1 otherwise. Needs a build.
//   node scripts/compare-tensors.mjs <expected> <actual> [--dist <build folder, default dist>]
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 && args[distAt + 1] ? resolve(args[distAt + 1]) : join(root, 'dist');
const paths = distAt >= 0 ? args.filter((_, i) => i !== distAt && i !== distAt + 1) : args;
if (paths.length !== 2) {
  process.stderr.write('usage: node scripts/compare-tensors.mjs <expected> <actual> [--dist <folder>]\n');
  process.exit(2);
}
const { SafetensorsModel } = await import(pathToFileURL(join(dist, 'src', 'format', 'safetensors-model.js')).href);

/** A folder's `model.safetensors` when it has no index (folders may hold other variants beside it), else the path. */
function weightsOf(path) {
  const single = join(path, 'model.safetensors');
  const indexed = existsSync(join(path, 'model.safetensors.index.json'));
  return statSync(path).isDirectory() && !indexed && existsSync(single) ? single : path;
}

let expected, actual;
try {
  [expected, actual] = await Promise.all(paths.map((p) => SafetensorsModel.open(weightsOf(p))));
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
const problems = [];
let bytes = 0;
try {
  const want = expected.names();
  const have = new Set(actual.names());
  for (const name of have) if (!expected.has(name)) problems.push(`extra tensor ${name}`);
  for (const name of want) {
    if (!have.has(name)) {
      problems.push(`missing tensor ${name}`);
      continue;
    }
    const a = expected.entry(name);
    const b = actual.entry(name);
    if (a.dtype !== b.dtype || a.shape.join(',') !== b.shape.join(',')) {
      problems.push(`${name}: ${a.dtype}[${a.shape}] vs ${b.dtype}[${b.shape}]`);
      continue;
    }
    const [x, y] = await Promise.all([expected.read(name), actual.read(name)]);
    if (!Buffer.from(x).equals(Buffer.from(y))) problems.push(`${name}: data differs`);
    bytes += x.byteLength;
  }
} finally {
  await Promise.all([expected.close(), actual.close()]);
}
if (problems.length > 0) {
  process.stderr.write(`NOT identical (${problems.length} problems):\n  ${problems.slice(0, 20).join('\n  ')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`byte-identical: ${expected.names().length} tensors, ${bytes} bytes of weights\n`);
}
