#!/usr/bin/env node
// Prints the folder of the stories260K demo model, downloading it from the hub (karpathy/tinyllamas)
// and converting it from llama2.c when the copy beside the checkout is absent. Needs a build.
//   node scripts/demo-model.mjs [--dist <build folder, default dist>]
// Honours HF_ENDPOINT, HF_HUB_OFFLINE=1 and HF_TOKEN. Progress goes to stderr, the folder to stdout.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt >= 0 && args[distAt + 1] ? resolve(args[distAt + 1]) : join(root, 'dist');
const { provisionDemoModel } = await import(pathToFileURL(join(dist, 'src', 'cli', 'demo-model.js')).href);

const env = process.env;
let lastPercent = -1;
let lastFile = '';
try {
  const demo = await provisionDemoModel({
    repoRoot: root,
    endpoint: env.HF_ENDPOINT || undefined,
    offline: ['1', 'true', 'yes', 'on'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase()),
    accessToken: env.HF_TOKEN || undefined,
    onProgress: (done, total, file) => {
      const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (!process.stderr.isTTY) {
        // Logs get one line per file.
        if (file !== lastFile) process.stderr.write(`downloading ${file}\n`);
        lastFile = file;
        return;
      }
      if (percent === lastPercent) return;
      lastPercent = percent;
      process.stderr.write(`\rdownloading ${file}: ${percent}% of ${(total / 1e6).toFixed(1)} MB\x1b[K`);
      if (done === total) process.stderr.write('\n');
    },
  });
  process.stderr.write(`demo model (${demo.source}): ${demo.dir}\n`);
  process.stdout.write(`${demo.dir}\n`);
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
